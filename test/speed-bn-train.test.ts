import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { installBatchNormTrain } from '../src/speed/bn-train.ts';
import { mulberry32 } from '../src/util/mulberry32.ts';

// Training-mode batch norm through our kernels (bn-train.ts) against tfjs-layers' own path
// (moments + batchNorm, differentiated by autodiff) on the same layer and inputs: outputs, the
// moving statistics and the gradients of x, gamma and beta.

const rand = mulberry32(11);
const values = (n: number, scale = 1, shift = 0) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale + shift);

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.is(a.length, b.length);
  let diff = 0;
  let size = 1e-12;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    size = Math.max(size, Math.abs(b[i]));
  }
  return diff / size;
}

interface Run { y: Float32Array; movingMean: Float32Array; movingVariance: Float32Array; dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array }

function trainOnce(fast: boolean, shape: number[], xValues: Float32Array, weight: Float32Array, params: Float32Array[]): Run {
  installBatchNormTrain(fast);
  const layer = tf.layers.batchNormalization({ axis: -1, epsilon: 1e-5, momentum: 0.9 });
  layer.build(shape);
  layer.setWeights(params.map((p) => tf.tensor1d(p)));
  const x = tf.variable(tf.tensor(xValues, shape));
  const w = tf.tensor(weight, shape);
  const [gamma, beta] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  let y: Float32Array = new Float32Array();
  const { value, grads } = tf.variableGrads(() => {
    const out = layer.apply(x, { training: true }) as tf.Tensor;
    y = out.dataSync() as Float32Array;
    return tf.sum(tf.mul(out, w));
  }, [x, gamma, beta]);
  const weights = layer.getWeights();
  const run: Run = {
    y, dx: grads[x.name].dataSync() as Float32Array,
    dgamma: grads[gamma.name].dataSync() as Float32Array, dbeta: grads[beta.name].dataSync() as Float32Array,
    movingMean: weights[2].dataSync() as Float32Array, movingVariance: weights[3].dataSync() as Float32Array,
  };
  tf.dispose([x, w, value, ...Object.values(grads), ...layer.weights.map((v) => v.read())]);
  installBatchNormTrain(false);
  return run;
}

for (const backend of ['wasm', 'cpu']) {
  test(`${backend}: same outputs, moving statistics and gradients as tfjs-layers' path (NHWC, 3 shapes)`, async () => {
    const before = tf.getBackend();
    await tf.setBackend(backend);
    for (const shape of [[2, 5, 7, 3], [4, 8, 8, 16], [1, 3, 3, 33]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const xValues = values(n, 2, 0.5);
      const weight = values(n);
      const c = shape[3];
      const params = [values(c, 0.5, 1), values(c, 0.3), values(c, 0.2), values(c, 0.2, 1)];
      const ours = trainOnce(true, shape, xValues, weight, params);
      const theirs = trainOnce(false, shape, xValues, weight, params);
      for (const key of Object.keys(ours) as (keyof Run)[]) {
        assert.ok(relErr(ours[key], theirs[key]) < 2e-5, `${backend} ${shape} ${key}: ${relErr(ours[key], theirs[key])}`);
      }
      // The gradient of x sums to zero per channel (a batch-norm invariant); beta's is sum(w).
      for (let k = 0; k < c; k++) {
        let s = 0;
        let sw = 0;
        let scale = 0;
        for (let i = k; i < n; i += c) {
          s += ours.dx[i];
          sw += weight[i];
          scale += Math.abs(ours.dx[i]);
        }
        assert.ok(Math.abs(s) < 1e-5 * scale + 1e-6, `sum dx channel ${k}: ${s}`);
        assert.ok(Math.abs(ours.dbeta[k] - sw) < 1e-4, `dbeta ${k}`);
      }
    }
    await tf.setBackend(before);
  });
}

test('other axes keep tfjs-layers\' path (same result with and without); nothing leaks', () => {
  const x = tf.randomNormal([2, 4, 3, 3], 0, 1, 'float32', 5);
  const apply = (on: boolean) => {
    installBatchNormTrain(on);
    const layer = tf.layers.batchNormalization({ axis: 1 });
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    const out = y.dataSync();
    tf.dispose([y, ...layer.weights.map((v) => v.read())]);
    return out;
  };
  assert.equal(apply(true), apply(false));
  installBatchNormTrain(true);
  const layer = tf.layers.batchNormalization({ axis: -1 });
  const x2 = tf.randomNormal([2, 3, 3, 4]);
  (layer.apply(x2, { training: true }) as tf.Tensor).dispose(); // builds the layer's 4 variables
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(layer.apply(x2, { training: true }) as tf.Tensor)));
      tf.dispose([value, ...Object.values(grads)]);
    });
  }
  assert.is(tf.memory().numTensors, n0);
  installBatchNormTrain(false);
  tf.dispose([x, x2, ...layer.weights.map((v) => v.read())]);
});

test.run();
