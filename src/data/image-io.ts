/**
 * Image decoding with sharp: probing sizes, and decoding straight to the size the pipeline needs
 * (resize and crop run in libvips' threads, so this overlaps with training on the main thread).
 *
 * Pixels are RGB, 8 bits, row-major, 3 bytes per pixel. EXIF orientation is NOT applied: annotations
 * refer to the stored pixel grid (as with PIL, which the reference implementation uses).
 */
import { access } from 'node:fs/promises';
import sharp from 'sharp';
import { DatasetError } from './errors.ts';

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface Size {
  width: number;
  height: number;
}

async function ensureExists(file: string): Promise<void> {
  try {
    await access(file);
  } catch {
    throw new DatasetError({ file }, 'image file not found');
  }
}

/** The stored size of an image (reads the header only). Errors name the file. */
export async function probeImage(file: string): Promise<Size> {
  await ensureExists(file);
  let meta: sharp.Metadata;
  try {
    meta = await sharp(file).metadata();
  } catch (e) {
    throw new DatasetError({ file }, `cannot read image: ${(e as Error).message}`);
  }
  if (!meta.width || !meta.height) throw new DatasetError({ file }, 'cannot read image: no size in its header');
  return { width: meta.width, height: meta.height };
}

export interface DecodeOptions {
  /** Resize the whole image to this size first (aspect not kept). Default: the stored size. */
  resize?: Size;
  /** Then keep only this window of the (resized) image. */
  crop?: { left: number; top: number; width: number; height: number };
  /** The size the annotation file claims; a different stored size is an error naming the file. */
  expect?: Size;
}

/** Decodes to RGB uint8. Missing, truncated or non-image files give a `DatasetError` naming the file. */
export async function decodeImage(file: string, opts: DecodeOptions = {}): Promise<RgbImage> {
  await ensureExists(file);
  try {
    const img = sharp(file, { failOn: 'error' });
    const meta = await img.metadata();
    if (!meta.width || !meta.height) throw new Error('no size in its header');
    if (opts.expect && (opts.expect.width !== meta.width || opts.expect.height !== meta.height)) {
      throw new DatasetError(
        { file },
        `image is ${meta.width}x${meta.height} but the annotations say ${opts.expect.width}x${opts.expect.height}`,
      );
    }
    let p = img.removeAlpha().toColourspace('srgb');
    if (opts.resize && (opts.resize.width !== meta.width || opts.resize.height !== meta.height)) {
      p = p.resize(opts.resize.width, opts.resize.height, { fit: 'fill', kernel: 'cubic' });
    }
    if (opts.crop) p = p.extract(opts.crop);
    const { data, info } = await p.raw().toBuffer({ resolveWithObject: true });
    return { data: toRgb(data, info.width, info.height, info.channels), width: info.width, height: info.height };
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError({ file }, `cannot decode image: ${(e as Error).message}`);
  }
}

function toRgb(buf: Buffer, w: number, h: number, channels: number): Uint8Array {
  const n = w * h;
  if (channels === 3) return new Uint8Array(buf.buffer, buf.byteOffset, n * 3);
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    if (channels < 3) {
      const g = buf[i * channels];
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = g;
    } else {
      out[i * 3] = buf[i * channels];
      out[i * 3 + 1] = buf[i * channels + 1];
      out[i * 3 + 2] = buf[i * channels + 2];
    }
  }
  return out;
}
