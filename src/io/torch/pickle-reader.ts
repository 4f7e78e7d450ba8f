/**
 * The byte cursor under the pickle VM: fixed-width numbers, length-prefixed payloads, protocol 0
 * text lines and integer literals, each failing with a TorchFormatError that names the stream,
 * the opcode being executed and its byte offset.
 */
import { TorchFormatError } from './errors.ts';
import { decodeLatin1, decodeUtf8 } from './pickle-text.ts';
import { makeInt } from './pickle-values.ts';

/**
 * Widest LONG1/LONG4 integer accepted. torch files hold sizes, offsets and a 10-byte magic number;
 * refusing wider ones keeps hostile multi-megabyte integers from costing seconds of BigInt work.
 */
export const MAX_LONG_BYTES = 64;
/** Digits of a protocol 0 INT/LONG literal (64 bytes are at most 155 decimal digits). */
const MAX_INT_DIGITS = 160;

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class PickleReader {
  pos: number;
  protected readonly view: DataView;
  /** Offset and name of the opcode being executed, for messages. */
  opStart = 0;
  opName = '';

  constructor(
    protected readonly bytes: Uint8Array,
    start: number,
    protected readonly where: string,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(message: string): never {
    throw new TorchFormatError(`${this.where}: ${message} (opcode ${this.opName} at byte ${this.opStart}).`);
  }

  need(n: number): void {
    if (n > this.bytes.length - this.pos) {
      const have = this.bytes.length - this.pos;
      throw new TorchFormatError(
        `${this.where}: pickle data is truncated: opcode ${this.opName} at byte ${this.opStart} needs ` +
          `${n} more bytes but only ${have} remain (the file is incomplete or corrupt).`,
      );
    }
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${v} is too large`);
    return Number(v);
  }
  /** Big-endian double (BINFLOAT). */
  f64be(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, false);
    this.pos += 8;
    return v;
  }
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** A copy (so values never alias the file buffer). */
  takeCopy(n: number): Uint8Array {
    return this.take(n).slice();
  }
  /** A text line without its trailing newline (protocol 0 arguments). */
  line(): string {
    const nl = this.bytes.indexOf(0x0a, this.pos);
    if (nl < 0) {
      throw new TorchFormatError(
        `${this.where}: pickle data is truncated: opcode ${this.opName} at byte ${this.opStart} ` +
          `expects a newline-terminated argument (the file is incomplete or corrupt).`,
      );
    }
    const raw = this.bytes.subarray(this.pos, nl);
    this.pos = nl + 1;
    let s = decodeLatin1(raw);
    if (s.endsWith('\r')) s = s.slice(0, -1);
    return s;
  }
  utf8Line(): string {
    const nl = this.bytes.indexOf(0x0a, this.pos);
    if (nl < 0) this.line(); // throws the truncation error
    const raw = this.bytes.subarray(this.pos, nl);
    this.pos = nl + 1;
    return decodeUtf8(raw, () => this.fail('argument is not valid UTF-8'));
  }

  decimal(s: string): number {
    if (!/^\d+$/.test(s)) this.fail(`expected a decimal number, got "${s.slice(0, 40)}"`);
    return Number(s);
  }
  parseIntText(s: string): number | bigint {
    const t = s.trim();
    if (t.length > MAX_INT_DIGITS + 1) {
      this.fail(`integer literal of ${t.length} characters is wider than the ${MAX_INT_DIGITS}-digit limit (a tensor file never needs one)`);
    }
    if (!/^[+-]?\d+$/.test(t)) this.fail(`expected an integer, got "${t.slice(0, 40)}"`);
    return makeInt(BigInt(t));
  }
  /** Little-endian two's-complement integer of `n` bytes (LONG1 / LONG4), read in linear time. */
  longBytes(n: number): number | bigint {
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
}
