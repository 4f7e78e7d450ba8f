/**
 * A pickle protocol 2 writer that emits the same bytes as CPython's pickler (`pickle.dumps(obj,
 * protocol=2)`, which torch.save uses) for the values of py-value.ts: the same opcodes, the same memo
 * numbering (every str, non-empty tuple, list, dict, global and reduced object is memoised in the
 * order it is first written) and the same batching of dict items and list appends (1000 a batch,
 * with CPython's differences between exact dicts and lists and items from an iterator).
 */
import { TorchExportError } from './errors.ts';
import {
  PyDict, PyFloat, PyFreshStr, PyGlobal, PyInstance, PyList, PyPersistent, PyReduce, PyTuple, type PyValue,
} from './py-value.ts';

const OP = {
  PROTO: 0x80, STOP: 0x2e, MARK: 0x28, EMPTY_TUPLE: 0x29, TUPLE: 0x74, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  EMPTY_LIST: 0x5d, APPEND: 0x61, APPENDS: 0x65, EMPTY_DICT: 0x7d, SETITEM: 0x73, SETITEMS: 0x75,
  NONE: 0x4e, NEWTRUE: 0x88, NEWFALSE: 0x89, BININT1: 0x4b, BININT2: 0x4d, BININT: 0x4a, LONG1: 0x8a,
  BINFLOAT: 0x47, BINUNICODE: 0x58, GLOBAL: 0x63, REDUCE: 0x52, NEWOBJ: 0x81, BUILD: 0x62, BINPERSID: 0x51,
  BINPUT: 0x71, LONG_BINPUT: 0x72, BINGET: 0x68, LONG_BINGET: 0x6a,
} as const;

const BATCH_SIZE = 1000; // CPython's pickle._BATCHSIZE

/** A growable byte buffer with the little/big-endian writes pickle needs. */
class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }

  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }

  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }

  f64BigEndian(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, v, false);
    this.length += 8;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const utf8 = new TextEncoder();

/** Two's-complement little-endian bytes of `n`, as short as Python's encode_long makes them. */
function encodeLong(n: bigint): Uint8Array {
  if (n === 0n) return new Uint8Array(0);
  const out: number[] = [];
  let v = n;
  for (;;) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
    const last = out[out.length - 1];
    if ((v === 0n && (last & 0x80) === 0) || (v === -1n && (last & 0x80) !== 0)) break;
  }
  return Uint8Array.from(out);
}

export class Pickler {
  private readonly out = new ByteSink();
  private readonly memo = new Map<unknown, number>();
  private nextMemo = 0;

  /** The complete pickle of `root`: PROTO 2, the value, STOP. */
  static dumps(root: PyValue): Uint8Array {
    const p = new Pickler();
    p.out.byte(OP.PROTO);
    p.out.byte(2);
    p.save(root);
    p.out.byte(OP.STOP);
    return p.out.result();
  }

  /** Memo key: interned strs by value, globals by qualified name, everything else by identity. */
  private static memoKey(v: PyValue): unknown {
    if (typeof v === 'string') return `str:${v}`;
    if (v instanceof PyGlobal) return `global:${v.module}\n${v.name}`;
    return v;
  }

  private memoize(v: PyValue): void {
    const index = this.nextMemo++;
    this.memo.set(Pickler.memoKey(v), index);
    if (index < 256) {
      this.out.byte(OP.BINPUT);
      this.out.byte(index);
    } else {
      this.out.byte(OP.LONG_BINPUT);
      this.out.u32(index);
    }
  }

  /** Writes a BINGET and returns true when `v` was written before. */
  private fromMemo(v: PyValue): boolean {
    const index = this.memo.get(Pickler.memoKey(v));
    if (index === undefined) return false;
    if (index < 256) {
      this.out.byte(OP.BINGET);
      this.out.byte(index);
    } else {
      this.out.byte(OP.LONG_BINGET);
      this.out.u32(index);
    }
    return true;
  }

  private save(v: PyValue): void {
    if (v instanceof PyPersistent) {
      this.save(v.pid);
      this.out.byte(OP.BINPERSID);
      return;
    }
    if (v === null) return this.out.byte(OP.NONE);
    if (typeof v === 'boolean') return this.out.byte(v ? OP.NEWTRUE : OP.NEWFALSE);
    if (typeof v === 'number') return this.saveInt(v);
    if (v instanceof PyFloat) {
      this.out.byte(OP.BINFLOAT);
      this.out.f64BigEndian(v.value);
      return;
    }
    if (v instanceof PyTuple && v.items.length === 0) return this.out.byte(OP.EMPTY_TUPLE);
    if (this.fromMemo(v)) return;
    if (typeof v === 'string' || v instanceof PyFreshStr) return this.saveStr(v);
    if (v instanceof PyTuple) return this.saveTuple(v);
    if (v instanceof PyList) {
      this.out.byte(OP.EMPTY_LIST);
      this.memoize(v);
      this.batchExact(v.items, OP.APPEND, OP.APPENDS, (item) => this.save(item), false);
      return;
    }
    if (v instanceof PyDict) {
      this.out.byte(OP.EMPTY_DICT);
      this.memoize(v);
      this.batchExact(v.entries, OP.SETITEM, OP.SETITEMS, (entry) => this.saveEntry(entry), true);
      return;
    }
    if (v instanceof PyGlobal) {
      this.out.byte(OP.GLOBAL);
      this.out.bytes(utf8.encode(`${v.module}\n${v.name}\n`));
      this.memoize(v);
      return;
    }
    if (v instanceof PyReduce) return this.saveReduce(v);
    if (v instanceof PyInstance) {
      this.save(v.cls);
      this.out.byte(OP.EMPTY_TUPLE);
      this.out.byte(OP.NEWOBJ);
      this.memoize(v);
      this.save(v.state);
      this.out.byte(OP.BUILD);
      return;
    }
    throw new TorchExportError(`cannot pickle the value ${String(v)}`);
  }

  private saveInt(n: number): void {
    if (!Number.isSafeInteger(n)) throw new TorchExportError(`cannot pickle ${n} as a Python int (not a safe integer)`);
    if (n >= 0 && n <= 0xff) {
      this.out.byte(OP.BININT1);
      this.out.byte(n);
    } else if (n >= 0 && n <= 0xffff) {
      this.out.byte(OP.BININT2);
      this.out.u16(n);
    } else if (n >= -0x80000000 && n <= 0x7fffffff) {
      this.out.byte(OP.BININT);
      this.out.i32(n);
    } else {
      const bytes = encodeLong(BigInt(n));
      this.out.byte(OP.LONG1);
      this.out.byte(bytes.length);
      this.out.bytes(bytes);
    }
  }

  private saveStr(v: string | PyFreshStr): void {
    const bytes = utf8.encode(typeof v === 'string' ? v : v.value);
    this.out.byte(OP.BINUNICODE);
    this.out.u32(bytes.length);
    this.out.bytes(bytes);
    this.memoize(v);
  }

  private saveTuple(t: PyTuple): void {
    const n = t.items.length;
    if (n <= 3) {
      for (const item of t.items) this.save(item);
      this.out.byte([OP.TUPLE1, OP.TUPLE2, OP.TUPLE3][n - 1]);
    } else {
      this.out.byte(OP.MARK);
      for (const item of t.items) this.save(item);
      this.out.byte(OP.TUPLE);
    }
    this.memoize(t);
  }

  private saveReduce(r: PyReduce): void {
    this.save(r.func);
    this.save(r.args);
    this.out.byte(OP.REDUCE);
    this.memoize(r);
    this.batchIterated(r.dictItems, OP.SETITEM, OP.SETITEMS, (entry) => this.saveEntry(entry));
    if (r.state !== undefined) {
      this.save(r.state);
      this.out.byte(OP.BUILD);
    }
  }

  private saveEntry([k, v]: readonly [PyValue, PyValue]): void {
    this.save(k);
    this.save(v);
  }

  /**
   * An exact list or dict (CPython's batch_list_exact / batch_dict_exact): one item alone gets the
   * single opcode; otherwise every batch, even a last one of one item, is MARK ... many-opcode, and
   * a dict whose size is a multiple of 1000 ends with an empty batch.
   */
  private batchExact<T>(items: readonly T[], one: number, many: number, write: (item: T) => void, emptyTail: boolean): void {
    if (items.length === 0) return;
    if (items.length === 1) {
      write(items[0]);
      this.out.byte(one);
      return;
    }
    let start = 0;
    do {
      const chunk = items.slice(start, start + BATCH_SIZE);
      this.out.byte(OP.MARK);
      chunk.forEach(write);
      this.out.byte(many);
      start += chunk.length;
      if (chunk.length < BATCH_SIZE) break;
    } while (emptyTail || start < items.length);
  }

  /** Items from an iterator (a reduced object's dict items, CPython's batch_dict): a lone item gets the single opcode. */
  private batchIterated<T>(items: readonly T[], one: number, many: number, write: (item: T) => void): void {
    for (let start = 0; start < items.length; start += BATCH_SIZE) {
      const chunk = items.slice(start, start + BATCH_SIZE);
      if (chunk.length === 1) {
        write(chunk[0]);
        this.out.byte(one);
      } else {
        this.out.byte(OP.MARK);
        chunk.forEach(write);
        this.out.byte(many);
      }
    }
  }
}
