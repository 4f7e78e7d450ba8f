import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { buildYolov4, countNonTrainableParams, countTrainableParams } from '../src/model/yolov4.ts';
import { loadConfigFile } from '../src/model/config.ts';
import { foldBatchNorm, type FoldReport } from '../src/speed/fold-bn.ts';
import { Mish } from '../src/model/mish.ts';

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Non-trivial BN statistics (and gamma/beta) everywhere, so folding has something to get wrong. */
function randomizeBatchNorm(model: tf.LayersModel, seed = 1) {
  const r = rng(seed);
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const values = layer.weights.map((w) => {
      const n = w.shape[0] as number;
      const name = (w.originalName ?? w.name).split('/').pop();
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        if (name === 'gamma') a[i] = 0.5 + r();
        else if (name === 'beta') a[i] = (r() - 0.5) * 0.4;
        else if (name === 'moving_mean') a[i] = (r() - 0.5) * 0.4;
        else a[i] = 0.5 + r(); // moving_variance
      }
      return tf.tensor1d(a);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let maxAbs = 0;
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i]));
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  }
  return maxDiff / Math.max(maxAbs, 1e-12);
}

test('small YOLOv4: folded outputs match unfolded within 1e-4 relative, BN params gone, no leaks', () => {
  const model = buildYolov4(loadConfigFile('configs/yolov4-small.json'));
  randomizeBatchNorm(model, 7);
  const before = tf.memory().numTensors;
  let report: FoldReport | undefined;
  const folded = foldBatchNorm(model, { report: (r) => { report = r; } });
  const nBn = model.layers.filter((l) => l.getClassName() === 'BatchNormalization').length;
  assert.is(report!.folded.size, nBn, 'every BN folded');
  assert.is(report!.skipped.length, 0);
  assert.is(folded.layers.filter((l) => l.getClassName() === 'BatchNormalization').length, 0);
  // Same conv names, and the neck/backbone conv now carries a bias.
  const convs = (m: tf.LayersModel) => m.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => l.name);
  assert.equal(convs(folded), convs(model));
  assert.ok(folded.getLayer('backbone.conv1.conv').getConfig().useBias);
  assert.ok(folded.getLayer('backbone.conv1.activation') instanceof Mish);

  // Parameters: 4 BN weights per channel (2 trainable, 2 moving) go, one bias per channel comes.
  const bnChannels = model.layers
    .filter((l) => l.getClassName() === 'BatchNormalization')
    .reduce((n, l) => n + (l.weights[0].shape[0] as number), 0);
  assert.is(countTrainableParams(folded), countTrainableParams(model) - 2 * bnChannels + bnChannels);
  assert.is(countNonTrainableParams(folded), 0);
  assert.is(countNonTrainableParams(model), 2 * bnChannels);

  const x = tf.randomUniform([2, 96, 96, 3], 0, 1, 'float32', 3);
  const ref = model.predict(x) as tf.Tensor[];
  const out = folded.predict(x) as tf.Tensor[];
  for (let i = 0; i < 3; i++) {
    assert.equal(out[i].shape, ref[i].shape);
    const d = maxRelDiff(ref[i].dataSync() as Float32Array, out[i].dataSync() as Float32Array);
    assert.ok(d < 1e-4, `head ${i}: max relative difference ${d}`);
  }
  tf.dispose([x, ...ref, ...out]);
  folded.dispose();
  assert.is(tf.memory().numTensors, before, 'fold + predict leaked tensors');
  model.dispose();
});

test('generic graph: conv with bias, depthwise, shared output and a BN that cannot fold', () => {
  const input = tf.input({ shape: [8, 8, 3], name: 'in' });
  const c1 = tf.layers.conv2d({ name: 'c1', filters: 4, kernelSize: 3, padding: 'same', useBias: true }).apply(input) as tf.SymbolicTensor;
  const b1 = tf.layers.batchNormalization({ name: 'b1' }).apply(c1) as tf.SymbolicTensor;
  const r1 = tf.layers.reLU({ name: 'r1' }).apply(b1) as tf.SymbolicTensor;
  const d2 = tf.layers.depthwiseConv2d({ name: 'd2', kernelSize: 3, depthMultiplier: 2, padding: 'same', useBias: false }).apply(r1) as tf.SymbolicTensor;
  const b2 = tf.layers.batchNormalization({ name: 'b2', epsilon: 1e-5 }).apply(d2) as tf.SymbolicTensor;
  // c3's output feeds a BN and a skip: must not fold.
  const c3 = tf.layers.conv2d({ name: 'c3', filters: 8, kernelSize: 1, useBias: false }).apply(b2) as tf.SymbolicTensor;
  const b3 = tf.layers.batchNormalization({ name: 'b3' }).apply(c3) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'sum' }).apply([b3, c3]) as tf.SymbolicTensor;
  // BN after a non-conv: must not fold. BN as a model output: folds (output rewired to the conv).
  const b4 = tf.layers.batchNormalization({ name: 'b4' }).apply(sum) as tf.SymbolicTensor;
  const c5 = tf.layers.conv2d({ name: 'c5', filters: 5, kernelSize: 1 }).apply(b4) as tf.SymbolicTensor;
  const b5 = tf.layers.batchNormalization({ name: 'b5' }).apply(c5) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: [b5, r1] });
  randomizeBatchNorm(model, 11);

  let report: FoldReport | undefined;
  const folded = foldBatchNorm(model, { report: (r) => { report = r; } });
  assert.equal([...report!.folded.keys()].sort(), ['c1', 'c5', 'd2']);
  assert.equal(report!.skipped.map((s) => s.layer).sort(), ['b3', 'b4']);
  assert.equal(folded.outputNames.length, 2);
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5);
  const ref = model.predict(x) as tf.Tensor[];
  const out = folded.predict(x) as tf.Tensor[];
  for (let i = 0; i < 2; i++) {
    const d = maxRelDiff(ref[i].dataSync() as Float32Array, out[i].dataSync() as Float32Array);
    assert.ok(d < 1e-4, `output ${i}: ${d}`);
  }
  tf.dispose([x, ...ref, ...out]);
  folded.dispose();
  model.dispose();
});

test('sequential model folds too', () => {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, useBias: false, name: 'sc' }),
      tf.layers.batchNormalization({ name: 'sbn' }),
      tf.layers.flatten({ name: 'fl' }),
    ],
  });
  randomizeBatchNorm(model, 3);
  const folded = foldBatchNorm(model);
  assert.equal(folded.layers.map((l) => l.getClassName()), ['InputLayer', 'Conv2D', 'Flatten']);
  assert.equal(folded.layers.slice(1).map((l) => l.name), ['sc', 'fl']);
  const x = tf.randomNormal([1, 6, 6, 2], 0, 1, 'float32', 9);
  const a = model.predict(x) as tf.Tensor;
  const b = folded.predict(x) as tf.Tensor;
  assert.ok(maxRelDiff(a.dataSync() as Float32Array, b.dataSync() as Float32Array) < 1e-4);
  tf.dispose([x, a, b]);
  folded.dispose();
  model.dispose();
});

test.run();
