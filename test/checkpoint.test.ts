import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, existsSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { resolveConfig } from '../src/model/config.ts';
import { saveCheckpoint, loadCheckpoint, CheckpointError, readCheckpointMeta } from '../src/io/checkpoint.ts';
import { loadWeights } from '../src/io/load-weights.ts';
import { applyPlan, planPruning } from '../src/prune/index.ts';

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-ckpt-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const config = resolveConfig({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 2, inputSize: 64, classNames: ['a', 'b'] });

test('a reloaded checkpoint gives bit-identical outputs and keeps config, widths and history', async () => {
  const model = buildYolov4(config);
  const plan = planPruning(model, { layers: ['conv2.*'], amount: 0.5, strategy: 'independent' });
  const { model: pruned, history } = applyPlan(model, plan);
  const dir = path.join(work, 'pruned');
  await saveCheckpoint(dir, pruned, config, { pruning: history, source: { kind: 'test' } });
  const { model: again, meta } = await loadCheckpoint(dir);
  const x = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 7);
  const a = (pruned.predict(x) as tf.Tensor[]).map((t) => t.dataSync());
  const b = (again.predict(x) as tf.Tensor[]).map((t) => t.dataSync());
  a.forEach((arr, i) => assert.equal(Array.from(arr), Array.from(b[i])));
  assert.equal(meta.config.classNames, ['a', 'b']);
  assert.is(meta.config.widths['conv2.0.conv'], pruned.getLayer('conv2.0.conv').getConfig().filters as number);
  assert.ok(meta.config.widths['conv2.0.conv'] < config.widths['conv2.0.conv']);
  assert.is(meta.pruning.length, history.length);
  assert.equal(meta.pruning[0].indices, history[0].indices);
  // A pruned checkpoint's config rebuilds the same architecture (widths from the file only).
  const rebuilt = buildYolov4(meta.config);
  assert.equal(rebuilt.getWeights().map((w) => w.shape), again.getWeights().map((w) => w.shape));
  tf.dispose([x]);
  [model, pruned, again, rebuilt].forEach((m) => m.dispose());
});

test('saving over an existing checkpoint is atomic: no temp dirs left, old contents replaced', async () => {
  const dir = path.join(work, 'ckpt');
  const m1 = buildYolov4(config);
  await saveCheckpoint(dir, m1, config, { source: { n: 1 } });
  const m2 = buildYolov4(config);
  await saveCheckpoint(dir, m2, config, { source: { n: 2 } });
  assert.is((await readCheckpointMeta(dir)).source?.n, 2);
  assert.equal(readdirSync(work).filter((f) => f.startsWith('ckpt')), ['ckpt']);
  // A failing save (model that cannot be serialized) leaves the previous checkpoint intact.
  const broken = { save: () => { throw new Error('disk full'); }, layers: [] } as unknown as tf.LayersModel;
  let failed = false;
  await saveCheckpoint(dir, broken, config).catch(() => { failed = true; });
  assert.ok(failed);
  assert.is((await readCheckpointMeta(dir)).source?.n, 2);
  assert.equal(readdirSync(work).filter((f) => f.startsWith('ckpt')), ['ckpt']);
  m1.dispose();
  m2.dispose();
});

test('bad checkpoints are clear errors', async () => {
  await loadCheckpoint(path.join(work, 'nope')).then(() => assert.unreachable(), (e: Error) => {
    assert.instance(e, CheckpointError);
    assert.match(e.message, /not found/);
  });
  const half = path.join(work, 'half');
  const m = buildYolov4(config);
  await saveCheckpoint(half, m, config);
  rmSync(path.join(half, 'meta.json'));
  await loadCheckpoint(half).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /meta\.json is missing/));
  const bad = path.join(work, 'bad');
  await saveCheckpoint(bad, m, config);
  writeFileSync(path.join(bad, 'meta.json'), '{"format": "something-else"}');
  await loadCheckpoint(bad).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /not a yolo4-prune checkpoint/));
  await loadWeights(path.join(work, 'x.onnx')).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /not found/));
  writeFileSync(path.join(work, 'x.txt'), 'hello');
  await loadWeights(path.join(work, 'x.txt')).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /don't know how to read/));
  // model.json is the standard tfjs layers format.
  const json = JSON.parse(readFileSync(path.join(bad, 'model.json'), 'utf8'));
  assert.is(json.format, 'layers-model');
  assert.ok(Array.isArray(json.weightsManifest) && existsSync(path.join(bad, json.weightsManifest[0].paths[0])));
  m.dispose();
});

test.run();
