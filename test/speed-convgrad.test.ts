import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterAsConv, registerFastConvFilterGrad, restoreConvFilterGrad } from '../src/speed/conv-filter-grad.ts';
import { conv2dBackpropFilter } from '../src/backend/conv2d-backprop-filter.ts';

const cases: { x: [number, number, number, number]; k: [number, number]; co: number; s: number | [number, number]; pad: 'same' | 'valid' | number }[] = [
  { x: [2, 9, 9, 3], k: [3, 3], co: 4, s: 1, pad: 'same' },
  { x: [2, 10, 10, 3], k: [3, 3], co: 4, s: 2, pad: 'same' },
  { x: [1, 11, 10, 5], k: [3, 3], co: 2, s: 2, pad: 'valid' },
  { x: [3, 8, 7, 2], k: [3, 2], co: 3, s: [1, 2], pad: 'same' },
  { x: [2, 8, 8, 4], k: [5, 5], co: 3, s: 1, pad: 2 },
  { x: [2, 6, 6, 4], k: [1, 1], co: 3, s: 1, pad: 'same' },
];

test('weight gradient as one conv equals the tap kernel (strides, paddings, kernel sizes)', () => {
  for (const c of cases) {
    tf.tidy(() => {
      const x = tf.randomNormal(c.x, 0, 1, 'float32', 1) as tf.Tensor4D;
      const filterShape: [number, number, number, number] = [c.k[0], c.k[1], c.x[3], c.co];
      const y = tf.conv2d(x, tf.zeros(filterShape) as tf.Tensor4D, c.s, c.pad);
      const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 2) as tf.Tensor4D;
      const attrs = { strides: c.s as number | [number, number], pad: c.pad, filterShape };
      const want = conv2dBackpropFilter(x, dy, attrs);
      const got = conv2dBackpropFilterAsConv(x, dy, attrs);
      assert.equal(got.shape, filterShape);
      const d = tf.max(tf.abs(tf.sub(want, got))).dataSync()[0] / tf.max(tf.abs(want)).dataSync()[0];
      assert.ok(d < 1e-5, `${JSON.stringify(c)}: relative difference ${d}`);
    });
  }
});

test('registered on wasm: conv gradients through tf.grad match, no leaks, restore works', () => {
  const x = tf.randomNormal([2, 12, 12, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 3, 5], 0, 1, 'float32', 4) as tf.Tensor4D;
  const f = (wv: tf.Tensor) => tf.sum(tf.sin(tf.conv2d(x, wv as tf.Tensor4D, 2, 'same')));
  const ref = tf.grad(f)(w);
  const before = tf.memory().numTensors;
  registerFastConvFilterGrad(tf.getBackend());
  const got = tf.grad(f)(w);
  assert.is(tf.memory().numTensors, before + 1);
  restoreConvFilterGrad(tf.getBackend());
  const again = tf.grad(f)(w);
  const rel = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / tf.max(tf.abs(a)).dataSync()[0]);
  assert.ok(rel(ref, got) < 1e-5);
  assert.ok(rel(ref, again) < 1e-6);
  tf.dispose([x, w, ref, got, again]);
});

test.run();
