/**
 * Random scale, aspect jitter and placement of one image on the input canvas, after the reference
 * (`get_random_data`): aspect `iw/ih * U(1-j, 1+j) / U(1-j, 1+j)`, scale `U(lo, hi)` of the input size
 * for the longer side, position `dx = trunc(U(0, S - nw))` (negative when the image is larger than
 * the canvas, so it is cropped). With scale, jitter and placement all off it is the letterbox.
 */
import { fitPlacement, type Placement } from '../image/geometry.ts';
import type { Rng } from './prng.ts';

export interface PlacementOptions {
  /** Range of the longer side relative to the input size; null = 1 (fit). */
  scale: [number, number] | null;
  /** Aspect-ratio jitter j; 0 = keep the aspect ratio. */
  jitter: number;
  /** Random position; false = centred. */
  placement: boolean;
}

/** Resized size from an aspect ratio and a scale of `size` for the longer side (both at least 1 px). */
export function scaledSize(aspect: number, scale: number, size: number): { nw: number; nh: number } {
  let nw: number;
  let nh: number;
  if (aspect < 1) {
    nh = Math.floor(scale * size);
    nw = Math.floor(nh * aspect);
  } else {
    nw = Math.floor(scale * size);
    nh = Math.floor(nw / aspect);
  }
  return { nw: Math.max(1, nw), nh: Math.max(1, nh) };
}

export function sampleAspect(rng: Rng, iw: number, ih: number, jitter: number): number {
  if (jitter <= 0) return iw / ih;
  return ((iw / ih) * rng.uniform(1 - jitter, 1 + jitter)) / rng.uniform(1 - jitter, 1 + jitter);
}

export function sampleRandomPlacement(rng: Rng, iw: number, ih: number, size: number, o: PlacementOptions): Placement {
  const aspect = sampleAspect(rng, iw, ih, o.jitter);
  const scale = o.scale ? rng.uniform(o.scale[0], o.scale[1]) : 1;
  let { nw, nh } = scaledSize(aspect, scale, size);
  if (!o.scale && o.jitter <= 0) {
    // Exactly the letterbox's rounding (floor(iw * min(S/iw, S/ih))).
    ({ nw, nh } = fitPlacement(iw, ih, size, size, 'letterbox'));
  }
  const dx = o.placement ? Math.trunc(rng.uniform(0, size - nw)) : Math.floor((size - nw) / 2);
  const dy = o.placement ? Math.trunc(rng.uniform(0, size - nh)) : Math.floor((size - nh) / 2);
  return { nw, nh, dx, dy };
}
