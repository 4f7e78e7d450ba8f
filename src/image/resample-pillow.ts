/**
 * Bicubic resize of 8-bit interleaved images, bit-exact with Pillow's `Image.resize(size, Image.BICUBIC)`
 * (Pillow's Resample.c: Keys cubic a = -0.5, support 2 widened by the scale when shrinking, separable,
 * horizontal pass first, 22-bit fixed-point coefficients, rounding and clipping to 8 bits after each pass).
 *
 * The reference implementation letterboxes with Pillow, so the network sees exactly the same pixels.
 * libvips' cubic (sharp) agrees closely when shrinking but not when enlarging, hence this code.
 */
import { Yolo4Error } from '../util/errors.ts';

const PRECISION_BITS = 32 - 8 - 2;

function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coeffs {
  ksize: number;
  /** xmin, count per output pixel. */
  bounds: Int32Array;
  /** Fixed-point weights, ksize per output pixel. */
  kk: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the box [0, inSize]. */
function precomputeCoeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax ? (ww !== 0 ? k[x] / ww : k[x]) : 0;
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const clip8 = (v: number) => {
  const x = v >> PRECISION_BITS;
  return x < 0 ? 0 : x > 255 ? 255 : x;
};

/**
 * Resizes src (sw x sh x channels, interleaved uint8) to dw x dh exactly as Pillow's BICUBIC does.
 * Returns src itself when the size does not change (Pillow returns a copy).
 */
export function resizeBicubic(input: Uint8Array, sw: number, sh: number, channels: number, dw: number, dh: number): Uint8Array {
  // A plain Uint8Array view (not a Buffer subclass) keeps the loops monomorphic.
  const src = input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.length);
  if (src.length !== sw * sh * channels) throw new Yolo4Error(`resizeBicubic: ${src.length} bytes for ${sw}x${sh}x${channels}`);
  if (!(dw > 0 && dh > 0)) throw new Yolo4Error(`resizeBicubic: bad output size ${dw}x${dh}`);
  if (dw === sw && dh === sh) return input;
  const half = 1 << (PRECISION_BITS - 1);
  const vert = precomputeCoeffs(sh, dh);
  // Rows of the source the vertical pass reads.
  const yFirst = vert.bounds[0];
  const yLast = vert.bounds[dh * 2 - 2] + vert.bounds[dh * 2 - 1];

  let img = src;
  let w = sw;
  let rowOffset = 0; // source row of img's row 0
  let h = sh;
  if (dw !== sw) {
    const { ksize, bounds, kk } = precomputeCoeffs(sw, dw);
    const rows = yLast - yFirst;
    const out = new Uint8Array(dw * rows * channels);
    for (let y = 0; y < rows; y++) {
      const srcRow = (y + yFirst) * sw * channels;
      const dstRow = y * dw * channels;
      for (let xx = 0; xx < dw; xx++) {
        const xmin = bounds[xx * 2];
        const n = bounds[xx * 2 + 1];
        const ko = xx * ksize;
        if (channels === 3) {
          let s0 = half, s1 = half, s2 = half;
          let p = srcRow + xmin * 3;
          for (let x = 0; x < n; x++, p += 3) {
            const k = kk[ko + x];
            s0 += src[p] * k;
            s1 += src[p + 1] * k;
            s2 += src[p + 2] * k;
          }
          const o = dstRow + xx * 3;
          out[o] = clip8(s0);
          out[o + 1] = clip8(s1);
          out[o + 2] = clip8(s2);
        } else {
          for (let c = 0; c < channels; c++) {
            let s = half;
            let p = srcRow + xmin * channels + c;
            for (let x = 0; x < n; x++, p += channels) s += src[p] * kk[ko + x];
            out[dstRow + xx * channels + c] = clip8(s);
          }
        }
      }
    }
    img = out;
    w = dw;
    rowOffset = yFirst;
    h = rows;
  }
  if (dh === sh) return img;
  const { ksize, bounds, kk } = vert;
  const out = new Uint8Array(dw * dh * channels);
  const stride = w * channels;
  const acc = new Float64Array(stride);
  for (let yy = 0; yy < dh; yy++) {
    const ymin = bounds[yy * 2] - rowOffset;
    const n = bounds[yy * 2 + 1];
    const ko = yy * ksize;
    if (ymin < 0 || ymin + n > h) throw new Yolo4Error('internal: resizeBicubic rows out of range');
    const dstRow = yy * dw * channels;
    // Row by row (contiguous reads); sums are integers far below 2^53, so float accumulation is exact.
    acc.fill(half);
    for (let y = 0; y < n; y++) {
      const k = kk[ko + y];
      const p = (ymin + y) * stride;
      for (let i = 0; i < stride; i++) acc[i] += img[p + i] * k;
    }
    for (let i = 0; i < stride; i++) out[dstRow + i] = clip8(acc[i]);
  }
  return out;
}
