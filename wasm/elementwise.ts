// Elementwise kernels over ranges [i0, i1) of n floats, so threads can split them (heap-threads.ts):
// Mish forward and gradient (wasm/mish.ts) and leaky relu.

import { backward, forward } from './mish';

/** y[i] = mish(x[i]) for i in [i0, i1). */
export function mishForward(x: usize, y: usize, i0: i32, i1: i32): void {
  const o = <usize>i0 << 2;
  forward(x + o, y + o, i1 - i0);
}

/** dx[i] = dy[i] mish'(x[i]) for i in [i0, i1). */
export function mishBackward(x: usize, dy: usize, dx: usize, i0: i32, i1: i32): void {
  const o = <usize>i0 << 2;
  backward(x + o, dy + o, dx + o, i1 - i0);
}

/** y[i] = x[i] >= 0 ? x[i] : alpha x[i] for i in [i0, i1). */
export function leakyRelu(x: usize, y: usize, alpha: f32, i0: i32, i1: i32): void {
  const a = f32x4.splat(alpha), zero = f32x4.splat(0);
  let i = <usize>i0 << 2;
  const end = <usize>i1 << 2, vec = i + ((end - i) & ~(<usize>15));
  for (; i < vec; i += 16) {
    const v = v128.load(x + i);
    v128.store(y + i, v128.bitselect(v, f32x4.mul(v, a), f32x4.ge(v, zero)));
  }
  for (; i < end; i += 4) {
    const v = f32.load(x + i);
    f32.store(y + i, v >= 0 ? v : v * alpha);
  }
}
