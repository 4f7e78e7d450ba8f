// The register tiles of our GEMMs (wasm/winograd.ts, wasm/direct-conv.ts): plain SIMD multiply and
// add (the tfjs build has no fused multiply-add; relaxed SIMD is behind a flag in Node 20).
// 8 accumulators: on V8 x64 a 4x8 tile ran at 46 GFLOP/s on one core where a 6x8 tile (12
// accumulators, register spills) ran at 26.

// M[4 rows][8 columns] = A (packed [K][4]) * B (packed [K][8]).
// @ts-ignore: decorator
@inline
export function kernel4x8(a: usize, b: usize, m: usize, ldm: usize, K: i32): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let s = v128.load32_splat(a);
    c00 = f32x4.add(c00, f32x4.mul(s, b0)); c01 = f32x4.add(c01, f32x4.mul(s, b1));
    s = v128.load32_splat(a, 4);
    c10 = f32x4.add(c10, f32x4.mul(s, b0)); c11 = f32x4.add(c11, f32x4.mul(s, b1));
    s = v128.load32_splat(a, 8);
    c20 = f32x4.add(c20, f32x4.mul(s, b0)); c21 = f32x4.add(c21, f32x4.mul(s, b1));
    s = v128.load32_splat(a, 12);
    c30 = f32x4.add(c30, f32x4.mul(s, b0)); c31 = f32x4.add(c31, f32x4.mul(s, b1));
    a += 16;
    b += 32;
  }
  v128.store(m, c00); v128.store(m, c01, 16); m += ldm;
  v128.store(m, c10); v128.store(m, c11, 16); m += ldm;
  v128.store(m, c20); v128.store(m, c21, 16); m += ldm;
  v128.store(m, c30); v128.store(m, c31, 16);
}


// The epilogue's activation: 0 linear, 1 relu, 2 leaky relu with slope alpha.
// @ts-ignore: decorator
@inline
export function activate(v: v128, act: i32, alpha: f32): v128 {
  if (act == 1) return f32x4.max(v, f32x4.splat(0));
  if (act == 2) return v128.bitselect(v, f32x4.mul(v, f32x4.splat(alpha)), f32x4.ge(v, f32x4.splat(0)));
  return v;
}


// The first `lanes` (1-4) floats of v to y: the last vector of a row whose length is not a
// multiple of 4 must not write past it.
// @ts-ignore: decorator
@inline
export function storePartial(y: usize, v: v128, lanes: i32): void {
  if (lanes >= 4) { v128.store(y, v); return; }
  f32.store(y, f32x4.extract_lane(v, 0));
  if (lanes > 1) f32.store(y, f32x4.extract_lane(v, 1), 4);
  if (lanes > 2) f32.store(y, f32x4.extract_lane(v, 2), 8);
}
