/**
 * The preprocessing of darknet models as OpenCV's DNN module runs them: `cv2.resize(img, (W, H))`
 * with the default INTER_LINEAR (what `cv2.dnn.blobFromImage` does), no letterbox, RGB / 255.
 *
 * resizeBilinearOpenCV is bit-exact with OpenCV 4.x's 8-bit INTER_LINEAR on x86 (checked against
 * the reference's dog_input.png: all 307,200 values equal): source coordinate (d + 0.5) * s / D - 0.5
 * clamped at the borders, 11-bit fixed-point weights rounded separately, a horizontal pass in int32,
 * then the SIMD vertical pass ((((S0 >> 4) * b0) >> 16) + (((S1 >> 4) * b1) >> 16) + 2) >> 2.
 * (OpenCV's 2x-exact downscale switches to INTER_AREA; that case is not reproduced.)
 */
import { Yolo4Error } from '../util/errors.ts';

const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS;

/** Rounds half to even, as cvRound / saturate_cast<short>(float). */
function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : r;
}

function coefficients(src: number, dst: number): { ofs: Int32Array; a: Int32Array } {
  const scale = src / dst;
  const ofs = new Int32Array(dst);
  const a = new Int32Array(2 * dst);
  for (let d = 0; d < dst; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (s < 0) {
      f = 0;
      s = 0;
    }
    if (s >= src - 1) {
      f = 0;
      s = src - 1;
    }
    ofs[d] = s;
    a[2 * d] = roundEven(Math.fround(1 - f) * COEF_SCALE);
    a[2 * d + 1] = roundEven(f * COEF_SCALE);
  }
  return { ofs, a };
}

/** Bilinear resize of interleaved 8-bit pixels, as cv2.resize(..., interpolation=INTER_LINEAR). */
export function resizeBilinearOpenCV(src: Uint8Array, sw: number, sh: number, cn: number, dw: number, dh: number): Uint8Array {
  if (src.length !== sw * sh * cn) throw new Yolo4Error(`resizeBilinearOpenCV: ${src.length} values for ${sw}x${sh}x${cn}`);
  const X = coefficients(sw, dw);
  const Y = coefficients(sh, dh);
  const rowLen = dw * cn;
  // Horizontal pass of every source row that the vertical pass reads.
  const needed = new Uint8Array(sh);
  for (let y = 0; y < dh; y++) {
    needed[Y.ofs[y]] = 1;
    needed[Math.min(Y.ofs[y] + 1, sh - 1)] = 1;
  }
  const rows = new Int32Array(sh * rowLen);
  for (let y = 0; y < sh; y++) {
    if (!needed[y]) continue;
    const base = y * sw * cn;
    for (let x = 0; x < dw; x++) {
      const s0 = base + X.ofs[x] * cn;
      const s1 = base + Math.min(X.ofs[x] + 1, sw - 1) * cn;
      const a0 = X.a[2 * x];
      const a1 = X.a[2 * x + 1];
      const o = y * rowLen + x * cn;
      for (let c = 0; c < cn; c++) rows[o + c] = src[s0 + c] * a0 + src[s1 + c] * a1;
    }
  }
  const out = new Uint8Array(dh * rowLen);
  for (let y = 0; y < dh; y++) {
    const r0 = Y.ofs[y] * rowLen;
    const r1 = Math.min(Y.ofs[y] + 1, sh - 1) * rowLen;
    const b0 = Y.a[2 * y];
    const b1 = Y.a[2 * y + 1];
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) {
      const v = ((((rows[r0 + i] >> 4) * b0) >> 16) + (((rows[r1 + i] >> 4) * b1) >> 16) + 2) >> 2;
      out[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}
