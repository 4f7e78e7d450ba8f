import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { generateShapesDataset } from '../src/data/shapes.ts';
import { loadDatasetConfig, openDataset } from '../src/data/dataset-config.ts';
import type { Dataset } from '../src/data/types.ts';
import { ClassMappingError } from '../src/data/class-map.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { resolveConfig } from '../src/model/config.ts';
import { resolveTrainSettings } from '../src/train/settings.ts';
import { trainModel, type TrainingState } from '../src/train/trainer.ts';
import { datasetInModelClasses } from '../src/train/dataset-classes.ts';
import { readCheckpointMeta, saveCheckpoint } from '../src/io/checkpoint.ts';
import { UsageError } from '../src/util/errors.ts';
import { runTraining } from '../src/jobs/train-run.ts';

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-train-run-'));
const NAMES = ['circle', 'square', 'triangle'];
const tiny = { widthMultiplier: 1 / 16, depthMultiplier: 0.2, inputSize: 64 };
const config = resolveConfig({ ...tiny, numClasses: 3, classNames: NAMES });
const backend = { backend: process.env.YOLO4_BACKEND || 'auto', threads: 1 };
let dataPath = '';
let configPath = '';
let data: Dataset;

test.before(async () => {
  const r = await generateShapesDataset({ outDir: path.join(work, 'shapes'), train: 4, val: 2, size: 64, seed: 4, format: 'png' });
  dataPath = r.configPath!;
  data = await openDataset(await loadDatasetConfig(dataPath), 'train');
  configPath = path.join(work, 'tiny.json');
  writeFileSync(configPath, JSON.stringify({ name: 'tiny', numClasses: 3, ...tiny }));
});
test.after(() => rmSync(work, { recursive: true, force: true }));

/** The same images and boxes, the class list in another order (ids follow their names). */
function permuted(ds: Dataset, names: string[]): Dataset {
  const to = (id: number) => names.indexOf(ds.classNames[id]);
  return { ...ds, classNames: names, items: ds.items.map((it) => ({ ...it, boxes: it.boxes.map((b) => ({ ...b, classId: to(b.classId) })) })) };
}

async function trainOnce(ds: Dataset, init: tf.Tensor[], runDir: string, log: string[] = []): Promise<number[][]> {
  const model = buildYolov4(config);
  model.setWeights(init);
  const settings = resolveTrainSettings({ epochs: 1, batchSize: 2, inputSize: 64, freezeEpochs: 0, warmupEpochs: 0, flatEpochs: 0, maxBatchesPerEpoch: 1, augment: false, scaleLrByBatch: false, lr0: 0.05, lrMin: 0.05, schedule: 'constant' });
  await trainModel({ model, config, trainSet: ds, runDir, settings, hooks: { log: (l) => log.push(l) } });
  const w = model.getWeights().map((t) => Array.from(t.dataSync()));
  model.dispose();
  return w;
}

const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - b[i][j])))));

test('B6: a dataset listing the model\'s classes in another order trains exactly as the one in the model\'s order', async () => {
  const init = buildYolov4(config).getWeights().map((t) => t.clone());
  const log: string[] = [];
  const reference = await trainOnce(data, init, path.join(work, 'ref'));
  const reordered = await trainOnce(permuted(data, ['triangle', 'circle', 'square']), init, path.join(work, 'perm'), log);
  assert.ok(maxDiff(reference, reordered) < 1e-6, `weights differ by ${maxDiff(reference, reordered)}`);
  assert.ok(log.some((l) => l.includes('in another order')), log.join(' | '));
  // Sanity: the class ids do matter to the step (other labels, other weights).
  const relabelled = await trainOnce({ ...data, items: data.items.map((it) => ({ ...it, boxes: it.boxes.map((b) => ({ ...b, classId: (b.classId + 1) % 3 })) })) }, init, path.join(work, 'other'));
  assert.ok(maxDiff(reference, relabelled) > 1e-5, 'the class ids do not change the step; the test above proves nothing');
  tf.dispose(init);
});

test('B6: a subset of the model\'s classes is moved to the model\'s indices; a class the model lacks is refused by name', () => {
  const r = datasetInModelClasses(data, ['star', 'triangle', 'circle', 'square']);
  assert.equal(r.dataset.classNames, ['star', 'triangle', 'circle', 'square']);
  const want = data.items.flatMap((it) => it.boxes.map((b) => ['star', 'triangle', 'circle', 'square'].indexOf(NAMES[b.classId])));
  assert.equal(r.dataset.items.flatMap((it) => it.boxes.map((b) => b.classId)), want);
  assert.match(r.note ?? '', 'not in the dataset: "star"');
  assert.throws(() => datasetInModelClasses(data, ['circle', 'square']), (e: Error) => e instanceof ClassMappingError && e.message.includes('"triangle"') && e.message.includes('--config'));
});

test('B6 in the CLI: --weights without a dataset class is refused before a run folder is made', async () => {
  const two = resolveConfig({ ...tiny, numClasses: 2, classNames: ['circle', 'square'] });
  const model = buildYolov4(two);
  const weights = path.join(work, 'two-classes');
  await saveCheckpoint(weights, model, two);
  model.dispose();
  const out = path.join(work, 'refused');
  let error: unknown;
  await runTraining('train', { ...backend, weights, data: dataPath, out, epochs: 1, batch: 2, maxBatches: 1 }, {}).catch((e) => { error = e; });
  assert.instance(error, ClassMappingError);
  assert.match((error as Error).message, '"triangle"');
  assert.not.ok(existsSync(out), 'a run folder was left');
});

test('C11/C16c: a 1-epoch run from the CLI, then --resume with only --epochs 2 extends it (dataset from the checkpoint)', async () => {
  const run = path.join(work, 'run');
  await runTraining('train', { ...backend, config: configPath, data: dataPath, out: run, epochs: 1, batch: 2, maxBatches: 1, valLimit: 2, augment: false }, {});
  const first = (await readCheckpointMeta(path.join(run, 'last'))).training as unknown as TrainingState;
  assert.is(first.epoch, 1);
  assert.is(first.settings.freezeEpochs, 0, 'the 50-epoch freeze default was not scaled to a 1-epoch run');
  await runTraining('train', { ...backend, resume: run, epochs: 2 }, {});
  const second = (await readCheckpointMeta(path.join(run, 'last'))).training as unknown as TrainingState;
  assert.equal([second.epoch, second.step, second.settings.epochs], [2, 2, 2]);
  const rows = readFileSync(path.join(run, 'results.csv'), 'utf8').trim().split('\n');
  assert.is(rows.length, 3, rows.join('\n'));

  // Finished: without --epochs, or with fewer, it is refused with what to do; flags it would ignore too.
  const refusal = async (flags: Record<string, unknown>) => {
    let error: unknown;
    await runTraining('train', { ...backend, resume: run, ...flags }, {}).catch((e) => { error = e; });
    assert.instance(error, UsageError, String(error));
    return (error as Error).message;
  };
  assert.match(await refusal({}), `finetune --weights ${run}/last`);
  assert.match(await refusal({ epochs: 1 }), 'already trained 2 epochs');
  assert.match(await refusal({ epochs: 3, lr0: 0.5, batch: 4 }), '--batch, --lr0 would be ignored');
});

test('A1 for train: --out refuses a folder with the user\'s files, and an earlier run without --force', async () => {
  const run = (out: string, extra: Record<string, unknown> = {}) =>
    runTraining('train', { ...backend, config: configPath, data: dataPath, out, epochs: 1, batch: 2, maxBatches: 1, valLimit: 2, augment: false, ...extra }, {});
  const refused = async (out: string, extra: Record<string, unknown> = {}) => {
    let error: unknown;
    await run(out, extra).catch((e) => { error = e; });
    assert.instance(error, UsageError, String(error));
    return (error as Error).message;
  };
  const user = path.join(work, 'user-folder');
  mkdirSync(user);
  writeFileSync(path.join(user, 'results.txt'), 'mine');
  assert.match(await refused(user), 'results.txt');
  assert.is(readFileSync(path.join(user, 'results.txt'), 'utf8'), 'mine');
  assert.equal(readdirSync(user), ['results.txt'], 'nothing was written into the user\'s folder');

  const earlier = path.join(work, 'earlier');
  await run(earlier);
  const before = readFileSync(path.join(earlier, 'last', 'meta.json'), 'utf8');
  assert.match(await refused(earlier), '--force');
  assert.is(readFileSync(path.join(earlier, 'last', 'meta.json'), 'utf8'), before, 'the earlier run was left as it was');
  await run(earlier, { force: true });
  assert.is.not(readFileSync(path.join(earlier, 'last', 'meta.json'), 'utf8'), before, '--force started a new run there');
});

test.run();
