// Training-mode batch norm passes over NHWC float32 tensors in place in an imported shared memory
// (the tfjs wasm backend's own heap, its threaded build). AssemblyScript source of
// src/speed/batch-norm-kernel.wasm. No data segment and no globals in memory: every function
// touches only the ranges it is given. Channels innermost, `c` a multiple of 4 (the caller checks).
//
// Sums are taken in float32 over blocks of BLOCK pixels, then added into float64 totals, so a sum
// over ~10^6 values keeps float64-like accuracy at float32 SIMD speed.

const BLOCK: i32 = 128;

// @ts-ignore: decorator
@inline
function flush(block: usize, total: usize, c: i32): void {
  for (let k = 0; k < c; k++) {
    const b = block + (<usize>k << 2);
    const t = total + (<usize>k << 3);
    store<f64>(t, load<f64>(t) + <f64>load<f32>(b));
    store<f32>(b, 0);
  }
}

/** total[k] (float64, zeroed by the caller) = sum over pixels of x[p, k]; block: c float32 scratch. */
export function sum(x: usize, pixels: i32, c: i32, block: usize, total: usize): void {
  memory.fill(block, 0, <usize>c << 2);
  const row = <usize>c << 2;
  for (let p = 0; p < pixels; p++) {
    const src = x + <usize>p * row;
    for (let j: usize = 0; j < row; j += 16) v128.store(block + j, f32x4.add(v128.load(block + j), v128.load(src + j)));
    if ((p + 1) % BLOCK == 0) flush(block, total, c);
  }
  flush(block, total, c);
}

/** total[k] = sum over pixels of (x[p, k] - center[k])^2. */
export function sumSquaredDeviation(x: usize, center: usize, pixels: i32, c: i32, block: usize, total: usize): void {
  memory.fill(block, 0, <usize>c << 2);
  const row = <usize>c << 2;
  for (let p = 0; p < pixels; p++) {
    const src = x + <usize>p * row;
    for (let j: usize = 0; j < row; j += 16) {
      const d = f32x4.sub(v128.load(src + j), v128.load(center + j));
      v128.store(block + j, f32x4.add(v128.load(block + j), f32x4.mul(d, d)));
    }
    if ((p + 1) % BLOCK == 0) flush(block, total, c);
  }
  flush(block, total, c);
}

/** totalDy[k] = sum dy[p, k]; totalDyX[k] = sum dy[p, k] (x[p, k] - center[k]). blocks: 2c float32. */
export function gradientSums(dy: usize, x: usize, center: usize, pixels: i32, c: i32, blocks: usize, totalDy: usize, totalDyX: usize): void {
  const row = <usize>c << 2;
  const block2 = blocks + row;
  memory.fill(blocks, 0, row << 1);
  for (let p = 0; p < pixels; p++) {
    const g = dy + <usize>p * row;
    const src = x + <usize>p * row;
    for (let j: usize = 0; j < row; j += 16) {
      const gv = v128.load(g + j);
      v128.store(blocks + j, f32x4.add(v128.load(blocks + j), gv));
      const d = f32x4.sub(v128.load(src + j), v128.load(center + j));
      v128.store(block2 + j, f32x4.add(v128.load(block2 + j), f32x4.mul(gv, d)));
    }
    if ((p + 1) % BLOCK == 0) {
      flush(blocks, totalDy, c);
      flush(block2, totalDyX, c);
    }
  }
  flush(blocks, totalDy, c);
  flush(block2, totalDyX, c);
}

/** y[p, k] = (x[p, k] - center[k]) * scale[k] + shift[k]. */
export function normalize(x: usize, center: usize, scale: usize, shift: usize, pixels: i32, c: i32, y: usize): void {
  const row = <usize>c << 2;
  for (let p = 0; p < pixels; p++) {
    const src = x + <usize>p * row;
    const dst = y + <usize>p * row;
    for (let j: usize = 0; j < row; j += 16) {
      const d = f32x4.sub(v128.load(src + j), v128.load(center + j));
      v128.store(dst + j, f32x4.add(f32x4.mul(d, v128.load(scale + j)), v128.load(shift + j)));
    }
  }
}

/** dx[p, k] = k1[k] * (dy[p, k] - k2[k] - (x[p, k] - center[k]) * k3[k]). */
export function inputGradient(dy: usize, x: usize, center: usize, k1: usize, k2: usize, k3: usize, pixels: i32, c: i32, dx: usize): void {
  const row = <usize>c << 2;
  for (let p = 0; p < pixels; p++) {
    const g = dy + <usize>p * row;
    const src = x + <usize>p * row;
    const dst = dx + <usize>p * row;
    for (let j: usize = 0; j < row; j += 16) {
      const d = f32x4.sub(v128.load(src + j), v128.load(center + j));
      const inner = f32x4.sub(f32x4.sub(v128.load(g + j), v128.load(k2 + j)), f32x4.mul(d, v128.load(k3 + j)));
      v128.store(dst + j, f32x4.mul(v128.load(k1 + j), inner));
    }
  }
}
