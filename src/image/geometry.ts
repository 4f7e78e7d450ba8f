/**
 * Geometry of fitting an image into the network input: where the resized image goes on the canvas
 * (`Placement`), the map from original pixels to canvas pixels (`Affine`), and boxes mapped forward
 * and back.
 *
 * Letterbox follows the reference (`resize_image` of bubbliiiing/yolov4-pytorch): scale
 * `s = min(W / iw, H / ih)`, `nw = int(iw * s)`, `nh = int(ih * s)`, centred at
 * `((W - nw) // 2, (H - nh) // 2)`; every value is positive, so int() and // are Math.floor.
 * 'resize' stretches the image over the whole canvas (darknet / OpenCV DNN).
 */

// The mode is part of a model's config (model/config.ts chooses it per architecture).
export type { ResizeMode } from '../model/config.ts';
import type { ResizeMode } from '../model/config.ts';

/** Where a resized image goes on a canvas. */
export interface Placement {
  /** Size of the resized image. */
  nw: number;
  nh: number;
  /** Its top-left corner on the canvas (may be negative or beyond the canvas with random placement). */
  dx: number;
  dy: number;
}

/** A region of the canvas, [x0, x1) x [y0, y1). */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** `out = in * s + d`, per axis. */
export interface Affine {
  sx: number;
  sy: number;
  dx: number;
  dy: number;
}

/** Corners [x1, y1, x2, y2] in pixels. */
export type Box = [number, number, number, number];

/** Where an iw x ih image goes in a width x height input under `mode`. */
export function fitPlacement(iw: number, ih: number, width: number, height: number, mode: ResizeMode = 'letterbox'): Placement {
  if (mode === 'resize') return { nw: width, nh: height, dx: 0, dy: 0 };
  const s = Math.min(width / iw, height / ih);
  const nw = Math.max(1, Math.min(width, Math.floor(iw * s)));
  const nh = Math.max(1, Math.min(height, Math.floor(ih * s)));
  return { nw, nh, dx: Math.floor((width - nw) / 2), dy: Math.floor((height - nh) / 2) };
}

/** Original pixels -> canvas pixels for an iw x ih image placed by `p` (the exact scale of the resized pixels). */
export function placementAffine(iw: number, ih: number, p: Placement): Affine {
  return { sx: p.nw / iw, sy: p.nh / ih, dx: p.dx, dy: p.dy };
}

/** A box from original pixels to canvas pixels (no clipping). */
export function mapBox(box: ArrayLike<number>, t: Affine): Box {
  return [box[0] * t.sx + t.dx, box[1] * t.sy + t.dy, box[2] * t.sx + t.dx, box[3] * t.sy + t.dy];
}

/** A box from canvas pixels back to original pixels, clipped to [0, width] x [0, height] when given. */
export function unmapBox(box: ArrayLike<number>, t: Affine, width = Infinity, height = Infinity): Box {
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const back = (v: number, d: number, s: number, hi: number) => (hi === Infinity ? (v - d) / s : clip((v - d) / s, hi));
  return [back(box[0], t.dx, t.sx, width), back(box[1], t.dy, t.sy, height), back(box[2], t.dx, t.sx, width), back(box[3], t.dy, t.sy, height)];
}
