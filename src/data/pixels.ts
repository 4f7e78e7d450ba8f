/** Plain pixel operations of the augmentation on RGB uint8 images (`RgbImage`): paste, mirror, blend. */
import type { Rect } from '../image/geometry.ts';
import type { RgbImage } from '../image/rgb.ts';
import { Yolo4Error } from '../util/errors.ts';

/**
 * Copies `src` onto `dst` with its top-left corner at (dx, dy) (may be negative), keeping only the part
 * inside `clip` = [x0, y0, x1) x [y0, y1) (default: all of `dst`).
 */
export function paste(
  dst: RgbImage,
  src: RgbImage,
  dx: number,
  dy: number,
  clip: Rect = { x0: 0, y0: 0, x1: dst.width, y1: dst.height },
): void {
  const x0 = Math.max(clip.x0, dx, 0);
  const y0 = Math.max(clip.y0, dy, 0);
  const x1 = Math.min(clip.x1, dx + src.width, dst.width);
  const y1 = Math.min(clip.y1, dy + src.height, dst.height);
  if (x1 <= x0 || y1 <= y0) return;
  const rowBytes = (x1 - x0) * 3;
  for (let y = y0; y < y1; y++) {
    const s = ((y - dy) * src.width + (x0 - dx)) * 3;
    dst.data.set(src.data.subarray(s, s + rowBytes), (y * dst.width + x0) * 3);
  }
}

/** Mirrors left-right in place: pixel column x goes to width - 1 - x. */
export function flipHorizontal(img: RgbImage): RgbImage {
  const { data, width, height } = img;
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let a = 0, b = width - 1; a < b; a++, b--) {
      const pa = row + a * 3;
      const pb = row + b * 3;
      for (let c = 0; c < 3; c++) {
        const t = data[pa + c];
        data[pa + c] = data[pb + c];
        data[pb + c] = t;
      }
    }
  }
  return img;
}

/** `a = round(a * (1 - t) + b * t)` in place (same sizes). */
export function blendInto(a: RgbImage, b: RgbImage, t = 0.5): RgbImage {
  if (a.width !== b.width || a.height !== b.height) throw new Yolo4Error('blendInto: images differ in size');
  const s = 1 - t;
  for (let i = 0; i < a.data.length; i++) a.data[i] = Math.round(a.data[i] * s + b.data[i] * t);
  return a;
}

/** Writes the image as float RGB / 255 into `out` at `offset` (the loader's batch buffer). */
export function writeFloat(img: RgbImage, out: Float32Array, offset: number): void {
  const d = img.data;
  for (let i = 0; i < d.length; i++) out[offset + i] = d[i] / 255;
}
