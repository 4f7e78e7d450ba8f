/**
 * The zip container of torch.save (PyTorch's PyTorchStreamWriter over miniz), byte for byte:
 * - every record is stored (not deflated), version 0, flags 0x0808 (sizes in a data descriptor,
 *   UTF-8 names), time and date 0;
 * - the local header's extra field is a "FB" block of 'Z' padding that puts the record's data on a
 *   64-byte boundary, so a reader can map tensors straight from the file;
 * - after the data, a 16-byte data descriptor (PK\7\8, CRC-32, sizes);
 * - the central directory, then a ZIP64 end record and locator, then the classic end record.
 * Records are returned as a list of chunks so that tensor data is never copied.
 */
import * as zlib from 'node:zlib';
import { crc32 as crc32Slow } from '../zip.ts';
import { TorchExportError } from './errors.ts';

export interface ZipRecord {
  name: string;
  data: Uint8Array;
}

const ALIGNMENT = 64;
const LOCAL_HEADER_SIZE = 30;
const CENTRAL_HEADER_SIZE = 46;
const FLAGS = 0x0808;
const U32_LIMIT = 0xffffffff;

const utf8 = new TextEncoder();

// zlib.crc32 exists from Node 20.15 / 22.2; older Node falls back to the reader's table version.
const crc32 = (data: Uint8Array): number =>
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? zlib.crc32(data) >>> 0 : crc32Slow(data);

function header(size: number, fill: (v: DataView) => void): Uint8Array {
  const bytes = new Uint8Array(size);
  fill(new DataView(bytes.buffer));
  return bytes;
}

/** The "FB" extra field that pads a local header so that the data after it starts 64-byte aligned. */
function alignmentPadding(offset: number, nameLength: number): Uint8Array {
  const start = offset + LOCAL_HEADER_SIZE + nameLength + 4;
  const pad = (ALIGNMENT - (start % ALIGNMENT)) % ALIGNMENT;
  const extra = new Uint8Array(4 + pad).fill(0x5a); // 'Z'
  extra[0] = 0x46; // 'F'
  extra[1] = 0x42; // 'B'
  new DataView(extra.buffer).setUint16(2, pad, true);
  return extra;
}

/** The archive as consecutive chunks; their concatenation is the file. */
export function zipChunks(records: readonly ZipRecord[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const push = (c: Uint8Array) => {
    chunks.push(c);
    offset += c.length;
  };
  for (const { name, data } of records) {
    const nameBytes = utf8.encode(name);
    const extra = alignmentPadding(offset, nameBytes.length);
    if (offset + LOCAL_HEADER_SIZE + nameBytes.length + extra.length + data.length + 16 >= U32_LIMIT) {
      throw new TorchExportError(`the .pth archive would exceed 4 GiB at "${name}"; this writer does not emit ZIP64 records`);
    }
    const crc = crc32(data);
    const localOffset = offset;
    push(header(LOCAL_HEADER_SIZE, (v) => {
      v.setUint32(0, 0x04034b50, true);
      v.setUint16(6, FLAGS, true);
      // version needed, method, time, date, crc and sizes stay 0: the sizes follow in the descriptor
      v.setUint16(26, nameBytes.length, true);
      v.setUint16(28, extra.length, true);
    }));
    push(nameBytes);
    push(extra);
    if (data.length > 0) push(data);
    push(header(16, (v) => {
      v.setUint32(0, 0x08074b50, true);
      v.setUint32(4, crc, true);
      v.setUint32(8, data.length, true);
      v.setUint32(12, data.length, true);
    }));
    central.push(header(CENTRAL_HEADER_SIZE, (v) => {
      v.setUint32(0, 0x02014b50, true);
      v.setUint16(8, FLAGS, true);
      v.setUint32(16, crc, true);
      v.setUint32(20, data.length, true);
      v.setUint32(24, data.length, true);
      v.setUint16(28, nameBytes.length, true);
      v.setUint32(42, localOffset, true);
    }), nameBytes);
  }
  const centralOffset = offset;
  for (const c of central) push(c);
  const centralSize = offset - centralOffset;
  const count = records.length;
  const zip64EndOffset = offset;
  push(header(56, (v) => {
    v.setUint32(0, 0x06064b50, true);
    v.setBigUint64(4, 44n, true); // size of the rest of this record
    v.setUint16(12, 0x031e, true); // made by: unix, spec 3.0 (as miniz writes)
    v.setUint16(14, 0x2d, true); // needed: 4.5 (ZIP64)
    v.setBigUint64(24, BigInt(count), true);
    v.setBigUint64(32, BigInt(count), true);
    v.setBigUint64(40, BigInt(centralSize), true);
    v.setBigUint64(48, BigInt(centralOffset), true);
  }));
  push(header(20, (v) => {
    v.setUint32(0, 0x07064b50, true);
    v.setBigUint64(8, BigInt(zip64EndOffset), true);
    v.setUint32(16, 1, true); // total number of disks
  }));
  push(header(22, (v) => {
    v.setUint32(0, 0x06054b50, true);
    v.setUint16(8, Math.min(count, 0xffff), true);
    v.setUint16(10, Math.min(count, 0xffff), true);
    v.setUint32(12, centralSize, true);
    v.setUint32(16, centralOffset, true);
  }));
  return chunks;
}
