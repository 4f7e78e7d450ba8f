/**
 * Where each box's label goes, so that labels of overlapping boxes do not hide each other.
 *
 * Labels are placed in the given order (best detection first, so it gets the natural spot). Each tries,
 * in turn: above the box, inside its top, below it, inside its bottom; then the same spots stepped
 * further out by whole label heights; each at the box's left edge, then right-aligned to it. The first
 * spot inside the image that covers no label placed before wins. When the image is too crowded for any
 * free spot, the one covering the least label area is taken.
 */

export interface LabelRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface LabelRequest {
  /** The box, integer pixel corners. */
  box: [number, number, number, number];
  /** Label width in pixels. */
  width: number;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

/** Overlap area of two rectangles (0 when they only touch). */
export function overlapArea(a: LabelRect, b: LabelRect): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Candidate top-left corners for one label, best first, all inside the image. */
function candidates(req: LabelRequest, labelH: number, width: number, height: number): { x: number; y: number }[] {
  const [x1, y1, x2, y2] = req.box;
  const maxX = Math.max(0, width - req.width);
  const maxY = Math.max(0, height - labelH);
  const xs = [...new Set([clamp(x1, 0, maxX), clamp(x2 - req.width, 0, maxX)])];
  const ys: number[] = [];
  const steps = Math.ceil(height / Math.max(1, labelH));
  for (let k = 0; k <= steps; k++) {
    const off = k * labelH;
    // Above, inside top, below, inside bottom; k > 0 moves each further from its anchor.
    for (const y of [y1 - labelH - off, y1 + off, y2 + off, y2 - labelH - off]) {
      if (y >= 0 && y <= maxY) ys.push(y);
    }
  }
  // A box taller than the image still gets a spot (the clamped natural one).
  ys.push(clamp(y1 - labelH >= 0 ? y1 - labelH : y1, 0, maxY));
  const seen = new Set<string>();
  const out: { x: number; y: number }[] = [];
  for (const y of ys) {
    for (const x of xs) {
      const key = `${x},${y}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push({ x, y });
      }
    }
  }
  return out;
}

/** One rectangle per request, in the same order, inside the image (when the label fits in it). */
export function placeLabels(requests: LabelRequest[], labelH: number, width: number, height: number): LabelRect[] {
  const placed: LabelRect[] = [];
  for (const req of requests) {
    let best: LabelRect | undefined;
    let bestCover = Infinity;
    for (const c of candidates(req, labelH, width, height)) {
      const rect = { x: c.x, y: c.y, w: req.width, h: labelH };
      let cover = 0;
      for (const p of placed) {
        cover += overlapArea(rect, p);
        if (cover >= bestCover) break;
      }
      if (cover < bestCover) {
        best = rect;
        bestCover = cover;
        if (cover === 0) break;
      }
    }
    placed.push(best!);
  }
  return placed;
}
