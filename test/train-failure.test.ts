import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateShapesDataset } from '../src/data/shapes.ts';
import { loadDatasetConfig, openDataset } from '../src/data/dataset-config.ts';
import { explainWasmAbort, isWasmAbort, TrainingMemoryError } from '../src/train/wasm-abort.ts';
import { runTraining } from '../src/jobs/train-run.ts';

// A real wasm heap exhaustion needs a 4 GiB heap (~40-90 s, 4.4 GB RSS with yolov4-small at 416, batch 8):
// too heavy for a test. The message is checked on the error object emscripten throws; the clean-up on a
// real failure before the first checkpoint (the same catch).
const work = mkdtempSync(path.join(tmpdir(), 'yolo4-train-failure-'));
const backend = { backend: process.env.YOLO4_BACKEND || 'auto', threads: 1 };
let dataPath = '';
let configPath = '';

test.before(async () => {
  const r = await generateShapesDataset({ outDir: path.join(work, 'shapes'), train: 4, val: 2, size: 64, seed: 8, format: 'png' });
  dataPath = r.configPath!;
  // Every training image unreadable: the first batch fails, before any checkpoint.
  for (const item of (await openDataset(await loadDatasetConfig(dataPath), 'train')).items) writeFileSync(item.file, 'not an image');
  configPath = path.join(work, 'tiny.json');
  writeFileSync(configPath, JSON.stringify({ name: 'tiny', numClasses: 3, inputSize: 64, widthMultiplier: 1 / 16, depthMultiplier: 0.2 }));
});
test.after(() => rmSync(work, { recursive: true, force: true }));

test('C13: emscripten\'s abort becomes one message with the flags to change', () => {
  const abort = new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.');
  assert.ok(isWasmAbort(abort));
  assert.not.ok(isWasmAbort(new Error('cannot read image x.png')));
  const e = explainWasmAbort(abort, { batchSize: 8, inputSize: 416, subdivisions: 1 });
  assert.instance(e, TrainingMemoryError);
  assert.match(e.message, '4 GiB');
  assert.match(e.message, '--subdivisions 2 (micro-batches of 4 images');
  assert.is(e.cause, abort);
  // Already one image per micro-batch: only a smaller input is left.
  assert.match(explainWasmAbort(abort, { batchSize: 4, inputSize: 608, subdivisions: 4 }).message, 'smaller --img-size');
});

test('C13: a run that fails before its first checkpoint leaves no run folder; a folder that existed before is kept', async () => {
  const flags = { ...backend, config: configPath, data: dataPath, epochs: 1, batch: 2, maxBatches: 1, augment: false };
  const fresh = path.join(work, 'fresh');
  let error: unknown;
  await runTraining('train', { ...flags, out: fresh }, {}).catch((e) => { error = e; });
  assert.ok(error, 'training on unreadable images did not fail');
  assert.not.ok(existsSync(fresh), 'the half-made run folder was left');

  const existing = path.join(work, 'existing');
  mkdirSync(existing);
  writeFileSync(path.join(existing, 'notes.txt'), 'mine');
  error = undefined;
  await runTraining('train', { ...flags, out: existing }, {}).catch((e) => { error = e; });
  assert.ok(error);
  assert.ok(existsSync(path.join(existing, 'notes.txt')), 'a folder the run did not make was removed');
});

test.run();
