import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateShapesDataset } from '../src/data/shapes.ts';
import { loadDatasetConfig, openDataset } from '../src/data/dataset-config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { resolveConfig } from '../src/model/config.ts';
import { resolveTrainSettings } from '../src/train/settings.ts';
import { trainModel, type TrainingState } from '../src/train/trainer.ts';
import { ValidationError } from '../src/train/errors.ts';
import { readCheckpointMeta } from '../src/io/checkpoint.ts';
import { trainLoaderOptions, validationLoaderOptions } from '../src/train/loader-options.ts';
import type { Dataset } from '../src/data/types.ts';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-train-val-'));
const config = resolveConfig({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 3, inputSize: 64, classNames: ['circle', 'square', 'triangle'] });
const base = {
  epochs: 1, batchSize: 2, inputSize: 64, freezeEpochs: 0, warmupEpochs: 0, flatEpochs: 0, valEvery: 1, valLimit: 0,
  maxBatchesPerEpoch: 1, augment: false, seed: 1, scaleLrByBatch: false, lr0: 0.001, lrMin: 0.001,
};
let corrupt = '';
let data: Awaited<ReturnType<typeof openDataset>>;
let val: Awaited<ReturnType<typeof openDataset>>;

test.before(async () => {
  const r = await generateShapesDataset({ outDir: path.join(work, 'shapes'), train: 4, val: 3, size: 64, seed: 2, format: 'png' });
  const cfg = await loadDatasetConfig(r.configPath!);
  data = await openDataset(cfg, 'train');
  val = await openDataset(cfg, 'val');
  corrupt = val.items[1].file;
  writeFileSync(corrupt, Buffer.from('this is not a png'));
});
test.after(() => rmSync(work, { recursive: true, force: true }));

test('skipBad: a corrupt val image is skipped by the val loss and the val mAP; the epoch finishes with last and best', async () => {
  const model = buildYolov4(config);
  const runDir = path.join(work, 'skip');
  const warnings: string[] = [];
  try {
    const r = await trainModel({ model, config, trainSet: data, valSet: val, runDir, settings: resolveTrainSettings(base, { skipBad: true }), hooks: { log: (l) => warnings.push(l) } });
    assert.is(r.records.length, 1);
    assert.ok(Number.isFinite(r.records[0].AP), `AP ${r.records[0].AP}`);
    assert.ok(Number.isFinite(r.records[0].valLoss), `val loss ${r.records[0].valLoss}`);
    for (const f of ['last/meta.json', 'best/meta.json']) assert.ok(existsSync(path.join(runDir, f)), f);
    assert.ok(warnings.some((w) => w.includes(path.basename(corrupt))), `no warning names the corrupt file: ${warnings.join(' | ')}`);
  } finally {
    model.dispose();
  }
});

test('without skipBad: validation fails naming the file, and the trained epoch is saved in last (resumable)', async () => {
  const model = buildYolov4(config);
  const runDir = path.join(work, 'noskip');
  try {
    let error: unknown;
    await trainModel({ model, config, trainSet: data, valSet: val, runDir, settings: resolveTrainSettings(base), hooks: { log: () => {} } }).catch((e) => { error = e; });
    assert.instance(error, ValidationError);
    assert.match((error as Error).message, path.basename(corrupt));
    const meta = await readCheckpointMeta(path.join(runDir, 'last'));
    const state = meta.training as unknown as TrainingState;
    assert.equal([state.epoch, state.batchInEpoch, state.step], [1, 0, 1]);
  } finally {
    model.dispose();
  }
});

test('loader options: a darknet checkpoint trains (unaugmented) and validates on plain-resized input, a YOLOv4 one on letterboxed', () => {
  const s = resolveTrainSettings(base);
  const darknet = { ...config, architecture: 'darknet' as const };
  assert.is(validationLoaderOptions(darknet, s, () => {}).resizeMode, 'resize');
  assert.is(trainLoaderOptions(darknet, s, 4, () => {}).resizeMode, 'resize');
  assert.is(validationLoaderOptions(config, s, () => {}).resizeMode, 'letterbox');
  assert.is(validationLoaderOptions({ ...config, resizeMode: 'resize' }, s, () => {}).resizeMode, 'resize');
  assert.is(validationLoaderOptions({ ...darknet, resizeMode: 'letterbox' }, s, () => {}).resizeMode, 'letterbox');
});

test("a darknet-config run's validation loss is the one on stretched val images (as a resizeMode 'resize' run), not on letterboxed ones", async () => {
  // Copies of the images at 64x64 (train: letterbox and resize are the same, so is the training step
  // in every run) and at 128x64 (val: letterbox and resize differ), boxes scaled with them.
  const resized = async (tag: string, w: number, h: number): Promise<Dataset> => {
    const items = await Promise.all(data.items.map(async (it, k) => {
      const file = path.join(work, `${tag}-${k}.png`);
      await sharp(it.file).resize(w, h, { fit: 'fill' }).png().toFile(file);
      const sx = w / it.width!;
      const sy = h / it.height!;
      return { ...it, id: `${tag}-${k}`, file, width: w, height: h, boxes: it.boxes.map((b) => ({ ...b, x1: b.x1 * sx, x2: b.x2 * sx, y1: b.y1 * sy, y2: b.y2 * sy })) };
    }));
    return { ...data, items };
  };
  const square = await resized('square', 64, 64);
  const wide = await resized('wide', 128, 64);
  const model = buildYolov4(config);
  const initial = model.getWeights().map((w) => tf.clone(w));
  const valLossOf = async (name: string, cfg: typeof config) => {
    model.setWeights(initial);
    const r = await trainModel({ model, config: cfg, trainSet: square, valSet: wide, runDir: path.join(work, name), settings: resolveTrainSettings(base, { valEvery: 0 }), hooks: { log: () => {} } });
    return r.records[0].valLoss;
  };
  try {
    const darknet = await valLossOf('darknet', { ...config, architecture: 'darknet' });
    const resized = await valLossOf('resize', { ...config, resizeMode: 'resize' });
    const letterboxed = await valLossOf('letterbox', config);
    assert.ok(Number.isFinite(darknet), `val loss ${darknet}`);
    assert.is(darknet, resized);
    assert.ok(darknet !== letterboxed, `darknet ${darknet} vs letterbox ${letterboxed}: the val images should differ`);
  } finally {
    tf.dispose(initial);
    model.dispose();
  }
});

test.run();
