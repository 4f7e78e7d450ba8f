import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { Mish } from '../src/model/mish.ts';
import { createInferencePool } from '../src/predict/worker-pool.ts';

function tinyModel(): tf.LayersModel {
  const input = tf.input({ shape: [null, null, 3] });
  let h = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, name: 'c1' }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: 'b1' }).apply(h) as tf.SymbolicTensor;
  h = new Mish({ name: 'm1' }).apply(h) as tf.SymbolicTensor;
  const a = tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'head_a' }).apply(h) as tf.SymbolicTensor;
  const b = tf.layers.maxPooling2d({ poolSize: 2, name: 'head_b' }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: [a, b] });
}

test('inference pool: 2 workers, batch split and merged, same outputs as in-process, run() and close()', async () => {
  const model = tinyModel();
  // Non-trivial BN statistics so folding in the workers is exercised.
  model.getLayer('b1').setWeights([tf.fill([8], 1.3), tf.fill([8], 0.2), tf.fill([8], -0.1), tf.fill([8], 0.7)]);
  const shape = [5, 8, 8, 3];
  const data = new Float32Array(5 * 8 * 8 * 3).map((_, i) => Math.sin(i));
  const pool = await createInferencePool(model, { workers: 2 });
  try {
    assert.is(pool.size, 2);
    assert.equal(pool.workerInfo.map((w) => w.backend), ['wasm', 'wasm']);
    const outs = await pool.predict(data, shape);
    const ref = tf.tidy(() => (model.predict(tf.tensor4d(data, shape as [number, number, number, number])) as tf.Tensor[]).map((t) => ({ data: t.dataSync(), shape: t.shape })));
    assert.equal(outs.map((o) => o.shape), [[5, 8, 8, 4], [5, 4, 4, 8]]);
    for (let k = 0; k < 2; k++) {
      let d = 0;
      for (let i = 0; i < ref[k].data.length; i++) d = Math.max(d, Math.abs(ref[k].data[i] - outs[k].data[i]));
      assert.ok(d < 1e-4, `output ${k}: max abs diff ${d}`);
    }
    const one = await pool.run(data.subarray(0, 8 * 8 * 3), [1, 8, 8, 3]);
    assert.equal(one[0].shape, [1, 8, 8, 4]);
    assert.ok(Math.abs(one[0].data[5] - outs[0].data[5]) < 1e-5);
    await pool.predict(data, [2, 8, 8, 3]).then(() => assert.unreachable('wrong shape accepted'), (e: Error) => assert.match(e.message, /needs 384/));
  } finally {
    await pool.close();
  }
  await pool.run(data, shape).then(() => assert.unreachable('closed pool ran'), (e: Error) => assert.match(e.message, /closed/));
  model.dispose();
});

test.run();
