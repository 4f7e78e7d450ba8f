/**
 * Letterbox: scale the image to fit the square network input keeping its aspect ratio, centre it,
 * pad with gray 128 (the reference's evaluation/prediction input). Sizes round down like the
 * reference: `nw = floor(iw * s)`, `dx = floor((S - nw) / 2)`, with `s = min(S / iw, S / ih)`.
 * Boxes map as `x' = x * nw / iw + dx` (the exact scale of the resized pixels).
 */
import { transformBoxes, type Affine } from './box-ops.ts';
import { probeImage, type RgbImage, type Size } from './image-io.ts';
import { newCanvas } from './pixels.ts';
import { drawPlaced, type Placement } from './placed-image.ts';
import type { Box } from './types.ts';

export type { Placement };

export function letterboxPlacement(iw: number, ih: number, size: number): Placement {
  const s = Math.min(size / iw, size / ih);
  const nw = Math.max(1, Math.min(size, Math.floor(iw * s)));
  const nh = Math.max(1, Math.min(size, Math.floor(ih * s)));
  return { nw, nh, dx: Math.floor((size - nw) / 2), dy: Math.floor((size - nh) / 2) };
}

/** Original pixels -> canvas pixels for an image of iw x ih placed by `p`. */
export function placementAffine(iw: number, ih: number, p: Placement): Affine {
  return { sx: p.nw / iw, sy: p.nh / ih, dx: p.dx, dy: p.dy };
}

/** Input (canvas) boxes back to the original image's pixels. */
export function invertAffineBoxes(boxes: readonly Box[], t: Affine): Box[] {
  return transformBoxes(boxes, { sx: 1 / t.sx, sy: 1 / t.sy, dx: -t.dx / t.sx, dy: -t.dy / t.sy });
}

export interface Letterboxed {
  image: RgbImage;
  /** Original pixels -> input pixels; `invertAffineBoxes(dets, transform)` maps predictions back. */
  transform: Affine;
  width: number;
  height: number;
}

/** Letterboxes one image file to `size x size` (for prediction and evaluation). */
export async function letterboxFile(file: string, size: number, known?: Size): Promise<Letterboxed> {
  const dims = known ?? (await probeImage(file));
  const p = letterboxPlacement(dims.width, dims.height, size);
  const image = newCanvas(size, size);
  await drawPlaced(image, file, p, { expect: known });
  return { image, transform: placementAffine(dims.width, dims.height, p), width: dims.width, height: dims.height };
}
