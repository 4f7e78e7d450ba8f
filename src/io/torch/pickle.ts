/**
 * A Python pickle virtual machine (protocols 0 to 5) that never executes code.
 *
 * The VM only handles the data opcodes itself (numbers, strings, tuples, lists,
 * dicts, sets, memo, marks). Everything with a meaning beyond plain data
 * (GLOBAL/STACK_GLOBAL/INST, REDUCE/OBJ, NEWOBJ(_EX), BUILD, persistent ids)
 * is handed to a {@link PickleHooks} policy, which decides what is allowed and
 * what value stands for the result. Nothing is ever imported or called.
 *
 * Malformed input (unknown opcode, truncated stream, stack underflow, bad memo
 * reference, ...) raises a TorchFormatError naming the opcode and byte offset.
 */
import { TorchFormatError } from './errors.ts';

// ---------------------------------------------------------------- values

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

// ---------------------------------------------------------------- hooks

/** The policy that gives meaning to the opcodes that would run code in Python. */
export interface PickleHooks {
  /** GLOBAL, STACK_GLOBAL, INST: return the value standing for `module.name`, or throw to refuse it. */
  findGlobal(module: string, name: string): PyValue;
  /** REDUCE, INST, OBJ: "call" `callable(*args)`. Must never execute anything. */
  call(callable: PyValue, args: PyValue[]): PyValue;
  /** NEWOBJ, NEWOBJ_EX: `cls.__new__(cls, *args, **kwargs)`. */
  newObject(cls: PyValue, args: PyValue[], kwargs: PyDict | null): PyValue;
  /** BUILD: `obj.__setstate__(state)` or `obj.__dict__.update(state)`. */
  build(obj: PyValue, state: PyValue): void;
  /** BINPERSID, PERSID. */
  persistentLoad(pid: PyValue): PyValue;
}

// ---------------------------------------------------------------- opcodes

/** Opcode names by byte, for error messages and dispatch. */
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1',
  0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4',
  0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

function decodeUtf8(bytes: Uint8Array, fail: () => never): string {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return fail();
  }
}

/** Python 2 `str` / BINSTRING payloads: UTF-8 when valid, otherwise Latin-1 (never fails). */
function decodeLegacyString(bytes: Uint8Array): string {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return latin1.decode(bytes);
  }
}

// ---------------------------------------------------------------- limits

/**
 * Widest LONG1/LONG4 integer accepted. torch files hold sizes, offsets and a 10-byte magic number;
 * refusing wider ones keeps hostile multi-megabyte integers from costing seconds of BigInt work.
 */
export const MAX_LONG_BYTES = 64;
/** Digits of a protocol 0 INT/LONG literal (64 bytes are at most 155 decimal digits). */
const MAX_INT_DIGITS = 160;

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// ---------------------------------------------------------------- the VM

export interface UnpickleResult {
  value: PyValue;
  /** Offset just past the STOP opcode. */
  end: number;
}

/**
 * Run one pickle starting at `start` in `bytes` and return the object it
 * builds plus the offset after its STOP opcode. `where` names the stream in
 * error messages (e.g. `"model.pth" (data.pkl)`).
 */
export function unpickle(bytes: Uint8Array, start: number, hooks: PickleHooks, where: string): UnpickleResult {
  return new Unpickler(bytes, start, hooks, where).run();
}

class Unpickler {
  private pos: number;
  private readonly view: DataView;
  private stack: PyValue[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PyValue>();
  /** Offset and name of the opcode being executed, for messages. */
  private opStart = 0;
  private opName = '';

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly hooks: PickleHooks,
    private readonly where: string,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(message: string): never {
    throw new TorchFormatError(`${this.where}: ${message} (opcode ${this.opName} at byte ${this.opStart}).`);
  }

  private need(n: number): void {
    if (n > this.bytes.length - this.pos) {
      const have = this.bytes.length - this.pos;
      throw new TorchFormatError(
        `${this.where}: pickle data is truncated: opcode ${this.opName} at byte ${this.opStart} needs ` +
          `${n} more bytes but only ${have} remain (the file is incomplete or corrupt).`,
      );
    }
  }

  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }
  private u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${v} is too large`);
    return Number(v);
  }
  private take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** A copy (so values never alias the file buffer). */
  private takeCopy(n: number): Uint8Array {
    return this.take(n).slice();
  }
  /** A text line without its trailing newline (protocol 0 arguments). */
  private line(): string {
    const nl = this.bytes.indexOf(0x0a, this.pos);
    if (nl < 0) {
      throw new TorchFormatError(
        `${this.where}: pickle data is truncated: opcode ${this.opName} at byte ${this.opStart} ` +
          `expects a newline-terminated argument (the file is incomplete or corrupt).`,
      );
    }
    const raw = this.bytes.subarray(this.pos, nl);
    this.pos = nl + 1;
    let s = latin1.decode(raw);
    if (s.endsWith('\r')) s = s.slice(0, -1);
    return s;
  }
  private utf8Line(): string {
    const nl = this.bytes.indexOf(0x0a, this.pos);
    if (nl < 0) this.line(); // throws the truncation error
    const raw = this.bytes.subarray(this.pos, nl);
    this.pos = nl + 1;
    return decodeUtf8(raw, () => this.fail('argument is not valid UTF-8'));
  }

  private push(v: PyValue): void {
    this.stack.push(v);
  }
  private pop(): PyValue {
    const floor = this.marks.length ? this.marks[this.marks.length - 1] : 0;
    if (this.stack.length <= floor) this.fail('stack underflow');
    return this.stack.pop() as PyValue;
  }
  private top(): PyValue {
    const floor = this.marks.length ? this.marks[this.marks.length - 1] : 0;
    if (this.stack.length <= floor) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }
  private popMark(): PyValue[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail('no MARK on the stack');
    const items = this.stack.splice(mark);
    return items;
  }
  private memoGet(index: number): PyValue {
    const v = this.memo.get(index);
    if (v === undefined) this.fail(`memo entry ${index} was never stored`);
    return v;
  }
  private memoPut(index: number): void {
    this.memo.set(index, this.top());
  }
  private decimal(s: string): number {
    if (!/^\d+$/.test(s)) this.fail(`expected a decimal number, got "${s.slice(0, 40)}"`);
    return Number(s);
  }
  private parseIntText(s: string): number | bigint {
    const t = s.trim();
    if (t.length > MAX_INT_DIGITS + 1) {
      this.fail(`integer literal of ${t.length} characters is wider than the ${MAX_INT_DIGITS}-digit limit (a tensor file never needs one)`);
    }
    if (!/^[+-]?\d+$/.test(t)) this.fail(`expected an integer, got "${t.slice(0, 40)}"`);
    return makeInt(BigInt(t));
  }
  /** Little-endian two's-complement integer of `n` bytes (LONG1 / LONG4), read in linear time. */
  private longBytes(n: number): number | bigint {
    if (n > MAX_LONG_BYTES) {
      this.fail(`integer of ${n} bytes is wider than the ${MAX_LONG_BYTES}-byte limit (a tensor file never needs one)`);
    }
    const b = this.take(n);
    if (n === 0) return 0;
    let hex = '';
    for (let i = n - 1; i >= 0; i--) hex += HEX_BYTE[b[i]];
    let v = BigInt(`0x${hex}`);
    if (b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return makeInt(v);
  }

  private asTuple(v: PyValue, what: string): PyValue[] {
    if (!(v instanceof PyTuple)) this.fail(`${what} must be a tuple, got ${pyTypeName(v)}`);
    return v.items;
  }

  private setItems(dict: PyValue, items: PyValue[]): void {
    if (!(dict instanceof PyDict)) this.fail(`cannot set items on a ${pyTypeName(dict)}`);
    if (items.length % 2 !== 0) this.fail('odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) dict.entries.set(items[i], items[i + 1]);
  }

  private appendItems(list: PyValue, items: PyValue[]): void {
    if (!(list instanceof PyList)) this.fail(`cannot append to a ${pyTypeName(list)}`);
    for (const it of items) list.items.push(it);
  }

  /** Python string literal as written by protocol 0 STRING: `'...'` or `"..."` with escapes. */
  private parseStringLiteral(s: string): string {
    const q = s[0];
    if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) {
      this.fail('STRING argument is not a quoted string literal');
    }
    const body = s.slice(1, -1);
    const out: number[] = [];
    for (let i = 0; i < body.length; i++) {
      const c = body.charCodeAt(i);
      if (c !== 0x5c) {
        out.push(c & 0xff);
        continue;
      }
      const e = body[++i];
      switch (e) {
        case 'n': out.push(10); break;
        case 'r': out.push(13); break;
        case 't': out.push(9); break;
        case 'a': out.push(7); break;
        case 'b': out.push(8); break;
        case 'f': out.push(12); break;
        case 'v': out.push(11); break;
        case '\\': out.push(0x5c); break;
        case "'": out.push(0x27); break;
        case '"': out.push(0x22); break;
        case '\n': break;
        case 'x': {
          const h = body.slice(i + 1, i + 3);
          if (!/^[0-9a-fA-F]{2}$/.test(h)) this.fail('bad \\x escape in STRING');
          out.push(parseInt(h, 16));
          i += 2;
          break;
        }
        default: {
          const m = /^[0-7]{1,3}/.exec(body.slice(i));
          if (m) {
            out.push(parseInt(m[0], 8) & 0xff);
            i += m[0].length - 1;
          } else {
            out.push(0x5c);
            if (e !== undefined) out.push(e.charCodeAt(0) & 0xff);
          }
        }
      }
    }
    return decodeLegacyString(Uint8Array.from(out));
  }

  /** protocol 0 UNICODE argument: raw-unicode-escape (\\uXXXX, \\UXXXXXXXX, Latin-1 otherwise). */
  private parseRawUnicodeEscape(s: string): string {
    return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4?: string, u8?: string) => {
      const cp = parseInt((u4 ?? u8) as string, 16);
      if (cp > 0x10ffff) this.fail('bad \\U escape in UNICODE');
      return String.fromCodePoint(cp);
    });
  }

  run(): UnpickleResult {
    const hooks = this.hooks;
    for (;;) {
      this.opStart = this.pos;
      if (this.pos >= this.bytes.length) {
        this.opName = 'STOP';
        throw new TorchFormatError(
          `${this.where}: pickle data is truncated: the stream ends at byte ${this.pos} before its STOP opcode ` +
            `(the file is incomplete or corrupt).`,
        );
      }
      const op = this.bytes[this.pos++];
      const name = OPCODE_NAMES[op];
      if (name === undefined) {
        const ch = op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : '';
        throw new TorchFormatError(
          `${this.where}: unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}${ch} at byte ${this.opStart} ` +
            `(the data is corrupt or not a pickle).`,
        );
      }
      this.opName = name;
      switch (op) {
        // --- framing and protocol
        case 0x80: { // PROTO
          const proto = this.u8();
          if (proto > 5) this.fail(`unsupported pickle protocol ${proto}`);
          break;
        }
        case 0x95: // FRAME
          this.u64();
          break;
        case 0x2e: { // STOP
          const value = this.pop();
          return { value, end: this.pos };
        }

        // --- stack manipulation
        case 0x28: // MARK
          this.marks.push(this.stack.length);
          break;
        case 0x30: { // POP
          const floor = this.marks.length ? this.marks[this.marks.length - 1] : 0;
          if (this.stack.length > floor) this.stack.pop();
          else if (this.marks.length) this.marks.pop();
          else this.fail('stack underflow');
          break;
        }
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.push(this.top());
          break;

        // --- memo
        case 0x71: // BINPUT
          this.memoPut(this.u8());
          break;
        case 0x72: // LONG_BINPUT
          this.memoPut(this.u32());
          break;
        case 0x70: // PUT
          this.memoPut(this.decimal(this.line()));
          break;
        case 0x94: // MEMOIZE
          this.memoPut(this.memo.size);
          break;
        case 0x68: // BINGET
          this.push(this.memoGet(this.u8()));
          break;
        case 0x6a: // LONG_BINGET
          this.push(this.memoGet(this.u32()));
          break;
        case 0x67: // GET
          this.push(this.memoGet(this.decimal(this.line())));
          break;

        // --- constants and numbers
        case 0x4e: // NONE
          this.push(null);
          break;
        case 0x88: // NEWTRUE
          this.push(true);
          break;
        case 0x89: // NEWFALSE
          this.push(false);
          break;
        case 0x4a: // BININT
          this.push(this.i32());
          break;
        case 0x4b: // BININT1
          this.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.push(this.u16());
          break;
        case 0x8a: // LONG1
          this.push(this.longBytes(this.u8()));
          break;
        case 0x8b: { // LONG4
          const n = this.i32();
          if (n < 0) this.fail('negative length');
          this.push(this.longBytes(n));
          break;
        }
        case 0x49: { // INT
          const s = this.line();
          if (s === '00') this.push(false);
          else if (s === '01') this.push(true);
          else this.push(this.parseIntText(s));
          break;
        }
        case 0x4c: { // LONG
          const s = this.line();
          this.push(this.parseIntText(s.endsWith('L') ? s.slice(0, -1) : s));
          break;
        }
        case 0x46: { // FLOAT
          const s = this.line().trim().toLowerCase();
          let v: number;
          if (/^[+-]?nan$/.test(s)) v = NaN;
          else if (/^[+-]?inf(inity)?$/.test(s)) v = s.startsWith('-') ? -Infinity : Infinity;
          else {
            v = Number(s);
            if (s === '' || Number.isNaN(v)) this.fail(`bad float literal "${s.slice(0, 40)}"`);
          }
          this.push(v);
          break;
        }
        case 0x47: { // BINFLOAT (big-endian double)
          this.need(8);
          this.push(this.view.getFloat64(this.pos, false));
          this.pos += 8;
          break;
        }

        // --- strings and bytes
        case 0x58: { // BINUNICODE
          const n = this.u32();
          this.push(decodeUtf8(this.take(n), () => this.fail('string is not valid UTF-8')));
          break;
        }
        case 0x8c: { // SHORT_BINUNICODE
          const n = this.u8();
          this.push(decodeUtf8(this.take(n), () => this.fail('string is not valid UTF-8')));
          break;
        }
        case 0x8d: { // BINUNICODE8
          const n = this.u64();
          this.push(decodeUtf8(this.take(n), () => this.fail('string is not valid UTF-8')));
          break;
        }
        case 0x56: // UNICODE
          this.push(this.parseRawUnicodeEscape(this.line()));
          break;
        case 0x53: // STRING
          this.push(this.parseStringLiteral(this.line()));
          break;
        case 0x54: { // BINSTRING
          const n = this.i32();
          if (n < 0) this.fail('negative length');
          this.push(decodeLegacyString(this.take(n)));
          break;
        }
        case 0x55: // SHORT_BINSTRING
          this.push(decodeLegacyString(this.take(this.u8())));
          break;
        case 0x42: // BINBYTES
          this.push(this.takeCopy(this.u32()));
          break;
        case 0x43: // SHORT_BINBYTES
          this.push(this.takeCopy(this.u8()));
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          this.push(this.takeCopy(this.u64()));
          break;

        // --- containers
        case 0x29: // EMPTY_TUPLE
          this.push(new PyTuple([]));
          break;
        case 0x85: // TUPLE1
          this.push(new PyTuple([this.pop()]));
          break;
        case 0x86: { // TUPLE2
          const b = this.pop();
          const a = this.pop();
          this.push(new PyTuple([a, b]));
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.push(new PyTuple([a, b, c]));
          break;
        }
        case 0x74: // TUPLE
          this.push(new PyTuple(this.popMark()));
          break;
        case 0x5d: // EMPTY_LIST
          this.push(new PyList());
          break;
        case 0x6c: // LIST
          this.push(new PyList(this.popMark()));
          break;
        case 0x61: { // APPEND
          const v = this.pop();
          this.appendItems(this.top(), [v]);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          this.appendItems(this.top(), items);
          break;
        }
        case 0x7d: // EMPTY_DICT
          this.push(new PyDict());
          break;
        case 0x64: { // DICT
          const d = new PyDict();
          this.setItems(d, this.popMark());
          this.push(d);
          break;
        }
        case 0x73: { // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x8f: // EMPTY_SET
          this.push(new PySet([], false));
          break;
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const s = this.top();
          if (!(s instanceof PySet) || s.frozen) this.fail(`cannot add items to a ${pyTypeName(s)}`);
          for (const it of items) s.items.push(it);
          break;
        }
        case 0x91: // FROZENSET
          this.push(new PySet(this.popMark(), true));
          break;

        // --- everything below is delegated to the policy
        case 0x63: { // GLOBAL
          const module = this.utf8Line();
          const gname = this.utf8Line();
          this.push(hooks.findGlobal(module, gname));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const gname = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof gname !== 'string') {
            this.fail('STACK_GLOBAL needs two strings');
          }
          this.push(hooks.findGlobal(module, gname));
          break;
        }
        case 0x69: { // INST
          const module = this.utf8Line();
          const gname = this.utf8Line();
          const cls = hooks.findGlobal(module, gname);
          const args = this.popMark();
          this.push(hooks.call(cls, args));
          break;
        }
        case 0x6f: { // OBJ
          const items = this.popMark();
          if (items.length === 0) this.fail('OBJ without a class');
          this.push(hooks.call(items[0], items.slice(1)));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.asTuple(this.pop(), 'REDUCE arguments');
          const fn = this.pop();
          this.push(hooks.call(fn, args));
          break;
        }
        case 0x81: { // NEWOBJ
          const args = this.asTuple(this.pop(), 'NEWOBJ arguments');
          const cls = this.pop();
          this.push(hooks.newObject(cls, args, null));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.asTuple(this.pop(), 'NEWOBJ_EX arguments');
          const cls = this.pop();
          if (!(kwargs instanceof PyDict)) this.fail('NEWOBJ_EX keyword arguments must be a dict');
          this.push(hooks.newObject(cls, args, kwargs));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          hooks.build(this.top(), state);
          break;
        }
        case 0x51: // BINPERSID
          this.push(hooks.persistentLoad(this.pop()));
          break;
        case 0x50: // PERSID
          this.push(hooks.persistentLoad(this.line()));
          break;

        // --- refused features
        case 0x82: // EXT1
        case 0x83: // EXT2
        case 0x84: // EXT4
          this.fail('copyreg extension codes are not supported');
        case 0x97: // NEXT_BUFFER
        case 0x98: // READONLY_BUFFER
          this.fail('out-of-band pickle buffers (protocol 5) are not supported');
      }
    }
  }
}
