/**
 * A small ZIP reader for torch.save archives: reads the central directory
 * (local headers of torch archives carry zero sizes, bit 3), supports ZIP64,
 * returns stored entries as zero-copy views and inflates deflated ones.
 * Each entry's CRC-32 is checked when it is read.
 *
 * Hostile archives: the caller says how many bytes an entry may hold, and the
 * declared size is checked against that before anything is inflated; the
 * inflater itself stops at the declared size, so a header that lies about it
 * (a zip bomb) cannot make it allocate more.
 */
import { inflateRawSync } from 'node:zlib';
import { TorchFormatError } from './errors.ts';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

export function crc32(data: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

const utf8 = new TextDecoder('utf-8');

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private readonly view: DataView;

  /** `where` names the archive in messages, e.g. `"model.pth"`. */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly where: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.readCentralDirectory();
  }

  private corrupt(why: string): never {
    throw new TorchFormatError(`${this.where}: the zip archive is corrupt or truncated: ${why}.`);
  }

  private u16(at: number): number {
    return this.view.getUint16(at, true);
  }
  private u32(at: number): number {
    return this.view.getUint32(at, true);
  }
  private u64(at: number): number {
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.corrupt('a ZIP64 field is out of range');
    return Number(v);
  }

  private findEocd(): number {
    const len = this.bytes.length;
    const lowest = Math.max(0, len - 22 - 0xffff);
    let fallback = -1;
    for (let p = len - 22; p >= lowest; p--) {
      if (this.u32(p) !== SIG_EOCD) continue;
      if (p + 22 + this.u16(p + 20) === len) return p; // comment length matches: certainly the record
      if (fallback < 0) fallback = p;
    }
    if (fallback < 0) {
      this.corrupt('its end-of-central-directory record is missing (the file was probably cut short)');
    }
    return fallback;
  }

  private readCentralDirectory(): void {
    const len = this.bytes.length;
    if (len < 22) this.corrupt(`the file has only ${len} bytes`);
    const eocd = this.findEocd();
    let count = this.u16(eocd + 10);
    let cdSize = this.u32(eocd + 12);
    let cdOffset = this.u32(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || this.u32(loc) !== SIG_EOCD64_LOCATOR) this.corrupt('the ZIP64 locator is missing');
      const eocd64 = this.u64(loc + 8);
      if (eocd64 + 56 > len || this.u32(eocd64) !== SIG_EOCD64) this.corrupt('the ZIP64 end record is missing');
      count = this.u64(eocd64 + 32);
      cdSize = this.u64(eocd64 + 40);
      cdOffset = this.u64(eocd64 + 48);
    }
    if (cdOffset + cdSize > len) this.corrupt('the central directory lies beyond the end of the file');

    let p = cdOffset;
    for (let i = 0; i < count; i++) {
      if (p + 46 > len || this.u32(p) !== SIG_CENTRAL) this.corrupt(`central directory entry ${i} is damaged`);
      const flags = this.u16(p + 8);
      const method = this.u16(p + 10);
      const crc = this.u32(p + 16);
      let compressedSize = this.u32(p + 20);
      let size = this.u32(p + 24);
      const nameLen = this.u16(p + 28);
      const extraLen = this.u16(p + 30);
      const commentLen = this.u16(p + 32);
      let localHeaderOffset = this.u32(p + 42);
      const end = p + 46 + nameLen + extraLen + commentLen;
      if (end > len) this.corrupt(`central directory entry ${i} is cut short`);
      const name = utf8.decode(this.bytes.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extended information: only the fields that are saturated in the record, in this order.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = this.u16(e);
        const sz = this.u16(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          const take = () => {
            if (q + 8 > e + 4 + sz) this.corrupt(`entry "${name}" has a short ZIP64 field`);
            const v = this.u64(q);
            q += 8;
            return v;
          };
          if (size === 0xffffffff) size = take();
          if (compressedSize === 0xffffffff) compressedSize = take();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
        }
        e += 4 + sz;
      }
      this.entries.set(name, { name, method, flags, crc32: crc, compressedSize, size, localHeaderOffset });
      p = end;
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * The entry's bytes. Stored entries are views into the archive (do not modify them).
   * `maxBytes` bounds the entry's declared size (checked before inflating); `why` says where the
   * bound comes from, for the message.
   */
  read(name: string, maxBytes: number, why: string): Uint8Array {
    const entry = this.entries.get(name);
    if (!entry) throw new TorchFormatError(`${this.where}: the zip archive has no entry "${name}".`);
    if (entry.size > maxBytes) {
      throw new TorchFormatError(
        `${this.where}: zip entry "${name}" declares ${entry.size} bytes, more than the ${maxBytes} ${why}; ` +
          `the file is corrupt or hostile, so it is not decompressed.`,
      );
    }
    const len = this.bytes.length;
    const h = entry.localHeaderOffset;
    if (h + 30 > len || this.u32(h) !== SIG_LOCAL) this.corrupt(`the local header of "${name}" is damaged`);
    if (entry.flags & 1) {
      throw new TorchFormatError(`${this.where}: zip entry "${name}" is encrypted, which is not supported.`);
    }
    const start = h + 30 + this.u16(h + 26) + this.u16(h + 28);
    const stop = start + entry.compressedSize;
    if (stop > len) this.corrupt(`entry "${name}" extends beyond the end of the file`);
    const raw = this.bytes.subarray(start, stop);
    let data: Uint8Array;
    if (entry.method === 0) {
      data = raw;
    } else if (entry.method === 8) {
      data = this.inflateCapped(raw, entry);
    } else {
      throw new TorchFormatError(
        `${this.where}: zip entry "${name}" uses compression method ${entry.method}; only stored and deflated entries are supported.`,
      );
    }
    if (data.length !== entry.size) this.corrupt(`entry "${name}" has ${data.length} bytes, expected ${entry.size}`);
    if (crc32(data) !== entry.crc32) this.corrupt(`entry "${name}" fails its CRC-32 check`);
    return data;
  }

  /** Inflate, stopping as soon as the output would pass the declared size. */
  private inflateCapped(raw: Uint8Array, entry: ZipEntry): Uint8Array {
    try {
      // maxOutputLength must be at least 1; an empty entry that inflates to 1 byte is caught by the size check.
      const out = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        this.corrupt(
          `entry "${entry.name}" inflates to more than the ${entry.size} bytes its header declares ` +
            `(a zip bomb or a damaged header); decompression was stopped there`,
        );
      }
      this.corrupt(`entry "${entry.name}" cannot be decompressed (${(err as Error).message})`);
    }
  }
}

/** True when the bytes start like a ZIP archive (local header or an empty archive's end record). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5) && (bytes[3] === 4 || bytes[3] === 6);
}
