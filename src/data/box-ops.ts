/**
 * Box arithmetic of the augmentation: scale+shift, horizontal flip, clip to a region, drop tiny boxes,
 * and the conversion to the loader's normalized `[cx, cy, w, h, classId]` rows.
 */
import { mapBox, unmapBox, type Affine } from '../image/geometry.ts';
import type { Box } from './types.ts';

function withCorners(b: Box, c: readonly number[]): Box {
  return { x1: c[0], y1: c[1], x2: c[2], y2: c[3], classId: b.classId };
}

/** Annotations from original pixels to canvas pixels (`mapBox` per box, class kept). */
export function transformBoxes(boxes: readonly Box[], t: Affine): Box[] {
  return boxes.map((b) => withCorners(b, mapBox([b.x1, b.y1, b.x2, b.y2], t)));
}

/** Annotations from canvas pixels back to original pixels (`unmapBox` per box, class kept). */
export function invertAffineBoxes(boxes: readonly Box[], t: Affine): Box[] {
  return boxes.map((b) => withCorners(b, unmapBox([b.x1, b.y1, b.x2, b.y2], t)));
}

/** Mirror inside `[0, width]`: x -> width - x (so x1 and x2 swap roles). */
export function flipBoxes(boxes: readonly Box[], width: number): Box[] {
  return boxes.map((b) => ({ x1: width - b.x2, y1: b.y1, x2: width - b.x1, y2: b.y2, classId: b.classId }));
}

/** Clips to `[x0, x1] x [y0, y1]` and drops boxes narrower or lower than `minSize` pixels after clipping. */
export function clipBoxes(boxes: readonly Box[], x0: number, y0: number, x1: number, y1: number, minSize = 1): Box[] {
  const out: Box[] = [];
  for (const b of boxes) {
    const c = {
      x1: Math.max(x0, Math.min(x1, b.x1)),
      y1: Math.max(y0, Math.min(y1, b.y1)),
      x2: Math.max(x0, Math.min(x1, b.x2)),
      y2: Math.max(y0, Math.min(y1, b.y2)),
      classId: b.classId,
    };
    if (c.x2 - c.x1 >= minSize && c.y2 - c.y1 >= minSize) out.push(c);
  }
  return out;
}

/** Rows `[cx, cy, w, h, classId]` with coordinates divided by the input size (so in [0, 1]). */
export function boxesToTargets(boxes: readonly Box[], width: number, height = width): Float32Array {
  const t = new Float32Array(boxes.length * 5);
  boxes.forEach((b, i) => {
    t[i * 5] = (b.x1 + b.x2) / 2 / width;
    t[i * 5 + 1] = (b.y1 + b.y2) / 2 / height;
    t[i * 5 + 2] = (b.x2 - b.x1) / width;
    t[i * 5 + 3] = (b.y2 - b.y1) / height;
    t[i * 5 + 4] = b.classId;
  });
  return t;
}
