/**
 * A safe reader for PyTorch `.pth` / `.pt` files (torch.save): the zip format
 * (torch >= 1.6) and the legacy pickle stream, holding either a state_dict or
 * a whole pickled nn.Module. The pickles are interpreted by a small VM that
 * never imports or executes anything; unknown or dangerous globals are
 * refused with a TorchFormatError naming them.
 *
 *   const { stateDict, format, kind } = await readTorchFile('yolo4.pth');
 *   const w = stateDict.get('backbone.conv1.conv.weight'); // { dtype, shape (OIHW), data }
 *   const f32 = toFloat32(w);
 */
import { readFile } from 'node:fs/promises';
import { describeSource, TorchFormatError } from './errors.ts';
import { readLegacyFormat } from './legacy-format.ts';
import type { ParsedTorchFile } from './types.ts';
import { looksLikeZip } from './zip.ts';
import { readZipFormat } from './zip-format.ts';

export { TorchFormatError } from './errors.ts';
export { toFloat32, halfToNumber } from './convert.ts';
export type { TorchDType, TorchTensor, TorchTensorData, StateDict, ParsedTorchFile } from './types.ts';

/** Why the bytes are not a torch file, when we can tell what they are instead. */
function sniffOtherFormat(b: Uint8Array): string | null {
  const starts = (...sig: number[]) => sig.every((x, i) => b[i] === x);
  if (starts(0xff, 0xd8, 0xff)) return 'a JPEG image';
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'a PNG image';
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'a GIF image';
  if (starts(0x89, 0x48, 0x44, 0x46)) return 'an HDF5 file (e.g. a Keras .h5 model)';
  if (starts(0x1f, 0x8b)) return 'a gzip file';
  if (starts(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59)) return 'a NumPy .npy file';
  if (b.length > 262 && String.fromCharCode(...b.subarray(257, 262)) === 'ustar') {
    return 'a tar archive (the tar-based torch.save format of PyTorch before 0.4 is not supported)';
  }
  if (b.length > 9 && b[8] === 0x7b && b[9] === 0x22) {
    const n = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
    if (n > 0n && n <= BigInt(b.length - 8)) return 'a safetensors file';
  }
  const head = b.subarray(0, 512);
  if (head.every((c) => c === 9 || c === 10 || c === 13 || (c >= 0x20 && c !== 0x7f))) {
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
      const first = text.split('\n', 1)[0].slice(0, 40);
      return `a text file (it starts with ${JSON.stringify(first)})`;
    } catch {
      // not UTF-8 text
    }
  }
  return null;
}

/** A pickle stream: protocol >= 2 header, or a protocol 0/1 pickle starting with GLOBAL or MARK. */
function looksLikePickle(b: Uint8Array): boolean {
  if (b[0] === 0x80) return true;
  const head = new TextDecoder('latin1').decode(b.subarray(0, 256));
  return /^c[A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n/.test(head) || /^\([cSVIdlt(]/.test(head);
}

/**
 * Parse the bytes of a torch.save file. `name` is used in messages.
 * Throws TorchFormatError for anything that is not a readable, safe torch file.
 */
export function parseTorchBytes(bytes: Uint8Array, name?: string): ParsedTorchFile {
  const source = describeSource(name);
  if (bytes.length === 0) {
    throw new TorchFormatError(`Cannot read ${source}: the file is empty (0 bytes), not a PyTorch checkpoint.`);
  }
  try {
    if (looksLikeZip(bytes)) return readZipFormat(bytes, source);
    if (looksLikePickle(bytes)) return readLegacyFormat(bytes, source);
    const other = sniffOtherFormat(bytes);
    const hex = [...bytes.subarray(0, 4)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    throw new TorchFormatError(
      `Cannot read ${source}: it is not a PyTorch checkpoint` +
        (other ? `; it looks like ${other}.` : ` (unrecognised header bytes ${hex}; expected a zip archive or a pickle).`),
    );
  } catch (err) {
    if (err instanceof TorchFormatError) throw err;
    // A bug or an unforeseen corruption: still report it as a format error, with the cause attached.
    throw new TorchFormatError(
      `Cannot read ${source}: unexpected ${(err as Error)?.name ?? 'error'} while parsing ` +
        `(${(err as Error)?.message ?? String(err)}); the file is probably corrupt.`,
      { cause: err },
    );
  }
}

/** Read and parse a torch.save file from disk. */
export async function readTorchFile(path: string): Promise<ParsedTorchFile> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new TorchFormatError(`PyTorch file not found: "${path}" (ENOENT).`, { cause: err });
    throw new TorchFormatError(`Cannot read "${path}": ${e.message}`, { cause: err });
  }
  return parseTorchBytes(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
}
