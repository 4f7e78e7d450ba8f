import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { installBatchNormTrain } from '../src/speed/bn-train.ts';
import { compareWithLayers } from './_bn-train-run.ts';
import { spawnSync } from 'node:child_process';

// Training-mode batch norm through our kernels (bn-train.ts) against tfjs-layers' own path
// (moments + batchNorm, differentiated by autodiff) on the same layer and inputs: outputs, the
// moving statistics and the gradients of x, gamma and beta.

const SHAPES = [[2, 5, 7, 3], [4, 8, 8, 16], [1, 3, 3, 33], [2, 16, 16, 8]];

function checkInvariants(shape: number[], dx: Float32Array, dbeta: Float32Array, weight: Float32Array): void {
  // The gradient of x sums to zero per channel (a batch-norm invariant); beta's is sum(w).
  const c = shape[shape.length - 1];
  for (let k = 0; k < c; k++) {
    let s = 0;
    let sw = 0;
    let scale = 0;
    for (let i = k; i < dx.length; i += c) {
      s += dx[i];
      sw += weight[i];
      scale += Math.abs(dx[i]);
    }
    assert.ok(Math.abs(s) < 1e-5 * scale + 1e-6, `sum dx channel ${k}: ${s}`);
    assert.ok(Math.abs(dbeta[k] - sw) < 1e-4, `dbeta ${k}`);
  }
}

for (const backend of ['wasm', 'cpu']) {
  test(`${backend}: same outputs, moving statistics and gradients as tfjs-layers' path (NHWC, ${SHAPES.length} shapes)`, async () => {
    const before = tf.getBackend();
    await tf.setBackend(backend);
    for (const shape of SHAPES) {
      const { errors, ours, weight } = compareWithLayers(shape);
      for (const [key, err] of Object.entries(errors)) assert.ok(err < 2e-5, `${backend} ${shape} ${key}: ${err}`);
      checkInvariants(shape, ours.dx, ours.dbeta, weight);
    }
    await tf.setBackend(before);
  });
}

test('threaded wasm (child process): the in-place SIMD passes run for channels % 4 == 0 and match tfjs-layers\' path', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/_bn-train-child.ts'], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, `child failed: ${r.stderr.slice(-2000)}`);
  const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as { threads: number; results: { shape: number[]; simd: boolean; errors: Record<string, number> }[] };
  assert.is(got.threads, 2);
  assert.is(got.results.length, SHAPES.length);
  for (const { shape, simd, errors } of got.results) {
    assert.is(simd, shape[3] % 4 === 0, `SIMD used for ${shape}`);
    for (const [key, err] of Object.entries(errors)) assert.ok(err < 2e-5, `threaded ${shape} ${key}: ${err}`);
  }
});

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
