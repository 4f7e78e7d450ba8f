import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { generateShapesDataset } from '../src/data/shapes.ts';
import { loadDatasetConfig, openDataset } from '../src/data/dataset-config.ts';
import type { Dataset } from '../src/data/types.ts';
import { loadCheckpoint } from '../src/io/checkpoint.ts';
import { resolveConfig } from '../src/model/config.ts';
import { buildYolov4, convWidthsOf } from '../src/model/yolov4.ts';
import { buildDependencyGraph, countFlops, countParams, findGroups, planPruning } from '../src/prune/index.ts';
import { iterativePrune, keptAfterSteps, stepAmount } from '../src/jobs/iterative.ts';

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-iter-'));
const classNames = ['circle', 'square', 'triangle'];
const config = resolveConfig({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 3, inputSize: 64, classNames });
let train: Dataset;
let val: Dataset;
let dataConfigPath: string;

test.before(async () => {
  const r = await generateShapesDataset({ outDir: path.join(work, 'shapes'), train: 4, val: 2, size: 64, seed: 4, format: 'png' });
  dataConfigPath = r.configPath!;
  const dc = await loadDatasetConfig(dataConfigPath);
  train = await openDataset(dc, 'train');
  val = await openDataset(dc, 'val');
});
test.after(() => rmSync(work, { recursive: true, force: true }));

const quick = { batchSize: 2, maxBatchesPerEpoch: 1, augment: false };

test('per-step amount compounds to the target', () => {
  for (const [t, n] of [[0.5, 2], [0.3, 3], [0.75, 4], [0.2, 1]] as const) {
    const a = stepAmount(t, n);
    assert.ok(Math.abs(Math.pow(1 - a, n) - (1 - t)) < 1e-12, `${t} in ${n}`);
  }
  assert.ok(Math.abs(stepAmount(0.5, 2) - (1 - Math.SQRT1_2)) < 1e-15);
  // 32 channels, 50% in 2 steps: a = 0.2929: 32 - floor(9.37) = 23, 23 - floor(6.74) = 17 (one-shot: 16).
  assert.is(keptAfterSteps(32, stepAmount(0.5, 2), 2), 17);
  assert.throws(() => stepAmount(1, 2), /\[0, 1\)/);
  assert.throws(() => stepAmount(0.5, 0), /positive integer/);
});

test('2 steps of prune + fine-tune: widths follow the floor arithmetic, per-step records, checkpoints reload, best = most pruned within the bound', async () => {
  const model = buildYolov4(config);
  const groups = findGroups(buildDependencyGraph(model)).filter((g) => g.fixed.length === 0);
  const widths0 = convWidthsOf(model);
  const params0 = countParams(model);
  const before = tf.memory().numTensors;
  const out = path.join(work, 'iter');
  const stepsSeen: number[] = [];
  const r = await iterativePrune(model, config, {
    all: true, amount: 0.5, steps: 2, finetuneEpochs: 1, maxMapDrop: 1, trainSet: train, valSet: val, settings: quick, outDir: out,
    hooks: { onStepEnd: (rec) => stepsSeen.push(rec.step), train: { log: () => {} } },
  });
  assert.is(tf.memory().numTensors, before, 'tensors leaked');
  assert.equal(convWidthsOf(model), widths0, 'the input model is left alone');
  assert.is(r.stopped, 'completed');
  assert.equal(stepsSeen, [1, 2]);
  assert.is(r.records.length, 2);

  // Hand-computed: a = 1 - sqrt(1/2); each step removes floor(a * n) of the n channels a group has.
  const a = 1 - Math.sqrt(0.5);
  const ckpt1 = await loadCheckpoint(r.records[0].checkpoint);
  const ckpt2 = await loadCheckpoint(r.records[1].checkpoint);
  const w1 = convWidthsOf(ckpt1.model);
  const w2 = convWidthsOf(ckpt2.model);
  let changed = 0;
  for (const g of groups) {
    const n0 = g.n;
    const n1 = n0 - Math.floor(a * n0);
    const n2 = n1 - Math.floor(a * n1);
    for (const p of g.producers) {
      assert.is(w1[p], n1, `${p} after step 1 (n ${n0})`);
      assert.is(w2[p], n2, `${p} after step 2 (n ${n0})`);
    }
    if (n2 < n0) changed++;
  }
  assert.ok(changed > 10, `${changed} groups shrank`);
  const byName = Object.fromEntries(groups.map((g) => [g.root, g.n]));
  assert.is(byName['conv2.1.conv'], 64);
  assert.is(w2['conv2.1.conv'], 64 - 18 - 13); // 64 - floor(18.7) = 46, 46 - floor(13.5) = 33

  // Records.
  const [s1, s2] = r.records;
  assert.is(r.baseline.step, 0);
  assert.is(r.baseline.params, params0);
  assert.ok(Math.abs(s1.amount - a) < 1e-12);
  assert.ok(Math.abs(s2.cumulative - 0.5) < 1e-12);
  assert.ok(params0 > s1.params && s1.params > s2.params);
  assert.ok(r.baseline.flops > s1.flops && s1.flops > s2.flops);
  assert.is(s1.params, countParams(ckpt1.model));
  assert.is(s2.params, countParams(ckpt2.model));
  for (const s of r.records) {
    assert.ok(s.AP50 >= 0 && s.AP50 <= 1 && Number.isFinite(s.AP50Pruned) && Number.isFinite(s.finetuneLoss));
    assert.ok(Math.abs(s.drop - (r.baseline.AP50 - s.AP50)) < 1e-12);
  }
  // The pruning history accumulates, the checkpoints run.
  assert.ok(ckpt2.meta.pruning.length > ckpt1.meta.pruning.length && ckpt1.meta.pruning.length > 0);
  assert.is((ckpt2.meta.source as { step: number }).step, 2);
  const x = tf.zeros([1, 64, 64, 3]);
  const ys = ckpt2.model.predict(x) as tf.Tensor[];
  assert.equal(ys.map((y) => y.shape), [[1, 2, 2, 24], [1, 4, 4, 24], [1, 8, 8, 24]]);
  tf.dispose([x, ...ys]);
  ckpt1.model.dispose();
  ckpt2.model.dispose();

  // best: the last step within maxMapDrop (a copy of step 2).
  assert.is(r.best?.step, 2);
  assert.match(r.best!.reason, /most pruned step within/);
  const best = await loadCheckpoint(path.join(out, 'best'));
  assert.equal(convWidthsOf(best.model), w2);
  best.model.dispose();

  // Files.
  const csv = readFileSync(path.join(out, 'steps.csv'), 'utf8').trim().split('\n');
  assert.is(csv.length, 1 + 3);
  assert.ok(csv[0].startsWith('step,amount,cumulative,params,flops'));
  assert.ok(csv[1].startsWith('0,0,0,'));
  const json = JSON.parse(readFileSync(path.join(out, 'steps.json'), 'utf8'));
  assert.is(json.records.length, 2);
  assert.is(json.best.step, 2);
  assert.ok(existsSync(path.join(out, 'steps.png')) && existsSync(path.join(out, 'steps-size.png')));
  assert.ok(existsSync(path.join(out, 'step-1', 'finetune', 'results.csv')));
  assert.not.ok(existsSync(path.join(out, 'step-1', 'finetune', 'last')), 'the trainer\'s own checkpoints are removed by default');
  model.dispose();
});

test('early stop: maxMapDrop -1 stops after the first step; best falls back to the highest-mAP step', async () => {
  const model = buildYolov4(config);
  const out = path.join(work, 'early');
  const r = await iterativePrune(model, config, {
    layers: ['conv2.*'], amount: 0.6, steps: 3, finetuneEpochs: 0, maxMapDrop: -1, valSet: val, outDir: out,
  });
  assert.is(r.stopped, 'max-map-drop');
  assert.match(r.stopReason, /step 1: AP50 .* below the baseline/);
  assert.is(r.records.length, 1);
  assert.not.ok(existsSync(path.join(out, 'step-2')));
  assert.is(r.best?.step, 1);
  assert.match(r.best!.reason, /no step within/);
  assert.ok(existsSync(path.join(out, 'best', 'meta.json')));
  // Without fine-tuning the "pruned" and "fine-tuned" numbers are the same evaluation.
  assert.is(r.records[0].AP50Pruned, r.records[0].AP50);
  const w = convWidthsOf((await loadCheckpoint(path.join(out, 'step-1', 'checkpoint'))).model);
  const a = 1 - Math.cbrt(0.4);
  assert.is(w['conv2.1.conv'], 64 - Math.floor(a * 64));
  assert.is(w['conv2.0.conv'], 32 - Math.floor(a * 32));
  model.dispose();
});

test('a FLOPs budget through the steps: after step k the network keeps at most 0.5^(k/2) of the original FLOPs', async () => {
  const model = buildYolov4(config);
  const out = path.join(work, 'budget');
  const flops0 = countFlops(model, 64).flops;
  const r = await iterativePrune(model, config, {
    all: true, budget: { target: { metric: 'flops', ratio: 0.5 }, allocation: 'global' }, steps: 2, finetuneEpochs: 1,
    trainSet: train, valSet: val, settings: quick, outDir: out, hooks: { train: { log: () => {} } },
  });
  assert.is(r.records.length, 2);
  assert.equal(r.target, { metric: 'flops', ratio: 0.5 });
  const [s1, s2] = r.records;
  // Step 1 stops at the first channel that meets sqrt(0.5): it undershoots by less than the largest
  // FLOPs share one channel of any group carries (coarse in a 1/16-width model, where a group of 4
  // channels can span several layers).
  const prunable = findGroups(buildDependencyGraph(model)).filter((g) => g.prunable && g.n > 1);
  const oneChannel = Math.max(...prunable.map((g) => {
    const p = planPruning(model, { all: true, amount: 0, amounts: { [g.root]: 1 / g.n }, inputSize: 64 });
    return (p.flops!.before - p.flops!.after) / flops0;
  }));
  assert.ok(s1.flopsRatio <= Math.SQRT1_2 && s1.flopsRatio > Math.SQRT1_2 - oneChannel, `step 1: ${s1.flopsRatio} (one channel: ${oneChannel})`);
  assert.ok(s2.flopsRatio <= 0.5 && s2.flopsRatio > 0.4, `step 2: ${s2.flopsRatio}`);
  // The checkpoints are what the records say.
  const m2 = (await loadCheckpoint(path.join(out, 'step-2', 'checkpoint'))).model;
  assert.is(countFlops(m2, 64).flops / flops0, s2.flopsRatio);
  m2.dispose();
  const amounts1 = JSON.parse(readFileSync(path.join(out, 'step-1', 'amounts.json'), 'utf8'));
  assert.ok(Object.keys(amounts1).length > 0 && Object.values(amounts1).every((v) => typeof v === 'number' && v > 0 && v < 1));
  model.dispose();
});

test('CLI: prune --iterative', () => {
  const cfgFile = path.join(work, 'tiny.json');
  writeFileSync(cfgFile, JSON.stringify({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 3, inputSize: 64, classNames }));
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/yolo4.js', ...args], { encoding: 'utf8', env: { ...process.env, YOLO4_BACKEND: 'wasm' } });
  const out = path.join(work, 'cli');
  let r = run('prune', '--iterative', '--config', cfgFile, '--data', dataConfigPath, '--layers', 'conv2.*', '--amount', '0.5', '--steps', '2',
    '--finetune-epochs', '1', '--batch', '2', '--max-batches', '1', '--no-augment', '--out', out);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /\| step \| amount \| params/);
  assert.match(r.stdout, /done: all 2 steps done/);
  assert.match(r.stdout, /best: step 2/);
  assert.match(r.stderr, /target 0\.5 in 2 steps of 29\.29% each/);
  for (const f of ['steps.csv', 'steps.json', 'steps.png', 'steps-size.png', 'step-1/checkpoint/meta.json', 'step-2/checkpoint/meta.json', 'best/meta.json']) {
    assert.ok(existsSync(path.join(out, f)), f);
  }
  // A parameters budget with the sensitivity allocation, measured again on every step's model.
  const outB = path.join(work, 'cli-budget');
  r = run('prune', '--iterative', '--config', cfgFile, '--data', dataConfigPath, '--layers', 'conv2.*', '--target-params', '0.9', '--allocation', 'sensitivity',
    '--ratios', '0.25,0.5', '--steps', '2', '--finetune-epochs', '0', '--out', outB);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /keep 0\.9 of the parameters in 2 steps/);
  assert.match(r.stderr, /step 2\/2: Budget: reached 0\.(8|9)\d* of the parameters/);
  assert.is((r.stderr.match(/measuring the sensitivity/g) ?? []).length, 2);
  for (const f of ['step-1/amounts.json', 'step-2/amounts.json']) assert.ok(existsSync(path.join(outB, f)), f);
  const steps = JSON.parse(readFileSync(path.join(outB, 'steps.json'), 'utf8'));
  assert.ok(steps.records[1].paramsRatio <= 0.9, String(steps.records[1].paramsRatio));
  r = run('prune', '--iterative', '--config', cfgFile, '--data', dataConfigPath, '--all', '--target-speedup', '2', '--steps', '2', '--out', outB);
  assert.is(r.status, 2);
  assert.match(r.stderr, /--iterative takes --target-flops or --target-params/);
  r = run('prune', '--iterative', '--config', cfgFile, '--all', '--amount', '0.5', '--out', out);
  assert.is(r.status, 2);
  assert.match(r.stderr, /--iterative needs --data/);
  r = run('prune', '--iterative', '--config', cfgFile, '--data', dataConfigPath, '--all', '--amount', '0.5', '--out', out);
  assert.is(r.status, 2);
  assert.match(r.stderr, /--iterative needs --steps N/);
});

test.run();
