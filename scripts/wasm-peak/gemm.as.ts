// A plain 6x8 register-tile GEMM with relaxed-SIMD fused multiply-add, no cache blocking: what a
// first custom kernel reaches. Built with: asc gemm.as.ts -O3 --runtime stub --enable simd
//   --enable relaxed-simd --noAssert --initialMemory 2000 -o gemm.wasm
// C[M,N] = A[M,K] * Bp (B packed in panels of 8 columns: [N/8][K][8]); M multiple of 6 for the test
@inline function kernel6x8(a: usize, lda: usize, b: usize, c: usize, ldc: usize, K: i32): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
  for (let k = 0; k < K; k++) {
    const o = <usize>k << 2;
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    b += 32;
    let s = v128.load32_splat(a + o); c00 = f32x4.relaxed_madd(s, b0, c00); c01 = f32x4.relaxed_madd(s, b1, c01);
    s = v128.load32_splat(a1 + o); c10 = f32x4.relaxed_madd(s, b0, c10); c11 = f32x4.relaxed_madd(s, b1, c11);
    s = v128.load32_splat(a2 + o); c20 = f32x4.relaxed_madd(s, b0, c20); c21 = f32x4.relaxed_madd(s, b1, c21);
    s = v128.load32_splat(a3 + o); c30 = f32x4.relaxed_madd(s, b0, c30); c31 = f32x4.relaxed_madd(s, b1, c31);
    s = v128.load32_splat(a4 + o); c40 = f32x4.relaxed_madd(s, b0, c40); c41 = f32x4.relaxed_madd(s, b1, c41);
    s = v128.load32_splat(a5 + o); c50 = f32x4.relaxed_madd(s, b0, c50); c51 = f32x4.relaxed_madd(s, b1, c51);
  }
  v128.store(c, c00); v128.store(c, c01, 16); c += ldc;
  v128.store(c, c10); v128.store(c, c11, 16); c += ldc;
  v128.store(c, c20); v128.store(c, c21, 16); c += ldc;
  v128.store(c, c30); v128.store(c, c31, 16); c += ldc;
  v128.store(c, c40); v128.store(c, c41, 16); c += ldc;
  v128.store(c, c50); v128.store(c, c51, 16);
}
export function gemm(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32): void {
  const lda = <usize>K << 2, ldc = <usize>N << 2;
  for (let p = 0; p < N; p += 8) {
    const bp = b + <usize>p * <usize>K * 4;
    for (let m = 0; m < M; m += 6) {
      kernel6x8(a + <usize>m * lda, lda, bp, c + <usize>m * ldc + (<usize>p << 2), ldc, K);
    }
  }
}
