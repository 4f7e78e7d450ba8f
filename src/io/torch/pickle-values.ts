/**
 * The Python values the pickle VM builds: containers (tuple, list, dict, set), the base class for
 * values a policy puts on the stack, and small helpers to name and recognise them.
 */

/** Base class for values that a policy puts on the stack (globals, objects, tensors, ...). */
export abstract class PyHostObject {
  /** A short Python-like type name used in error messages. */
  abstract get pyType(): string;
}

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

export class PyList {
  constructor(readonly items: PyValue[] = []) {}
}

export class PyDict {
  readonly entries = new Map<PyValue, PyValue>();
  /** State given by BUILD (an OrderedDict's `__dict__`, e.g. `_metadata` of a state_dict). */
  attributes: PyDict | null = null;
  constructor(readonly ordered: boolean = false) {}
  get(key: PyValue): PyValue | undefined {
    return this.entries.get(key);
  }
}

export class PySet {
  constructor(readonly items: PyValue[], readonly frozen: boolean) {}
}

/**
 * A Python value as read by the VM. `int` is a JS number when it is a safe
 * integer and a bigint otherwise; `float` is a number; `str` a string;
 * `bytes`/`bytearray` a Uint8Array; `None` is null.
 */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyTuple
  | PyList
  | PyDict
  | PySet
  | PyHostObject;

/** Python-like type name of a value, for error messages. */
export function pyTypeName(v: PyValue): string {
  if (v === null) return 'None';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'string':
      return 'str';
  }
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyList) return 'list';
  if (v instanceof PyDict) return v.ordered ? 'OrderedDict' : 'dict';
  if (v instanceof PySet) return v.frozen ? 'frozenset' : 'set';
  return v.pyType;
}

/** Turn an exact integer into the VM's int representation. */
export function makeInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** True for a Python int (not bool, not float). */
export function isPyInt(v: PyValue): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
}
