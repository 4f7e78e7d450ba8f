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

test.run();
