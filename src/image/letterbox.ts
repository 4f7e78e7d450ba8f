/**
 * Fitting an image to the network input, as float RGB / 255: letterbox (aspect kept, gray padding)
 * or a plain resize (see geometry.ts for the placement), with a choice of resampler, and the map of
 * boxes between input and original pixels.
 *
 * The resamplers reproduce the reference each model family was made with: 'pillow' (default) is
 * bit-exact with PIL's BICUBIC (PyTorch reference); 'opencv' with cv2.resize INTER_LINEAR (darknet via
 * OpenCV DNN); 'sharp' is libvips' cubic, faster on large images, within a few levels of Pillow when
 * shrinking, visibly different when enlarging.
 */
import { imageSize, readRgb, rgbPipeline, toSharp, ImageDecodeError, describeInput } from './decode.ts';
import { fitPlacement, mapBox, unmapBox, type Affine, type Box, type ResizeMode } from './geometry.ts';
import { resizeBilinearOpenCV } from './resample-opencv.ts';
import { resizeBicubic } from './resample-pillow.ts';
import { PAD_VALUE, toRgb, type ImageInput } from './rgb.ts';
import { UsageError } from '../util/errors.ts';

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

export type Resampler = 'pillow' | 'sharp' | 'opencv';

export interface LetterboxOptions {
  mode?: ResizeMode;
  resampler?: Resampler;
}

/** Input size as a square side or {width, height}. */
export type InputSize = number | { width: number; height: number };

/** Original pixels -> input pixels of a letterboxed image. */
export function letterboxAffine(info: LetterboxInfo): Affine {
  return { sx: info.scaleX, sy: info.scaleY, dx: info.padX, dy: info.padY };
}

function checkOptions(size: InputSize, mode: ResizeMode, resampler: Resampler): { inputW: number; inputH: number } {
  const inputW = typeof size === 'number' ? size : size.width;
  const inputH = typeof size === 'number' ? size : size.height;
  if (!(Number.isInteger(inputW) && inputW > 0 && Number.isInteger(inputH) && inputH > 0)) {
    throw new UsageError(`letterbox size must be positive integers, got ${JSON.stringify(size)}`);
  }
  if (mode !== 'letterbox' && mode !== 'resize') throw new UsageError(`unknown resize mode "${mode as string}" (letterbox or resize)`);
  if (resampler !== 'pillow' && resampler !== 'sharp' && resampler !== 'opencv') {
    throw new UsageError(`unknown resampler "${resampler as string}" (pillow, sharp or opencv)`);
  }
  return { inputW, inputH };
}

/** The image resized to nw x nh by libvips (sharp), as RGB bytes. */
async function resizeWithSharp(input: ImageInput, hasAlpha: boolean, nw: number, nh: number, same: boolean): Promise<Uint8Array> {
  try {
    // With alpha, sharp would resize premultiplied RGBA; drop alpha first instead (PIL's convert('RGB')).
    let pipe = rgbPipeline(hasAlpha ? toSharp(await readRgb(input)) : toSharp(input));
    // libvips 'cubic' is Catmull-Rom (a = -0.5) with the support widened when shrinking, as PIL's BICUBIC.
    if (!same) pipe = pipe.resize(nw, nh, { fit: 'fill', kernel: 'cubic', fastShrinkOnLoad: false });
    const { data, info } = await pipe.toBuffer({ resolveWithObject: true });
    if (info.width !== nw || info.height !== nh) {
      throw new ImageDecodeError(describeInput(input), 'unreadable', `resize gave ${info.width}x${info.height}, expected ${nw}x${nh}`);
    }
    return toRgb(data, info.channels);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    throw new ImageDecodeError(describeInput(input), 'unreadable', (e as Error).message);
  }
}

/** Letterbox (or plain-resize) an image to the network input size. */
export async function letterboxImage(input: ImageInput, size: InputSize, opts: LetterboxOptions = {}): Promise<LetterboxResult> {
  const mode = opts.mode ?? 'letterbox';
  const resampler = opts.resampler ?? 'pillow';
  const { inputW, inputH } = checkOptions(size, mode, resampler);
  // Pillow/OpenCV paths: decode once and take the size from the pixels; sharp path: read the header first.
  const rgb = resampler !== 'sharp' ? await readRgb(input) : null;
  const { width: origW, height: origH, hasAlpha } = rgb ? { ...rgb, hasAlpha: false } : await imageSize(input);
  const { nw, nh, dx: padX, dy: padY } = fitPlacement(origW, origH, inputW, inputH, mode);

  let pixels: Uint8Array;
  if (!rgb) pixels = await resizeWithSharp(input, hasAlpha, nw, nh, nw === origW && nh === origH);
  else if (resampler === 'opencv') pixels = resizeBilinearOpenCV(rgb.data, rgb.width, rgb.height, 3, nw, nh);
  else pixels = resizeBicubic(rgb.data, rgb.width, rgb.height, 3, nw, nh);

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

/**
 * An image as OpenCV's DNN sees a darknet model's input: plain INTER_LINEAR resize, RGB / 255, with
 * the info that maps boxes back to original pixels.
 */
export function opencvResizeImage(input: ImageInput, size: InputSize): Promise<LetterboxResult> {
  return letterboxImage(input, size, { mode: 'resize', resampler: 'opencv' });
}

/** Maps one [x1,y1,x2,y2] box from network-input pixels back to original pixels, clipped to the image. */
export function undoLetterboxBox(box: ArrayLike<number>, info: LetterboxInfo): Box {
  return unmapBox(box, letterboxAffine(info), info.origW, info.origH);
}

/** Maps boxes from network-input pixels back to original image pixels and clips them to the image. */
export function undoLetterbox(boxes: ArrayLike<number>[], info: LetterboxInfo): Box[] {
  return boxes.map((b) => undoLetterboxBox(b, info));
}

/** The forward mapping (original pixels -> input pixels), without clipping. */
export function applyLetterboxBox(box: ArrayLike<number>, info: LetterboxInfo): Box {
  return mapBox(box, letterboxAffine(info));
}
