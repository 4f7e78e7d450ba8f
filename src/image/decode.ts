/**
 * Decoding any image input to 8-bit RGB with sharp, and reading its size from the header.
 *
 * One rule for every caller: EXIF orientation is NOT applied. Pixels and boxes refer to the stored
 * pixel grid, as with PIL's `Image.open` in the reference implementation and as COCO's annotations.
 * Alpha is dropped (not blended, like PIL's convert('RGB')); gray is repeated into three channels.
 * Every failure is an `ImageDecodeError` naming the file (or describing the buffer).
 */
import { access } from 'node:fs/promises';
import sharp from 'sharp';
import { toRgb, type ImageInput, type RawImage, type RgbImage, type Size } from './rgb.ts';
import { Yolo4Error } from '../util/errors.ts';

/** What went wrong: no such file, an unreadable file, or a stored size other than the expected one. */
export type ImageProblem = 'missing' | 'unreadable' | 'size';

export class ImageDecodeError extends Yolo4Error {
  constructor(
    /** The file, or a description of the in-memory input. */
    readonly file: string,
    readonly problem: ImageProblem,
    /** The reason without the file name (e.g. sharp's message). */
    readonly detail: string,
    /** The whole message, when the default wording does not fit (e.g. a failed draw and write). */
    message?: string,
  ) {
    super(message ?? (problem === 'missing' ? `image file not found: "${file}"` : `cannot read image "${file}": ${detail}`));
  }
}

function isRaw(x: ImageInput): x is RawImage {
  return typeof x === 'object' && x !== null && !Buffer.isBuffer(x) && !(x instanceof Uint8Array)
    && 'data' in x && 'width' in x && 'height' in x && 'channels' in x;
}

function isSharp(x: ImageInput): x is sharp.Sharp {
  return typeof x === 'object' && x !== null && typeof (x as sharp.Sharp).metadata === 'function'
    && typeof (x as sharp.Sharp).clone === 'function';
}

/** A short name for error messages. */
export function describeInput(input: ImageInput): string {
  if (typeof input === 'string') return input;
  if (isRaw(input)) return `raw ${input.width}x${input.height}x${input.channels} image`;
  if (isSharp(input)) return 'sharp image';
  return `${input.length}-byte image buffer`;
}

/**
 * A fresh sharp pipeline for the input (sharp pipelines are single-use, so a given one is cloned).
 * Encoded files and buffers are turned upright by their EXIF orientation (as a photo viewer shows
 * them), so a phone photo is detected, drawn and measured the way it looks.
 */
export function toSharp(input: ImageInput): sharp.Sharp {
  if (typeof input === 'string') return sharp(input, { failOn: 'error' }).rotate();
  if (isRaw(input)) {
    return sharp(input.data, { raw: { width: input.width, height: input.height, channels: input.channels } });
  }
  if (isSharp(input)) return input.clone();
  return sharp(input, { failOn: 'error' }).rotate();
}

async function checkReadable(input: ImageInput): Promise<void> {
  if (typeof input !== 'string') return;
  try {
    await access(input);
  } catch {
    throw new ImageDecodeError(input, 'missing', 'image file not found');
  }
}

function wrapError(input: ImageInput, e: unknown): ImageDecodeError {
  if (e instanceof ImageDecodeError) return e;
  return new ImageDecodeError(describeInput(input), 'unreadable', (e as Error).message);
}

/** The header's size, upright: EXIF orientations 5-8 turn the image by 90 degrees. */
async function headerSize(input: ImageInput, s: sharp.Sharp): Promise<sharp.Metadata & Size> {
  const m = await s.metadata();
  if (!m.width || !m.height) throw new ImageDecodeError(describeInput(input), 'unreadable', 'no size in its header');
  const turned = !isRaw(input) && !isSharp(input) && (m.orientation ?? 1) >= 5;
  return { ...m, width: turned ? m.height : m.width, height: turned ? m.width : m.height };
}

/** Width, height and alpha of an image, from its header only. */
export async function imageSize(input: ImageInput): Promise<Size & { hasAlpha: boolean }> {
  if (isRaw(input)) return { width: input.width, height: input.height, hasAlpha: input.channels === 2 || input.channels === 4 };
  await checkReadable(input);
  try {
    const m = await headerSize(input, toSharp(input));
    return { width: m.width, height: m.height, hasAlpha: !!m.hasAlpha };
  } catch (e) {
    throw wrapError(input, e);
  }
}

export interface ReadRgbOptions {
  /** Resize the whole image to this size first (libvips cubic, aspect not kept). Default: the stored size. */
  resize?: Size;
  /** Then keep only this window of the (resized) image. */
  crop?: { left: number; top: number; width: number; height: number };
  /** The size the caller was told (e.g. by annotations); a different stored size is an error. */
  expect?: Size;
}

/** Decodes to RGB uint8, optionally resized and cropped inside libvips (only the window reaches JS). */
export async function readRgb(input: ImageInput, opts: ReadRgbOptions = {}): Promise<RgbImage & { channels: 3 }> {
  const plain = !opts.resize && !opts.crop && !opts.expect;
  if (plain && isRaw(input) && input.channels === 3) {
    return { data: input.data, width: input.width, height: input.height, channels: 3 };
  }
  await checkReadable(input);
  try {
    let p = toSharp(input);
    if (!plain) {
      const m = await headerSize(input, p);
      const want = opts.expect;
      if (want && (want.width !== m.width || want.height !== m.height)) {
        const detail = `image is ${m.width}x${m.height} but the annotations say ${want.width}x${want.height}`;
        throw new ImageDecodeError(describeInput(input), 'size', detail);
      }
      if (opts.resize && (opts.resize.width !== m.width || opts.resize.height !== m.height)) {
        p = p.resize(opts.resize.width, opts.resize.height, { fit: 'fill', kernel: 'cubic' });
      }
      if (opts.crop) p = p.extract(opts.crop);
    }
    const { data, info } = await rgbPipeline(p).toBuffer({ resolveWithObject: true });
    return { data: toRgb(data, info.channels), width: info.width, height: info.height, channels: 3 };
  } catch (e) {
    throw wrapError(input, e);
  }
}

/** 8-bit sRGB without alpha; gray stays one band (toRgb expands it). */
export function rgbPipeline(s: sharp.Sharp): sharp.Sharp {
  return s.toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' });
}
