// Mish forward and its gradient over float32 arrays in place in an imported shared memory (the
// tfjs wasm backend's heap, its threaded build); in src/backend/kernels.wasm via wasm/elementwise.ts.
// No data segment and no globals in memory: each function touches only the ranges it is given.
//
// With e = exp(x) and n = e (e + 2): tanh(softplus(x)) = n / (n + 2), so mish(x) = x n / (n + 2),
// with no cancellation for negative x (n ~ 2e stays relatively exact). The gradient:
//   mish'(x) = t + x s (1 - t^2),  t = n / (n + 2),  s = sigmoid(x) = e / (1 + e),
//   1 - t^2 = (1 - t)(1 + t) = 2 (1 + t) / (n + 2)   (no cancellation as t -> 1).
// exp's argument is clamped to [-87, 20]: above 20, t rounds to 1 and s to 1 in float32; below
// -87, |mish| < 2e-36 and we return -0 (and a gradient of 0). NaN stays NaN.

// exp(x) = 2^k exp(r), k = round(x / ln 2), r = x - k ln 2 (ln 2 split in two), exp(r) by a degree-6
// polynomial on |r| <= ln(2)/2 (relative error ~1e-7). k is rounded by adding 1.5 * 2^23.
// @ts-ignore: decorator
@inline
function exp4(x: v128): v128 {
  const magic = f32x4.splat(12582912.0);
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), magic);
  const k = f32x4.sub(t, magic);
  let r = f32x4.sub(x, f32x4.mul(k, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(k, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const er = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1.0));
  // 2^k from t's low mantissa bits (t = 1.5 * 2^23 + k); k in [-126, 29] after the clamp.
  const two = i32x4.add(i32x4.shl(t, 23), i32x4.splat(127 << 23));
  return f32x4.mul(er, two);
}

// @ts-ignore: decorator
@inline
function clampedExp(x: v128): v128 {
  return exp4(f32x4.pmin(f32x4.pmax(f32x4.splat(-87.0), x), f32x4.splat(20.0)));
}

// @ts-ignore: decorator
@inline
function mish4(x: v128): v128 {
  const e = clampedExp(x);
  const n = f32x4.mul(e, f32x4.add(e, f32x4.splat(2.0)));
  const y = f32x4.mul(x, f32x4.div(n, f32x4.add(n, f32x4.splat(2.0))));
  return v128.bitselect(f32x4.splat(-0.0), y, f32x4.lt(x, f32x4.splat(-87.0)));
}

// @ts-ignore: decorator
@inline
function mishGrad4(x: v128, dy: v128): v128 {
  const one = f32x4.splat(1.0);
  const e = clampedExp(x);
  const n = f32x4.mul(e, f32x4.add(e, f32x4.splat(2.0)));
  const inv = f32x4.div(one, f32x4.add(n, f32x4.splat(2.0)));
  const t = f32x4.mul(n, inv);
  const oneMinusT2 = f32x4.mul(f32x4.mul(f32x4.splat(2.0), inv), f32x4.add(one, t));
  const s = f32x4.div(e, f32x4.add(one, e));
  const g = f32x4.add(t, f32x4.mul(f32x4.mul(x, s), oneMinusT2));
  const d = f32x4.mul(dy, g);
  return v128.bitselect(f32x4.splat(0.0), d, f32x4.lt(x, f32x4.splat(-87.0)));
}

/** y[i] = mish(x[i]), i < n. */
export function forward(x: usize, y: usize, n: i32): void {
  const bytes = <usize>n << 2;
  const vec = bytes & ~(<usize>15);
  for (let i: usize = 0; i < vec; i += 16) v128.store(y + i, mish4(v128.load(x + i)));
  for (let i = vec; i < bytes; i += 4) store<f32>(y + i, f32x4.extract_lane(mish4(f32x4.splat(load<f32>(x + i))), 0));
}

/** dx[i] = dy[i] mish'(x[i]), i < n. */
export function backward(x: usize, dy: usize, dx: usize, n: i32): void {
  const bytes = <usize>n << 2;
  const vec = bytes & ~(<usize>15);
  for (let i: usize = 0; i < vec; i += 16) v128.store(dx + i, mishGrad4(v128.load(x + i), v128.load(dy + i)));
  for (let i = vec; i < bytes; i += 4) {
    store<f32>(dx + i, f32x4.extract_lane(mishGrad4(f32x4.splat(load<f32>(x + i)), f32x4.splat(load<f32>(dy + i))), 0));
  }
}
