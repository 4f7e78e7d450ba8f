import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { boxIou, ciou, diou, giou, iou, stopGradient } from '../src/train/ciou.ts';

const close = (a: number, b: number, tol = 1e-5, msg = '') =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${msg} ${a} vs ${b}`);

function all4(a: number[], b: number[]): { iou: number; giou: number; diou: number; ciou: number } {
  return tf.tidy(() => {
    const A = tf.tensor1d(a);
    const B = tf.tensor1d(b);
    return {
      iou: iou(A, B).dataSync()[0],
      giou: giou(A, B).dataSync()[0],
      diou: diou(A, B).dataSync()[0],
      ciou: ciou(A, B).dataSync()[0],
    };
  });
}

const V = (w1: number, h1: number, w2: number, h2: number) => (4 / Math.PI ** 2) * (Math.atan(w1 / h1) - Math.atan(w2 / h2)) ** 2;

test('identical boxes: IoU = GIoU = DIoU = CIoU = 1 (rho = 0, v = 0)', () => {
  const r = all4([0.5, 0.5, 0.2, 0.4], [0.5, 0.5, 0.2, 0.4]);
  for (const [k, v] of Object.entries(r)) close(v, 1, 1e-6, k);
});

test('disjoint boxes, same aspect: IoU 0, DIoU = CIoU = -rho²/c² by hand', () => {
  // A = (1,1,2,2) spans [0,2]x[0,2]; B = (5,4,2,2) spans [4,6]x[3,5].
  // rho² = (5-1)² + (4-1)² = 25; enclosing box [0,6]x[0,5]: c² = 36 + 25 = 61; v = 0 (both square).
  // GIoU: enclosing area 30, union 8 -> 0 - 22/30.
  const r = all4([1, 1, 2, 2], [5, 4, 2, 2]);
  close(r.iou, 0);
  close(r.giou, -22 / 30);
  close(r.diou, -25 / 61);
  close(r.ciou, -25 / 61);
});

test('disjoint boxes, different aspect: IoU 0 so alpha = v / (1 + v)', () => {
  // A = (1,1,2,2) [0,2]x[0,2]; B = (5,4,4,2) [3,7]x[3,5]. rho² = 25; enclosing [0,7]x[0,5]: c² = 49 + 25 = 74.
  // v = 4/pi² (atan(1) - atan(2))² = 0.405285 * (0.785398 - 1.107149)² = 0.041956; alpha = v / (1 - 0 + v); CIoU = -25/74 - v²/(1+v).
  const v = V(2, 2, 4, 2);
  close(v, 0.041956, 1e-5);
  const r = all4([1, 1, 2, 2], [5, 4, 4, 2]);
  close(r.iou, 0);
  close(r.giou, 0 - (35 - 12) / 35);
  close(r.diou, -25 / 74);
  close(r.ciou, -25 / 74 - (v / (1 + v)) * v);
});

test('nested boxes with the same centre: IoU = area ratio, v from the aspect difference', () => {
  // A = (0,0,4,4) contains B = (0,0,2,1): IoU = 2/16 = 0.125; rho = 0; enclosing = A so GIoU = IoU.
  // v = 4/pi² (atan(1) - atan(2))²; alpha = v / (1 - 0.125 + v).
  const v = V(4, 4, 2, 1);
  const alpha = v / (1 - 0.125 + v);
  const r = all4([0, 0, 4, 4], [0, 0, 2, 1]);
  close(r.iou, 0.125);
  close(r.giou, 0.125);
  close(r.diou, 0.125);
  close(r.ciou, 0.125 - alpha * v);
});

test('same centre, same area, different aspect: v > 0 and alpha by hand', () => {
  // A = (3,3,2,2), B = (3,3,4,1): intersection 2 x 1 = 2, union 4 + 4 - 2 = 6, IoU = 1/3.
  // v = 4/pi² (pi/4 - atan 4)² = 0.405285 * (0.785398 - 1.325818)² = 0.405285 * 0.292053 = 0.118365
  // alpha = 0.118365 / (1 - 1/3 + 0.118365) = 0.150777; CIoU = 1/3 - 0.150777 * 0.118365 = 0.315487
  const v = V(2, 2, 4, 1);
  close(v, 0.118365, 1e-5);
  const alpha = v / (2 / 3 + v);
  close(alpha, 0.150777, 1e-5);
  const r = all4([3, 3, 2, 2], [3, 3, 4, 1]);
  close(r.iou, 1 / 3);
  close(r.diou, 1 / 3);
  close(r.ciou, 0.315487, 1e-5);
  close(r.ciou, 1 / 3 - alpha * v);
});

test('partial overlap: IoU and GIoU by hand; argument order does not matter', () => {
  // A = (1,1,2,2) [0,2]x[0,2]; B = (2,2,2,2) [1,3]x[1,3]: inter 1, union 7, enclosing [0,3]² area 9.
  // rho² = 2, c² = 18 -> DIoU = 1/7 - 1/9.
  const r = all4([1, 1, 2, 2], [2, 2, 2, 2]);
  close(r.iou, 1 / 7);
  close(r.giou, 1 / 7 - 2 / 9);
  close(r.diou, 1 / 7 - 1 / 9);
  close(r.ciou, 1 / 7 - 1 / 9);
  const s = all4([2, 2, 2, 2], [1, 1, 2, 2]);
  close(s.ciou, r.ciou);
});

test('broadcasting [N,1,4] x [1,M,4] gives [N,M]', () => {
  const out = tf.tidy(() => {
    const a = tf.tensor3d([[[1, 1, 2, 2]], [[5, 4, 2, 2]]]); // [2,1,4]
    const b = tf.tensor3d([[[1, 1, 2, 2], [2, 2, 2, 2], [5, 4, 2, 2]]]); // [1,3,4]
    const r = boxIou(a, b, 'iou');
    return { shape: r.shape, v: Array.from(r.dataSync()) };
  });
  assert.equal(out.shape, [2, 3]);
  [1, 1 / 7, 0, 0, 0, 1].forEach((e, i) => close(out.v[i], e));
});

test('zero-size boxes stay finite (eps guards)', () => {
  const r = all4([0, 0, 0, 0], [0, 0, 0, 0]);
  for (const [k, v] of Object.entries(r)) assert.ok(Number.isFinite(v), k);
});

test('CIoU gradient: finite differences match with alpha live; detached alpha drops only its term', () => {
  const a0 = [0.3, 0.4, 0.5, 0.9];
  const b = [0.35, 0.45, 0.8, 0.6];
  const f = (a: number[], detachAlpha: boolean) => tf.tidy(() => ciou(tf.tensor1d(a), tf.tensor1d(b), { detachAlpha }).dataSync()[0]);
  const gradOf = (detachAlpha: boolean) => tf.tidy(() =>
    Array.from(tf.grad((x: tf.Tensor) => ciou(x, tf.tensor1d(b), { detachAlpha }))(tf.tensor1d(a0)).dataSync()));
  const live = gradOf(false);
  const det = gradOf(true);
  const h = 1e-2; // float32: a large step, central differences are O(h²)
  for (let i = 0; i < 4; i++) {
    const ap = [...a0]; ap[i] += h;
    const am = [...a0]; am[i] -= h;
    const fd = (f(ap, false) - f(am, false)) / (2 * h);
    close(live[i], fd, 2e-3, `d/da[${i}]`);
  }
  // Detached alpha: d(CIoU)/dx = d(DIoU)/dx - alpha * dv/dx, computed here by hand with finite differences of v.
  const iouV = tf.tidy(() => iou(tf.tensor1d(a0), tf.tensor1d(b)).dataSync()[0]);
  const v0 = V(a0[2], a0[3], b[2], b[3]);
  const alpha = v0 / (1 - iouV + v0);
  for (let i = 0; i < 4; i++) {
    const ap = [...a0]; ap[i] += h;
    const am = [...a0]; am[i] -= h;
    const dDiou = tf.tidy(() => (diou(tf.tensor1d(ap), tf.tensor1d(b)).dataSync()[0] - diou(tf.tensor1d(am), tf.tensor1d(b)).dataSync()[0]) / (2 * h));
    const dv = (V(ap[2], ap[3], b[2], b[3]) - V(am[2], am[3], b[2], b[3])) / (2 * h);
    close(det[i], dDiou - alpha * dv, 2e-3, `detached d/da[${i}]`);
  }
  assert.ok(Math.abs(live[2] - det[2]) > 1e-4, 'alpha gradient should matter for w');
});

test('stopGradient passes values and blocks gradients', () => {
  const g = tf.tidy(() => Array.from(tf.grad((x: tf.Tensor) => tf.add(tf.mul(stopGradient(x), x), 0))(tf.tensor1d([2, 3])).dataSync()));
  assert.equal(g, [2, 3]); // d/dx (c * x) with c = x held constant
});

test('no leaked tensors', () => {
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    tf.tidy(() => {
      const a = tf.randomUniform([5, 4], 0.1, 1);
      const b = tf.randomUniform([5, 4], 0.1, 1);
      tf.grad((x: tf.Tensor) => tf.sum(ciou(x, b)))(a);
      boxIou(a, b, 'giou');
    });
  }
  assert.is(tf.memory().numTensors, before);
});

test.run();
