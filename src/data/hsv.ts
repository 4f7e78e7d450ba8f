/**
 * HSV colour jitter as in the reference implementation: random gains `1 + u * [hue, sat, val]` with
 * u uniform in [-1, 1] (defaults 0.1, 0.7, 0.4); hue is multiplied and wrapped around the colour
 * circle, saturation and value are multiplied and clipped. (The reference does it on OpenCV's uint8
 * HSV with lookup tables; this works in float, so it differs only by rounding.)
 */
import type { RgbImage } from '../image/rgb.ts';
import type { Rng } from './prng.ts';

export interface HsvAmounts {
  hue: number;
  sat: number;
  val: number;
}

export interface HsvGains {
  h: number;
  s: number;
  v: number;
}

export const DEFAULT_HSV: HsvAmounts = { hue: 0.1, sat: 0.7, val: 0.4 };

export function sampleHsvGains(rng: Rng, a: HsvAmounts): HsvGains {
  const h = 1 + rng.uniform(-1, 1) * a.hue;
  const s = 1 + rng.uniform(-1, 1) * a.sat;
  const v = 1 + rng.uniform(-1, 1) * a.val;
  return { h, s, v };
}

/** Applies the gains in place. */
export function applyHsvGains(img: RgbImage, g: HsvGains): RgbImage {
  const d = img.data;
  const gh = g.h;
  const gs = g.s;
  const gv = g.v;
  if (gh === 1 && gs === 1 && gv === 1) return img;
  // Written for speed (this runs on every training image): no float `%`, no allocations.
  for (let i = 0; i < d.length; i += 3) {
    const r = d[i];
    const gr = d[i + 1];
    const b = d[i + 2];
    const max = r > gr ? (r > b ? r : b) : gr > b ? gr : b;
    const min = r < gr ? (r < b ? r : b) : gr < b ? gr : b;
    const c = max - min;
    // hue in [0, 6)
    let h = 0;
    if (c > 0) {
      if (max === r) h = (gr - b) / c;
      else if (max === gr) h = (b - r) / c + 2;
      else h = (r - gr) / c + 4;
      if (h < 0) h += 6;
      h *= gh;
      if (h >= 6 || h < 0) h -= 6 * Math.floor(h / 6);
    }
    let s = max > 0 ? c / max : 0;
    let v = max * gv;
    s *= gs;
    if (s > 1) s = 1;
    if (v > 255) v = 255;
    // back to RGB (0..255)
    const cc = v * s;
    const hm2 = h - 2 * Math.floor(h / 2);
    const x = cc * (1 - (hm2 > 1 ? hm2 - 1 : 1 - hm2));
    const m = v - cc;
    let r1: number;
    let g1: number;
    let b1: number;
    switch (Math.floor(h)) {
      case 0: r1 = cc; g1 = x; b1 = 0; break;
      case 1: r1 = x; g1 = cc; b1 = 0; break;
      case 2: r1 = 0; g1 = cc; b1 = x; break;
      case 3: r1 = 0; g1 = x; b1 = cc; break;
      case 4: r1 = x; g1 = 0; b1 = cc; break;
      default: r1 = cc; g1 = 0; b1 = x;
    }
    d[i] = (r1 + m + 0.5) | 0;
    d[i + 1] = (g1 + m + 0.5) | 0;
    d[i + 2] = (b1 + m + 0.5) | 0;
  }
  return img;
}
