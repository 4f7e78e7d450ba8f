// Convolution as one GEMM over the output pixels, the input read in place (no im2col copy):
//   y[n, oy, ox, :] = act(sum over taps (ky, kx) and channels c of x[n, iy, ix, c] B[(ky, kx, c), :] + bias)
// with iy = oy*stride - padTop + ky, ix = ox*stride - padLeft + kx (taps outside the image read a
// block of zeros). K = kh*kw*C in the filter's own HWIO order, so B is the filter [K][Cout] packed
// [Np/8][K][8] (Cout rounded up to Np, a multiple of 8, zero columns). For each tap, 4 output rows
// at a time read their C input channels as 4 streams. Rows are split into blocks of 32 (a block's
// input stays in cache while every 8-column panel of B passes over it). 1x1 stride-1 convs are the
// case kh = kw = 1.

import { activate, storePartial } from './gemm-tile';

const BLOCK = 32;

/** Packs a filter [K][Cout] (HWIO flattened) into B, rows [k0, k1) of K; columns past Cout are zero. */
export function packFilter(w: usize, B: usize, K: i32, Cout: i32, Np: i32, k0: i32, k1: i32): void {
  for (let k = k0; k < k1; k++) {
    for (let o = 0; o < Np; o++) {
      const v: f32 = o < Cout ? f32.load(w + (<usize>k * <usize>Cout + <usize>o) * 4) : 0;
      f32.store(B + ((<usize>(o >> 3) * <usize>K + <usize>k) * 8 + <usize>(o & 7)) * 4, v);
    }
  }
}

// One row's 8 columns of a panel; the last panel of a Cout that is not a multiple of 8 is partial.
// @ts-ignore: decorator
@inline
function storeRow(y: usize, v0: v128, v1: v128, cols: i32): void {
  storePartial(y, v0, cols);
  if (cols > 4) storePartial(y + 16, v1, cols - 4);
}

// Address of an input pixel of image `img`, or the zero block when (iy, ix) is outside the image.
// @ts-ignore: decorator
@inline
function tap(img: usize, zeros: usize, iy: i32, ix: i32, H: i32, W: i32, rowBytes: usize, pixBytes: usize): usize {
  if (<u32>iy >= <u32>H || <u32>ix >= <u32>W) return zeros;
  return img + <usize>iy * rowBytes + <usize>ix * pixBytes;
}

/**
 * Row blocks [j0, j1) of ceil(N*Ho*Wo / 32). bias (padded to Np) may be 0 for none; zeros is a
 * block of at least C zero floats.
 */
export function directConv(x: usize, B: usize, bias: usize, y: usize, zeros: usize, N: i32, H: i32, W: i32, C: i32, Ho: i32, Wo: i32, Cout: i32, Np: i32,
  kh: i32, kw: i32, stride: i32, padTop: i32, padLeft: i32, act: i32, alpha: f32, j0: i32, j1: i32): void {
  const M = N * Ho * Wo;
  const pixBytes = <usize>C << 2, ldy = <usize>Cout << 2, rowBytes = <usize>W * pixBytes, imgBytes = <usize>H * rowBytes;
  const hw = Ho * Wo;
  const pointwise = kh == 1 && kw == 1 && stride == 1 && padTop == 0 && padLeft == 0 && Ho == H && Wo == W;
  const K = kh * kw * C;
  for (let j = j0; j < j1; j++) {
    const r0 = j * BLOCK, r1 = min(M, r0 + BLOCK);
    for (let p = 0; p < Np; p += 8) {
      const bp = B + <usize>p * <usize>K * 4; // panel p/8: K rows of 8 floats
      const cols = min(Cout - p, 8);
      const bias0 = bias != 0 ? v128.load(bias + (<usize>p << 2)) : f32x4.splat(0);
      const bias1 = bias != 0 ? v128.load(bias + (<usize>p << 2), 16) : f32x4.splat(0);
      for (let r = r0; r < r1; r += 4) {
        const rows = min(r1 - r, 4);
        // rows past the block repeat row r (their results are not stored)
        // each row's first tap (may lie in the padding): its image, row and column. Integer
        // divisions are slow (a 1x1 conv's 4-row tile spent as long on them as on 64 channels), so
        // they are done here once, not per tap, and not at all for 1x1 stride-1 convs, whose rows
        // are consecutive pixels.
        const rb = rows > 1 ? r + 1 : r, rc = rows > 2 ? r + 2 : r, rd = rows > 3 ? r + 3 : r;
        let i0: usize, i1: usize, i2: usize, i3: usize;
        let y0 = 0, y1 = 0, y2 = 0, y3 = 0, x0 = 0, x1 = 0, x2 = 0, x3 = 0;
        if (pointwise) {
          i0 = x + <usize>r * pixBytes; i1 = x + <usize>rb * pixBytes; i2 = x + <usize>rc * pixBytes; i3 = x + <usize>rd * pixBytes;
        } else {
          const q0 = r % hw, q1 = rb % hw, q2 = rc % hw, q3 = rd % hw;
          y0 = (q0 / Wo) * stride - padTop; y1 = (q1 / Wo) * stride - padTop; y2 = (q2 / Wo) * stride - padTop; y3 = (q3 / Wo) * stride - padTop;
          x0 = (q0 % Wo) * stride - padLeft; x1 = (q1 % Wo) * stride - padLeft; x2 = (q2 % Wo) * stride - padLeft; x3 = (q3 % Wo) * stride - padLeft;
          i0 = x + <usize>(r / hw) * imgBytes; i1 = x + <usize>(rb / hw) * imgBytes;
          i2 = x + <usize>(rc / hw) * imgBytes; i3 = x + <usize>(rd / hw) * imgBytes;
        }
        let b = bp;
        let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            let a0 = tap(i0, zeros, y0 + ky, x0 + kx, H, W, rowBytes, pixBytes);
            let a1 = tap(i1, zeros, y1 + ky, x1 + kx, H, W, rowBytes, pixBytes);
            let a2 = tap(i2, zeros, y2 + ky, x2 + kx, H, W, rowBytes, pixBytes);
            let a3 = tap(i3, zeros, y3 + ky, x3 + kx, H, W, rowBytes, pixBytes);
            for (let c = 0; c < C; c++) {
              const b0 = v128.load(b), b1 = v128.load(b, 16);
              let s = v128.load32_splat(a0);
              c00 = f32x4.add(c00, f32x4.mul(s, b0)); c01 = f32x4.add(c01, f32x4.mul(s, b1));
              s = v128.load32_splat(a1);
              c10 = f32x4.add(c10, f32x4.mul(s, b0)); c11 = f32x4.add(c11, f32x4.mul(s, b1));
              s = v128.load32_splat(a2);
              c20 = f32x4.add(c20, f32x4.mul(s, b0)); c21 = f32x4.add(c21, f32x4.mul(s, b1));
              s = v128.load32_splat(a3);
              c30 = f32x4.add(c30, f32x4.mul(s, b0)); c31 = f32x4.add(c31, f32x4.mul(s, b1));
              a0 += 4; a1 += 4; a2 += 4; a3 += 4;
              b += 32;
            }
          }
        }
        const yr = y + <usize>r * ldy + (<usize>p << 2);
        storeRow(yr, activate(f32x4.add(c00, bias0), act, alpha), activate(f32x4.add(c01, bias1), act, alpha), cols);
        if (rows > 1) storeRow(yr + ldy, activate(f32x4.add(c10, bias0), act, alpha), activate(f32x4.add(c11, bias1), act, alpha), cols);
        if (rows > 2) storeRow(yr + 2 * ldy, activate(f32x4.add(c20, bias0), act, alpha), activate(f32x4.add(c21, bias1), act, alpha), cols);
        if (rows > 3) storeRow(yr + 3 * ldy, activate(f32x4.add(c30, bias0), act, alpha), activate(f32x4.add(c31, bias1), act, alpha), cols);
      }
    }
  }
}
