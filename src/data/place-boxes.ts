/**
 * Boxes of an iw x ih image that is resized to `p.nw x p.nh`, optionally mirrored (x -> nw - x inside
 * the resized image, as the reference flips the image before pasting it), and put at (p.dx, p.dy).
 * No clipping: callers clip to the region the image is visible in.
 */
import { flipBoxes, transformBoxes } from './box-ops.ts';
import type { Placement } from '../image/geometry.ts';
import type { Box } from './types.ts';

export function placeBoxes(boxes: readonly Box[], iw: number, ih: number, p: Placement, flip: boolean): Box[] {
  let b = transformBoxes(boxes, { sx: p.nw / iw, sy: p.nh / ih, dx: 0, dy: 0 });
  if (flip) b = flipBoxes(b, p.nw);
  return transformBoxes(b, { sx: 1, sy: 1, dx: p.dx, dy: p.dy });
}
