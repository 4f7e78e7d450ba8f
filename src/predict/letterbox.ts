/**
 * Image loading and letterboxing for YOLOv4 input, and the inverse mapping of boxes.
 *
 * Letterbox follows the common PyTorch implementation (bubbliiiing/yolov4-pytorch `resize_image`):
 *   scale = min(S_w / w, S_h / h); nw = int(w * scale); nh = int(h * scale)
 *   bicubic resize to (nw, nh), paste on a gray (128,128,128) canvas at ((S_w - nw) // 2, (S_h - nh) // 2).
 * 'resize' mode stretches the image to S_w x S_h without padding (darknet style).
 *
 * The image is used in its stored pixel orientation (EXIF orientation is NOT applied), like PIL's
 * `Image.open` in the reference and like COCO's annotations.
 */
import { access } from 'node:fs/promises';
import sharp from 'sharp';
import { resizeBilinearOpenCV } from './resample-opencv.ts';
import { resizeBicubic } from './resample.ts';
import { Yolo4Error } from '../util/errors.ts';

/** Raw interleaved pixels (e.g. a decoded video frame). */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** Anything the predict code accepts as an image: a file path, an encoded buffer, a sharp pipeline or raw pixels. */
export type ImageInput = string | Buffer | Uint8Array | sharp.Sharp | RawImage;

export type ResizeMode = 'letterbox' | 'resize';

export interface LetterboxInfo {
  /** Original image size in pixels. */
  origW: number;
  origH: number;
  /** Network input size in pixels. */
  inputW: number;
  inputH: number;
  /** input pixels per original pixel: x_in = x_orig * scaleX + padX. */
  scaleX: number;
  scaleY: number;
  /** Left and top padding in input pixels (0 in 'resize' mode). */
  padX: number;
  padY: number;
  mode: ResizeMode;
}

export interface LetterboxResult {
  /** HWC RGB in [0, 1], inputH * inputW * 3 values. */
  tensorData: Float32Array;
  info: LetterboxInfo;
}

export interface LetterboxOptions {
  mode?: ResizeMode;
  /**
   * 'pillow' (default): bit-exact with Pillow's BICUBIC, as the reference implementation.
   * 'sharp': libvips' cubic, faster on large images; within a few levels of Pillow when shrinking,
   * visibly different when enlarging.
   */
  resampler?: 'pillow' | 'sharp' | 'opencv';
}

/** Input size as a square side or {width, height}. */
export type InputSize = number | { width: number; height: number };

export class ImageReadError extends Yolo4Error {
  constructor(readonly file: string, message: string) {
    super(message);
    this.name = 'ImageReadError';
  }
}

export const PAD_VALUE = 128;

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

/** A fresh sharp pipeline for the input (sharp pipelines are single-use, so a given one is cloned). */
export function toSharp(input: ImageInput): sharp.Sharp {
  if (typeof input === 'string') return sharp(input, { failOn: 'error' });
  if (isRaw(input)) {
    return sharp(input.data, { raw: { width: input.width, height: input.height, channels: input.channels } });
  }
  if (isSharp(input)) return input.clone();
  return sharp(input, { failOn: 'error' });
}

/** Decodes an image to 8-bit interleaved RGB, keeping its stored orientation. Errors name the file. */
export async function readRgb(input: ImageInput): Promise<RawImage & { channels: 3 }> {
  if (isRaw(input) && input.channels === 3) {
    return { data: input.data, width: input.width, height: input.height, channels: 3 };
  }
  await checkReadable(input);
  try {
    const { data, info } = await rgbPipeline(toSharp(input)).toBuffer({ resolveWithObject: true });
    return { data: toRgb(data, info.channels), width: info.width, height: info.height, channels: 3 };
  } catch (e) {
    throw wrapError(input, e);
  }
}

/** Width, height and alpha of an image without decoding all of it. */
export async function imageSize(input: ImageInput): Promise<{ width: number; height: number; hasAlpha: boolean }> {
  if (isRaw(input)) return { width: input.width, height: input.height, hasAlpha: input.channels === 2 || input.channels === 4 };
  await checkReadable(input);
  try {
    const m = await toSharp(input).metadata();
    if (!m.width || !m.height) throw new Error('no image size in the file');
    return { width: m.width, height: m.height, hasAlpha: !!m.hasAlpha };
  } catch (e) {
    throw wrapError(input, e);
  }
}

/** Letterbox (or plain-resize) an image to the network input size. */
export async function letterboxImage(input: ImageInput, size: InputSize, opts: LetterboxOptions = {}): Promise<LetterboxResult> {
  const mode = opts.mode ?? 'letterbox';
  const resampler = opts.resampler ?? 'pillow';
  const inputW = typeof size === 'number' ? size : size.width;
  const inputH = typeof size === 'number' ? size : size.height;
  if (!(Number.isInteger(inputW) && inputW > 0 && Number.isInteger(inputH) && inputH > 0)) {
    throw new Error(`letterbox size must be positive integers, got ${JSON.stringify(size)}`);
  }
  if (mode !== 'letterbox' && mode !== 'resize') throw new Error(`unknown resize mode "${mode as string}" (letterbox or resize)`);
  if (resampler !== 'pillow' && resampler !== 'sharp' && resampler !== 'opencv') {
    throw new Error(`unknown resampler "${resampler as string}" (pillow, sharp or opencv)`);
  }
  // Pillow/OpenCV paths: decode once and take the size from the pixels; sharp path: read the header first.
  const rgb = resampler !== 'sharp' ? await readRgb(input) : null;
  const { width: origW, height: origH, hasAlpha } = rgb ? { ...rgb, hasAlpha: false } : await imageSize(input);

  let nw: number;
  let nh: number;
  if (mode === 'letterbox') {
    // Same float expressions as the Python reference, so int() truncation agrees.
    const scale = Math.min(inputW / origW, inputH / origH);
    nw = Math.max(1, Math.trunc(origW * scale));
    nh = Math.max(1, Math.trunc(origH * scale));
  } else {
    nw = inputW;
    nh = inputH;
  }
  const padX = Math.floor((inputW - nw) / 2);
  const padY = Math.floor((inputH - nh) / 2);

  let pixels: Uint8Array;
  if (rgb) {
    pixels = resampler === 'opencv'
      ? resizeBilinearOpenCV(rgb.data, rgb.width, rgb.height, 3, nw, nh)
      : resizeBicubic(rgb.data, rgb.width, rgb.height, 3, nw, nh);
  } else {
    try {
      // With alpha, sharp would resize premultiplied RGBA; drop alpha first instead (PIL's convert('RGB')).
      let pipe = hasAlpha ? rgbPipeline(toSharp(await readRgb(input))) : rgbPipeline(toSharp(input));
      if (nw !== origW || nh !== origH) {
        // libvips 'cubic' is Catmull-Rom (a = -0.5) with the support widened when shrinking, as PIL's BICUBIC.
        pipe = pipe.resize(nw, nh, { fit: 'fill', kernel: 'cubic', fastShrinkOnLoad: false });
      }
      const { data, info } = await pipe.toBuffer({ resolveWithObject: true });
      if (info.width !== nw || info.height !== nh) throw new Error(`resize gave ${info.width}x${info.height}, expected ${nw}x${nh}`);
      pixels = toRgb(data, info.channels);
    } catch (e) {
      throw wrapError(input, e);
    }
  }

  const tensorData = new Float32Array(inputW * inputH * 3);
  tensorData.fill(PAD_VALUE / 255);
  for (let y = 0; y < nh; y++) {
    let src = y * nw * 3;
    let dst = ((y + padY) * inputW + padX) * 3;
    for (let i = 0; i < nw * 3; i++) tensorData[dst++] = pixels[src++] / 255;
  }
  return {
    tensorData,
    info: { origW, origH, inputW, inputH, scaleX: nw / origW, scaleY: nh / origH, padX, padY, mode },
  };
}

export type Box = [number, number, number, number];

/** Maps one [x1,y1,x2,y2] box from network-input pixels back to original pixels, clipped to the image. */
export function undoLetterboxBox(box: ArrayLike<number>, info: LetterboxInfo): Box {
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return [
    clip((box[0] - info.padX) / info.scaleX, info.origW),
    clip((box[1] - info.padY) / info.scaleY, info.origH),
    clip((box[2] - info.padX) / info.scaleX, info.origW),
    clip((box[3] - info.padY) / info.scaleY, info.origH),
  ];
}

/** Maps boxes from network-input pixels back to original image pixels and clips them to the image. */
export function undoLetterbox(boxes: ArrayLike<number>[], info: LetterboxInfo): Box[] {
  return boxes.map((b) => undoLetterboxBox(b, info));
}

/** The forward mapping (original pixels -> input pixels), without clipping. */
export function applyLetterboxBox(box: ArrayLike<number>, info: LetterboxInfo): Box {
  return [
    box[0] * info.scaleX + info.padX,
    box[1] * info.scaleY + info.padY,
    box[2] * info.scaleX + info.padX,
    box[3] * info.scaleY + info.padY,
  ];
}

function rgbPipeline(s: sharp.Sharp): sharp.Sharp {
  // 8-bit sRGB; alpha is dropped (like PIL's convert('RGB')), gray is expanded to 3 channels.
  return s.toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' });
}

function toRgb(data: Uint8Array, channels: number): Uint8Array {
  if (channels === 3) return data;
  const n = data.length / channels;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const g = data[i * channels];
    out[i * 3] = g;
    out[i * 3 + 1] = channels >= 3 ? data[i * channels + 1] : g;
    out[i * 3 + 2] = channels >= 3 ? data[i * channels + 2] : g;
  }
  return out;
}

async function checkReadable(input: ImageInput): Promise<void> {
  if (typeof input !== 'string') return;
  try {
    await access(input);
  } catch {
    throw new ImageReadError(input, `image file not found: "${input}"`);
  }
}

function wrapError(input: ImageInput, e: unknown): Error {
  if (e instanceof ImageReadError) return e;
  const name = describeInput(input);
  return new ImageReadError(name, `cannot read image "${name}": ${(e as Error).message}`);
}
