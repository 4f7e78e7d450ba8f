// 3x3 stride-1 convolution by Winograd F(2x2, 3x3) over float32 in an imported shared memory (the
// tfjs wasm backend's heap, its threaded build). AssemblyScript source of
// src/backend/kernels.wasm (entry wasm/kernels.ts). Each output 2x2 tile comes from a 4x4 input tile:
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A
// so the 9 x 4 multiply-adds of a tile and channel pair become 16, done as 16 GEMMs over channels.
// Every function takes a [begin, end) range of its outer loop, so threads can split the work.
//
// Layouts (float32; pointers are byte offsets into the memory):
//   x  input  [N][H][W][C] (NHWC), zero padding of 1 on each side implied ('same')
//   V  transformed input, packed for the GEMM: [16][Tp/4][Kp][4]   tile t = (n, ty, tx) row-major,
//      T = N*ceil(H/2)*ceil(W/2) tiles rounded up to Tp (multiple of 4), C rounded up to Kp (of 4)
//   U  transformed filter, packed: [16][Np/8][Kp][8], Cout rounded up to Np (of 8), zero padded
//   M  GEMM product [16][Tp][Np]
//   y  output [N][H][W][Cout], bias added, then activation 0 linear, 1 relu, 2 leaky relu (alpha)
// No data segment and no globals in memory: each function touches only the ranges it is given.

import { activate, kernel4x8, storePartial } from './gemm-tile';

// One tile's 16 values for up to 4 consecutive channels (lanes) to the packed V: consecutive k are
// 4 floats (16 bytes) apart in a block.
// @ts-ignore: decorator
@inline
function storeLanes(v: usize, q: v128, lanes: i32): void {
  f32.store(v, f32x4.extract_lane(q, 0));
  if (lanes > 1) f32.store(v, f32x4.extract_lane(q, 1), 16);
  if (lanes > 2) f32.store(v, f32x4.extract_lane(q, 2), 32);
  if (lanes > 3) f32.store(v, f32x4.extract_lane(q, 3), 48);
}
// @ts-ignore: decorator
@inline
function loadTap(x: usize, yy: i32, xx: i32, H: i32, W: i32, rowBytes: usize, pixBytes: usize): v128 {
  if (<u32>yy >= <u32>H || <u32>xx >= <u32>W) return f32x4.splat(0);
  return v128.load(x + <usize>yy * rowBytes + <usize>xx * pixBytes);
}

// The first `lanes` (< 4) channels of a tap, the rest zero.
function loadTail(x: usize, yy: i32, xx: i32, H: i32, W: i32, rowBytes: usize, pixBytes: usize, lanes: i32): v128 {
  let q = f32x4.splat(0);
  if (<u32>yy >= <u32>H || <u32>xx >= <u32>W) return q;
  const p = x + <usize>yy * rowBytes + <usize>xx * pixBytes;
  q = f32x4.replace_lane(q, 0, f32.load(p));
  if (lanes > 1) q = f32x4.replace_lane(q, 1, f32.load(p, 4));
  if (lanes > 2) q = f32x4.replace_lane(q, 2, f32.load(p, 8));
  return q;
}

/** Input transform of tiles [t0, t1) of [0, Tp); rows t >= T (padding) are written as zeros. */
export function inputTransform(x: usize, V: usize, N: i32, H: i32, W: i32, C: i32, Kp: i32, Tp: i32, t0: i32, t1: i32): void {
  const th = (H + 1) >> 1, tw = (W + 1) >> 1, T = N * th * tw;
  const pixBytes = <usize>C << 2, rowBytes = <usize>W * pixBytes, imgBytes = <usize>H * rowBytes;
  const plane = <usize>Tp * <usize>Kp * 4; // bytes of one of the 16 planes
  for (let t = t0; t < t1; t++) {
    const base = V + <usize>(t >> 2) * <usize>Kp * 16 + <usize>(t & 3) * 4;
    if (t >= T) {
      for (let k = 0; k < Kp; k++) for (let e = 0; e < 16; e++) f32.store(base + <usize>e * plane + <usize>k * 16, 0);
      continue;
    }
    const n = t / (th * tw), r = t % (th * tw), ty = r / tw, tx = r % tw;
    const y0 = 2 * ty - 1, x0 = 2 * tx - 1;
    const img = x + <usize>n * imgBytes;
    for (let c = 0; c < C; c += 4) {
      const lanes = min(C - c, 4);
      const p = img + (<usize>c << 2);
      let a0: v128, a1: v128, a2: v128, a3: v128, b0: v128, b1: v128, b2: v128, b3: v128;
      let c0: v128, c1: v128, c2: v128, c3: v128, d0: v128, d1: v128, d2: v128, d3: v128;
      if (lanes == 4) {
        a0 = loadTap(p, y0, x0, H, W, rowBytes, pixBytes); a1 = loadTap(p, y0, x0 + 1, H, W, rowBytes, pixBytes);
        a2 = loadTap(p, y0, x0 + 2, H, W, rowBytes, pixBytes); a3 = loadTap(p, y0, x0 + 3, H, W, rowBytes, pixBytes);
        b0 = loadTap(p, y0 + 1, x0, H, W, rowBytes, pixBytes); b1 = loadTap(p, y0 + 1, x0 + 1, H, W, rowBytes, pixBytes);
        b2 = loadTap(p, y0 + 1, x0 + 2, H, W, rowBytes, pixBytes); b3 = loadTap(p, y0 + 1, x0 + 3, H, W, rowBytes, pixBytes);
        c0 = loadTap(p, y0 + 2, x0, H, W, rowBytes, pixBytes); c1 = loadTap(p, y0 + 2, x0 + 1, H, W, rowBytes, pixBytes);
        c2 = loadTap(p, y0 + 2, x0 + 2, H, W, rowBytes, pixBytes); c3 = loadTap(p, y0 + 2, x0 + 3, H, W, rowBytes, pixBytes);
        d0 = loadTap(p, y0 + 3, x0, H, W, rowBytes, pixBytes); d1 = loadTap(p, y0 + 3, x0 + 1, H, W, rowBytes, pixBytes);
        d2 = loadTap(p, y0 + 3, x0 + 2, H, W, rowBytes, pixBytes); d3 = loadTap(p, y0 + 3, x0 + 3, H, W, rowBytes, pixBytes);
      } else {
        // the last channels when C is not a multiple of 4: never read past the pixel
        a0 = loadTail(p, y0, x0, H, W, rowBytes, pixBytes, lanes); a1 = loadTail(p, y0, x0 + 1, H, W, rowBytes, pixBytes, lanes);
        a2 = loadTail(p, y0, x0 + 2, H, W, rowBytes, pixBytes, lanes); a3 = loadTail(p, y0, x0 + 3, H, W, rowBytes, pixBytes, lanes);
        b0 = loadTail(p, y0 + 1, x0, H, W, rowBytes, pixBytes, lanes); b1 = loadTail(p, y0 + 1, x0 + 1, H, W, rowBytes, pixBytes, lanes);
        b2 = loadTail(p, y0 + 1, x0 + 2, H, W, rowBytes, pixBytes, lanes); b3 = loadTail(p, y0 + 1, x0 + 3, H, W, rowBytes, pixBytes, lanes);
        c0 = loadTail(p, y0 + 2, x0, H, W, rowBytes, pixBytes, lanes); c1 = loadTail(p, y0 + 2, x0 + 1, H, W, rowBytes, pixBytes, lanes);
        c2 = loadTail(p, y0 + 2, x0 + 2, H, W, rowBytes, pixBytes, lanes); c3 = loadTail(p, y0 + 2, x0 + 3, H, W, rowBytes, pixBytes, lanes);
        d0 = loadTail(p, y0 + 3, x0, H, W, rowBytes, pixBytes, lanes); d1 = loadTail(p, y0 + 3, x0 + 1, H, W, rowBytes, pixBytes, lanes);
        d2 = loadTail(p, y0 + 3, x0 + 2, H, W, rowBytes, pixBytes, lanes); d3 = loadTail(p, y0 + 3, x0 + 3, H, W, rowBytes, pixBytes, lanes);
      }
      // rows of B^T d: r0 = d0 - d2, r1 = d1 + d2, r2 = d2 - d1, r3 = d1 - d3 (d_i = input row i)
      const r00 = f32x4.sub(a0, c0), r01 = f32x4.sub(a1, c1), r02 = f32x4.sub(a2, c2), r03 = f32x4.sub(a3, c3);
      const r10 = f32x4.add(b0, c0), r11 = f32x4.add(b1, c1), r12 = f32x4.add(b2, c2), r13 = f32x4.add(b3, c3);
      const r20 = f32x4.sub(c0, b0), r21 = f32x4.sub(c1, b1), r22 = f32x4.sub(c2, b2), r23 = f32x4.sub(c3, b3);
      const r30 = f32x4.sub(b0, d0), r31 = f32x4.sub(b1, d1), r32 = f32x4.sub(b2, d2), r33 = f32x4.sub(b3, d3);
      const o = base + <usize>c * 16;
      // then the columns the same way: v0 = r0 - r2, v1 = r1 + r2, v2 = r2 - r1, v3 = r1 - r3
      storeLanes(o, f32x4.sub(r00, r02), lanes); storeLanes(o + plane, f32x4.add(r01, r02), lanes);
      storeLanes(o + 2 * plane, f32x4.sub(r02, r01), lanes); storeLanes(o + 3 * plane, f32x4.sub(r01, r03), lanes);
      storeLanes(o + 4 * plane, f32x4.sub(r10, r12), lanes); storeLanes(o + 5 * plane, f32x4.add(r11, r12), lanes);
      storeLanes(o + 6 * plane, f32x4.sub(r12, r11), lanes); storeLanes(o + 7 * plane, f32x4.sub(r11, r13), lanes);
      storeLanes(o + 8 * plane, f32x4.sub(r20, r22), lanes); storeLanes(o + 9 * plane, f32x4.add(r21, r22), lanes);
      storeLanes(o + 10 * plane, f32x4.sub(r22, r21), lanes); storeLanes(o + 11 * plane, f32x4.sub(r21, r23), lanes);
      storeLanes(o + 12 * plane, f32x4.sub(r30, r32), lanes); storeLanes(o + 13 * plane, f32x4.add(r31, r32), lanes);
      storeLanes(o + 14 * plane, f32x4.sub(r32, r31), lanes); storeLanes(o + 15 * plane, f32x4.sub(r31, r33), lanes);
    }
    // channels C..Kp-1 are padding: zeros, so the GEMM adds nothing for them
    for (let c = C; c < Kp; c++) for (let e = 0; e < 16; e++) f32.store(base + <usize>e * plane + <usize>c * 16, 0);
  }
}

/**
 * Filter transform G g G^T of input channels [c0, c1) of [0, Kp) into the packed U; w is HWIO
 * [3][3][C][Cout]. Padding channels (c >= C, o >= Cout) are written as zeros.
 */
export function filterTransform(w: usize, U: usize, C: i32, Cout: i32, Kp: i32, Np: i32, c0: i32, c1: i32): void {
  const plane = <usize>Kp * <usize>Np * 4; // bytes of one of the 16 planes
  const tap = <usize>C * <usize>Cout * 4; // bytes between the 9 taps of w
  for (let c = c0; c < c1; c++) {
    for (let o = 0; o < Np; o++) {
      const u = U + (<usize>(o >> 3) * <usize>Kp * 8 + <usize>c * 8 + <usize>(o & 7)) * 4;
      if (c >= C || o >= Cout) {
        for (let e = 0; e < 16; e++) f32.store(u + <usize>e * plane, 0);
        continue;
      }
      const g = w + (<usize>c * <usize>Cout + <usize>o) * 4;
      const g0 = f32.load(g), g1 = f32.load(g + tap), g2 = f32.load(g + 2 * tap);
      const g3 = f32.load(g + 3 * tap), g4 = f32.load(g + 4 * tap), g5 = f32.load(g + 5 * tap);
      const g6 = f32.load(g + 6 * tap), g7 = f32.load(g + 7 * tap), g8 = f32.load(g + 8 * tap);
      // rows of G g: g_r0, (g_r0 + g_r1 + g_r2) / 2, (g_r0 - g_r1 + g_r2) / 2, g_r2
      const s0 = g0, s1 = g1, s2 = g2;
      const p0 = (g0 + g3 + g6) * 0.5, p1 = (g1 + g4 + g7) * 0.5, p2 = (g2 + g5 + g8) * 0.5;
      const m0 = (g0 - g3 + g6) * 0.5, m1 = (g1 - g4 + g7) * 0.5, m2 = (g2 - g5 + g8) * 0.5;
      const e0 = g6, e1 = g7, e2 = g8;
      // then each row (a, b, c) -> (a, (a + b + c) / 2, (a - b + c) / 2, c)
      f32.store(u, s0); f32.store(u + plane, (s0 + s1 + s2) * 0.5); f32.store(u + 2 * plane, (s0 - s1 + s2) * 0.5); f32.store(u + 3 * plane, s2);
      f32.store(u + 4 * plane, p0); f32.store(u + 5 * plane, (p0 + p1 + p2) * 0.5); f32.store(u + 6 * plane, (p0 - p1 + p2) * 0.5); f32.store(u + 7 * plane, p2);
      f32.store(u + 8 * plane, m0); f32.store(u + 9 * plane, (m0 + m1 + m2) * 0.5); f32.store(u + 10 * plane, (m0 - m1 + m2) * 0.5); f32.store(u + 11 * plane, m2);
      f32.store(u + 12 * plane, e0); f32.store(u + 13 * plane, (e0 + e1 + e2) * 0.5); f32.store(u + 14 * plane, (e0 - e1 + e2) * 0.5); f32.store(u + 15 * plane, e2);
    }
  }
}

/** The 16 GEMMs M[e] = V[e] U[e], as (plane, 8-column panel) jobs [j0, j1) of 16 * Np / 8. */
export function gemm(V: usize, U: usize, M: usize, Tp: i32, Kp: i32, Np: i32, j0: i32, j1: i32): void {
  const panels = Np >> 3;
  const ldm = <usize>Np << 2;
  for (let j = j0; j < j1; j++) {
    const e = j / panels, p = j % panels;
    const a0 = V + <usize>e * <usize>Tp * <usize>Kp * 4;
    const b = U + (<usize>e * <usize>Np + (<usize>p << 3)) * <usize>Kp * 4;
    const m0 = M + <usize>e * <usize>Tp * ldm + (<usize>p << 5);
    for (let r = 0; r < Tp; r += 4) kernel4x8(a0 + <usize>r * <usize>Kp * 4, b, m0 + <usize>r * ldm, ldm, Kp);
  }
}

/**
 * Output transform A^T m A of tiles [t0, t1) of [0, T) into y, plus bias (0 = none), then the
 * activation. Output pixels past H or W (odd sizes) are not written.
 */
export function outputTransform(M: usize, bias: usize, y: usize, N: i32, H: i32, W: i32, Cout: i32, Np: i32, Tp: i32, act: i32, alpha: f32, t0: i32, t1: i32): void {
  const th = (H + 1) >> 1, tw = (W + 1) >> 1;
  const plane = <usize>Tp * <usize>Np * 4;
  const pixBytes = <usize>Cout << 2, rowBytes = <usize>W * pixBytes;
  for (let t = t0; t < t1; t++) {
    const n = t / (th * tw), r = t % (th * tw), ty = r / tw, tx = r % tw;
    const oy = 2 * ty, ox = 2 * tx;
    const right = ox + 1 < W, down = oy + 1 < H;
    const yp = y + <usize>n * <usize>H * rowBytes + <usize>oy * rowBytes + <usize>ox * pixBytes;
    const mp = M + <usize>t * <usize>Np * 4;
    for (let o = 0; o < Cout; o += 4) {
      const lanes = min(Cout - o, 4);
      const q = mp + (<usize>o << 2);
      const m0 = v128.load(q), m1 = v128.load(q + plane), m2 = v128.load(q + 2 * plane), m3 = v128.load(q + 3 * plane);
      const m4 = v128.load(q + 4 * plane), m5 = v128.load(q + 5 * plane), m6 = v128.load(q + 6 * plane), m7 = v128.load(q + 7 * plane);
      const m8 = v128.load(q + 8 * plane), m9 = v128.load(q + 9 * plane), m10 = v128.load(q + 10 * plane), m11 = v128.load(q + 11 * plane);
      const m12 = v128.load(q + 12 * plane), m13 = v128.load(q + 13 * plane), m14 = v128.load(q + 14 * plane), m15 = v128.load(q + 15 * plane);
      // rows of A^T m: s0 = m_r0 + m_r1 + m_r2, s1 = m_r1 - m_r2 - m_r3
      const s00 = f32x4.add(f32x4.add(m0, m4), m8), s01 = f32x4.add(f32x4.add(m1, m5), m9);
      const s02 = f32x4.add(f32x4.add(m2, m6), m10), s03 = f32x4.add(f32x4.add(m3, m7), m11);
      const s10 = f32x4.sub(f32x4.sub(m4, m8), m12), s11 = f32x4.sub(f32x4.sub(m5, m9), m13);
      const s12 = f32x4.sub(f32x4.sub(m6, m10), m14), s13 = f32x4.sub(f32x4.sub(m7, m11), m15);
      const bv = bias != 0 ? v128.load(bias + (<usize>o << 2)) : f32x4.splat(0); // bias is padded to Np
      const yo = yp + (<usize>o << 2);
      storePartial(yo, activate(f32x4.add(f32x4.add(f32x4.add(s00, s01), s02), bv), act, alpha), lanes);
      if (right) storePartial(yo + pixBytes, activate(f32x4.add(f32x4.sub(f32x4.sub(s01, s02), s03), bv), act, alpha), lanes);
      if (down) {
        storePartial(yo + rowBytes, activate(f32x4.add(f32x4.add(f32x4.add(s10, s11), s12), bv), act, alpha), lanes);
        if (right) storePartial(yo + rowBytes + pixBytes, activate(f32x4.add(f32x4.sub(f32x4.sub(s11, s12), s13), bv), act, alpha), lanes);
      }
    }
  }
}
