/**
 * Python values as the pickler sees them. Identity matters: Python's pickler shares an object it
 * has already written (BINGET) only when it is the *same* object, so these types say which values
 * are one object and which are many:
 * - a JS `string` is an interned Python str (identifiers and literals such as 'weight', 'zeros'):
 *   equal strings are one object;
 * - a `PyFreshStr` is a str built at run time (`str(i)`, `prefix + name`): each is its own object;
 * - tuples, lists, dicts and reduced objects are shared only when the same JS object recurs;
 * - a `PyGlobal` (a class or function) is one object per module and name.
 * JS numbers are Python ints (they must be integers); `PyFloat` wraps a float.
 */

export class PyFreshStr {
  constructor(readonly value: string) {}
}

export class PyFloat {
  constructor(readonly value: number) {}
}

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

export class PyList {
  constructor(readonly items: readonly PyValue[]) {}
}

export class PyDict {
  constructor(readonly entries: readonly (readonly [PyValue, PyValue])[]) {}
}

/** A class or function, pickled by reference as `module.name`. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
}

/** `func(*args)`, then `dictItems` set on it one by one, then `state` applied (BUILD). */
export class PyReduce {
  constructor(
    readonly func: PyGlobal,
    readonly args: PyTuple,
    readonly dictItems: readonly (readonly [PyValue, PyValue])[] = [],
    readonly state?: PyValue,
  ) {}
}

/** `cls.__new__(cls)` then `__dict__` = state: how protocol 2 pickles a plain class instance. */
export class PyInstance {
  constructor(readonly cls: PyGlobal, readonly state: PyValue) {}
}

/** An object pickled out of band by its persistent id (torch: a tensor storage). */
export class PyPersistent {
  constructor(readonly pid: PyValue) {}
}

export type PyValue =
  | null
  | boolean
  | number
  | string
  | PyFreshStr
  | PyFloat
  | PyTuple
  | PyList
  | PyDict
  | PyGlobal
  | PyReduce
  | PyInstance
  | PyPersistent;

const ORDERED_DICT = new PyGlobal('collections', 'OrderedDict');

/** `collections.OrderedDict(items)`, pickled as OrderedDict's own __reduce__ does. */
export function orderedDict(items: readonly (readonly [PyValue, PyValue])[] = [], state?: PyValue): PyReduce {
  return new PyReduce(ORDERED_DICT, new PyTuple([]), items, state);
}
