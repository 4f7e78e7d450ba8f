import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { mish } from '../src/model/mish.ts';

test('mish matches x*tanh(log(1+e^x)) computed in float64', () => {
  const xs = [-20, -3, -1, -0.5, 0, 0.5, 1, 3, 20];
  const got = mish(tf.tensor1d(xs)).dataSync();
  xs.forEach((x, i) => {
    const want = x * Math.tanh(Math.log1p(Math.exp(x)));
    assert.ok(Math.abs(got[i] - want) < 1e-5, `x=${x}: ${got[i]} vs ${want}`);
  });
});

test.run();
