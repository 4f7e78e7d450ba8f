// Peak float32 throughput of one core in WebAssembly SIMD (128-bit): 12 independent accumulators,
// mul + add (what tfjs-backend-wasm's XNNPACK build uses) or relaxed-SIMD fused multiply-add.
// Built with: asc peak.as.ts -O3 --runtime stub --enable simd --enable relaxed-simd -o peak.wasm
export function mulAdd(iters: i32): f32 {
  let a0 = f32x4.splat(0.0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  let x = f32x4.splat(1.0000001);
  const y = f32x4.splat(0.9999999), step = f32x4.splat(1e-9);
  for (let i = 0; i < iters; i++) {
    x = f32x4.add(x, step); // so the products are not loop-invariant
    a0 = f32x4.add(a0, f32x4.mul(x, y)); a1 = f32x4.add(a1, f32x4.mul(y, x));
    a2 = f32x4.add(a2, f32x4.mul(x, y)); a3 = f32x4.add(a3, f32x4.mul(y, x));
    a4 = f32x4.add(a4, f32x4.mul(x, y)); a5 = f32x4.add(a5, f32x4.mul(y, x));
    a6 = f32x4.add(a6, f32x4.mul(x, y)); a7 = f32x4.add(a7, f32x4.mul(y, x));
    a8 = f32x4.add(a8, f32x4.mul(x, y)); a9 = f32x4.add(a9, f32x4.mul(y, x));
    a10 = f32x4.add(a10, f32x4.mul(x, y)); a11 = f32x4.add(a11, f32x4.mul(y, x));
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)), f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11))));
  return f32x4.extract_lane(s, 0);
}
export function madd(iters: i32): f32 {
  let a0 = f32x4.splat(0.0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  const x = f32x4.splat(1.0000001), y = f32x4.splat(0.9999999);
  for (let i = 0; i < iters; i++) {
    a0 = f32x4.relaxed_madd(x, y, a0); a1 = f32x4.relaxed_madd(y, x, a1);
    a2 = f32x4.relaxed_madd(x, y, a2); a3 = f32x4.relaxed_madd(y, x, a3);
    a4 = f32x4.relaxed_madd(x, y, a4); a5 = f32x4.relaxed_madd(y, x, a5);
    a6 = f32x4.relaxed_madd(x, y, a6); a7 = f32x4.relaxed_madd(y, x, a7);
    a8 = f32x4.relaxed_madd(x, y, a8); a9 = f32x4.relaxed_madd(y, x, a9);
    a10 = f32x4.relaxed_madd(x, y, a10); a11 = f32x4.relaxed_madd(y, x, a11);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)), f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11))));
  return f32x4.extract_lane(s, 0);
}
