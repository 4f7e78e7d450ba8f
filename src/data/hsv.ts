/**
 * HSV colour jitter as in the reference implementation: random gains `1 + u * [hue, sat, val]` with
 * u uniform in [-1, 1] (defaults 0.1, 0.7, 0.4); hue is multiplied and wrapped around the colour
 * circle, saturation and value are multiplied and clipped. (The reference does it on OpenCV's uint8
 * HSV with lookup tables; this works in float, so it differs only by rounding.)
 */
import type { RgbImage } from './image-io.ts';
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
  if (g.h === 1 && g.s === 1 && g.v === 1) return img;
  for (let i = 0; i < d.length; i += 3) {
    const r = d[i] / 255;
    const gr = d[i + 1] / 255;
    const b = d[i + 2] / 255;
    const max = Math.max(r, gr, b);
    const min = Math.min(r, gr, b);
    const c = max - min;
    // hue in [0, 6)
    let h = 0;
    if (c > 0) {
      if (max === r) h = (gr - b) / c;
      else if (max === gr) h = (b - r) / c + 2;
      else h = (r - gr) / c + 4;
      if (h < 0) h += 6;
    }
    let s = max > 0 ? c / max : 0;
    let v = max;
    h = (h * g.h) % 6;
    s = Math.min(1, s * g.s);
    v = Math.min(1, v * g.v);
    // back to RGB
    const cc = v * s;
    const x = cc * (1 - Math.abs((h % 2) - 1));
    const m = v - cc;
    let r1 = 0;
    let g1 = 0;
    let b1 = 0;
    const sector = Math.floor(h);
    if (sector === 0) [r1, g1, b1] = [cc, x, 0];
    else if (sector === 1) [r1, g1, b1] = [x, cc, 0];
    else if (sector === 2) [r1, g1, b1] = [0, cc, x];
    else if (sector === 3) [r1, g1, b1] = [0, x, cc];
    else if (sector === 4) [r1, g1, b1] = [x, 0, cc];
    else [r1, g1, b1] = [cc, 0, x];
    d[i] = Math.round((r1 + m) * 255);
    d[i + 1] = Math.round((g1 + m) * 255);
    d[i + 2] = Math.round((b1 + m) * 255);
  }
  return img;
}
