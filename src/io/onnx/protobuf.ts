/**
 * The small part of the protobuf wire format an ONNX file needs: varints, 32-bit floats and
 * length-delimited fields (strings, bytes, nested messages). A message is kept as a list of chunks
 * plus its byte length, so nesting a message or appending a weight array never copies it: a 250 MB
 * YOLOv4 streams to disk from the tensors' own buffers.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_BYTES = 2;

const utf8 = new TextEncoder();

export class ProtoMessage {
  readonly chunks: Uint8Array[] = [];
  length = 0;

  private push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private tag(field: number, wire: number): void {
    this.push(varint(BigInt(field * 8 + wire)));
  }

  /** int32 / int64 / enum / bool: negative values take ten bytes (two's complement), as protobuf says. */
  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    const v = BigInt(value);
    this.push(varint(v < 0n ? v + (1n << 64n) : v));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_BYTES);
    this.push(varint(BigInt(value.length)));
    this.push(value);
    return this;
  }

  message(field: number, value: ProtoMessage): this {
    this.tag(field, WIRE_BYTES);
    this.push(varint(BigInt(value.length)));
    for (const c of value.chunks) this.push(c);
    return this;
  }
}

function varint(v: bigint): Uint8Array {
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Uint8Array.from(out);
}

/**
 * The first top-level string field `field` of an encoded message, reading only `bytes` (the start of a
 * file). Undefined when the field is not among the fields that fit, or the bytes are not protobuf.
 */
export function readLeadingString(bytes: Uint8Array, field: number): string | undefined {
  let pos = 0;
  const readVarint = (): bigint | undefined => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= bytes.length) return undefined;
      const b = bytes[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    return undefined;
  };
  while (pos < bytes.length) {
    const key = readVarint();
    if (key === undefined) return undefined;
    const wire = Number(key & 7n);
    const f = Number(key >> 3n);
    if (wire === WIRE_VARINT) {
      if (readVarint() === undefined) return undefined;
    } else if (wire === WIRE_FIXED32) {
      pos += 4;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === WIRE_BYTES) {
      const len = readVarint();
      if (len === undefined) return undefined;
      const end = pos + Number(len);
      if (f === field) return end <= bytes.length ? decodeUtf8(bytes.subarray(pos, end)) : undefined;
      pos = end;
    } else {
      return undefined;
    }
  }
  return undefined;
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
