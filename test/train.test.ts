import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { generateShapesDataset } from '../src/data/shapes.ts';
import { loadDatasetConfig, openDataset } from '../src/data/dataset-config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { resolveConfig } from '../src/model/config.ts';
import { resolveTrainSettings } from '../src/train/settings.ts';
import { trainModel, type TrainingState } from '../src/train/trainer.ts';
import { trainStep } from '../src/train/train-step.ts';
import { Optimizer, DEFAULT_OPTIMIZER } from '../src/train/optimizer.ts';
import { learningRateAt } from '../src/train/schedule.ts';
import { loadCheckpoint, loadOptimizerState, readCheckpointMeta } from '../src/io/checkpoint.ts';
import { createLoader } from '../src/data/loader.ts';

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-train-'));
const config = resolveConfig({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 3, inputSize: 64, classNames: ['circle', 'square', 'triangle'] });
const settings = resolveTrainSettings({
  epochs: 2, batchSize: 2, inputSize: 64, freezeEpochs: 0, warmupEpochs: 1, flatEpochs: 0, valEvery: 1, valLimit: 2,
  maxBatchesPerEpoch: 3, augment: true, seed: 3, scaleLrByBatch: false, lr0: 0.01, lrMin: 0.001,
});
let data: Awaited<ReturnType<typeof openDataset>>;
let val: Awaited<ReturnType<typeof openDataset>>;

test.before(async () => {
  const r = await generateShapesDataset({ outDir: path.join(work, 'shapes'), train: 8, val: 2, size: 64, seed: 5, format: 'png' });
  const cfg = await loadDatasetConfig(r.configPath!);
  data = await openDataset(cfg, 'train');
  val = await openDataset(cfg, 'val');
});
test.after(() => rmSync(work, { recursive: true, force: true }));

const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

test('lr schedule: linear warm-up, cosine to the minimum, then flat (hand-computed points)', () => {
  const s = { kind: 'cosine' as const, lr0: 0.1, lrMin: 0.01, totalSteps: 110, warmupSteps: 10, warmupStartFactor: 0.1, flatSteps: 0, milestones: [], gamma: 0.1 };
  assert.ok(Math.abs(learningRateAt(s, 0) - 0.01) < 1e-12); // 0.1 * 0.1
  assert.ok(Math.abs(learningRateAt(s, 5) - 0.055) < 1e-12); // 0.1 * (0.1 + 0.9 * 0.5)
  assert.ok(Math.abs(learningRateAt(s, 10) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRateAt(s, 60) - 0.055) < 1e-12); // half-way: 0.01 + 0.5 * 0.09 * (1 + cos(pi/2))
  assert.ok(Math.abs(learningRateAt(s, 110) - 0.01) < 1e-12);
  const st = { ...s, kind: 'step' as const, warmupSteps: 0, milestones: [50, 80] };
  assert.ok(Math.abs(learningRateAt(st, 79) - 0.01) < 1e-12);
  assert.ok(Math.abs(learningRateAt(st, 80) - 0.001) < 1e-12);
});

test('SGD with Nesterov momentum and weight decay matches hand-computed updates', () => {
  const v = tf.variable(tf.tensor1d([1, -2]));
  const opt = new Optimizer({ ...DEFAULT_OPTIMIZER, momentum: 0.9, weightDecay: 0.1 }, () => true);
  // step 1: g' = g + 0.1 w = [0.5+0.1, 0.5-0.2] = [0.6, 0.3]; buf = g'; d = g' + 0.9 buf = [1.14, 0.57]; w -= 0.1 d
  opt.apply([{ name: 'w', variable: v, grad: tf.tensor1d([0.5, 0.5]) }], 0.1);
  const w1 = Array.from(v.dataSync());
  assert.ok(Math.abs(w1[0] - (1 - 0.114)) < 1e-6 && Math.abs(w1[1] - (-2 - 0.057)) < 1e-6, String(w1));
  opt.dispose();
  v.dispose();
});

test('Adam over several variables (one decayed, one not) matches a float64 loop over two steps', () => {
  // The optimizer updates all variables as one flat vector; this checks the cut back into shapes,
  // the decay applied only where asked, and the bias corrections against a plain per-element loop.
  const vars = { 'a/kernel': tf.variable(tf.tensor2d([[0.5, -1], [2, 0.25]])), 'b/bias': tf.variable(tf.tensor1d([3, -0.5, 0])) };
  const grads = [{ 'a/kernel': [0.1, -0.2, 0.3, 0.4], 'b/bias': [1, -1, 0.5] }, { 'a/kernel': [-0.3, 0.2, 0.1, 0], 'b/bias': [0.2, 0.4, -0.6] }];
  const [b1, b2, eps, wd, lr] = [0.9, 0.999, 1e-8, 0.01, 0.05];
  const opt = new Optimizer({ ...DEFAULT_OPTIMIZER, kind: 'adam', beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd }, (n) => n.endsWith('/kernel'));
  const ref: Record<string, { w: number[]; m: number[]; v: number[] }> = {
    'a/kernel': { w: [0.5, -1, 2, 0.25], m: [0, 0, 0, 0], v: [0, 0, 0, 0] },
    'b/bias': { w: [3, -0.5, 0], m: [0, 0, 0], v: [0, 0, 0] },
  };
  grads.forEach((g, step) => {
    opt.apply((Object.keys(vars) as (keyof typeof vars)[]).map((name) => ({ name, variable: vars[name], grad: tf.tensor(g[name], vars[name].shape) })), lr);
    for (const [name, r] of Object.entries(ref)) {
      r.w = r.w.map((w, i) => {
        const gi = g[name as keyof typeof g][i] + (name.endsWith('/kernel') ? wd * w : 0);
        r.m[i] = b1 * r.m[i] + (1 - b1) * gi;
        r.v[i] = b2 * r.v[i] + (1 - b2) * gi * gi;
        const mHat = r.m[i] / (1 - b1 ** (step + 1));
        const vHat = r.v[i] / (1 - b2 ** (step + 1));
        return w - (lr * mHat) / (Math.sqrt(vHat) + eps);
      });
    }
  });
  for (const [name, r] of Object.entries(ref)) {
    const v = vars[name as keyof typeof vars];
    assert.equal(v.shape, name === 'a/kernel' ? [2, 2] : [3]);
    Array.from(v.dataSync()).forEach((x, i) => assert.ok(Math.abs(x - r.w[i]) < 1e-6, `${name}[${i}]: ${x} vs ${r.w[i]}`));
  }
  opt.dispose();
  Object.values(vars).forEach((v) => v.dispose());
});

test('a training step keeps memory flat and the loss falls when overfitting one batch', async () => {
  const model = buildYolov4(config);
  const loader = createLoader(data, { batchSize: 2, inputSize: 64, augment: false, shuffle: false });
  const it = loader.epoch(0);
  const batch = (await it.next()).value!;
  await it.return(undefined);
  const vars = model.trainableWeights.map((w) => ({ name: w.originalName, variable: w.read() as tf.Variable }));
  const opt = new Optimizer({ ...DEFAULT_OPTIMIZER, kind: 'adam', beta1: 0.9 }, (n) => n.endsWith('/kernel'));
  const lossOpts = { anchors: config.anchors, anchorMask: config.anchorMask, numClasses: 3, inputSize: [64, 64] as [number, number] };
  const first = (await trainStep(model, vars, opt, batch.images, batch.targets, lossOpts, 1e-3, 0, 64)).total;
  const before = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 20; i++) last = (await trainStep(model, vars, opt, batch.images, batch.targets, lossOpts, 5e-3, 10, 64)).total;
  assert.is(tf.memory().numTensors, before, 'tensors leaked by training steps');
  assert.ok(last < 0.7 * first, `loss ${first} -> ${last}`);
  batch.images.dispose();
  opt.dispose();
  model.dispose();
});

test('subdivisions: two micro-batches of [A] give exactly the update of one batch [A, A]', async () => {
  // Mean losses of [A, A] equal those of [A], so averaging the two micro-batch gradients must give
  // the full-batch update. The predictor here has no BatchNorm: in a random tiny YOLOv4, float32
  // rounding in training-mode BN over 2x2 maps is amplified through ~70 layers (gradients of [A] and
  // [A, A] differ by 10-40 % there even without subdivisions, while in inference mode they agree to 1e-6).
  const loader = createLoader(data, { batchSize: 1, inputSize: 64, augment: false, shuffle: false });
  const it = loader.epoch(0);
  const one = (await it.next()).value!;
  await it.return(undefined);
  const images = tf.concat([one.images, one.images]) as tf.Tensor4D;
  const targets = [one.targets[0], one.targets[0]];
  const lossOpts = { anchors: config.anchors, anchorMask: config.anchorMask, numClasses: 3, inputSize: [64, 64] as [number, number] };
  const heads = () => {
    const input = tf.input({ shape: [64, 64, 3] });
    const outs = [32, 16, 8].map((s) => tf.layers.conv2d({ filters: 24, kernelSize: s, strides: s, kernelInitializer: tf.initializers.randomNormal({ seed: s, stddev: 0.05 }) }).apply(input) as tf.SymbolicTensor);
    return tf.model({ inputs: input, outputs: outs });
  };
  const a = heads();
  const b = heads();
  const w0 = a.getWeights().map((w) => Array.from(w.dataSync()));
  const step = async (m: tf.LayersModel, k: number) => {
    const vars = m.trainableWeights.map((w) => ({ name: w.originalName, variable: w.read() as tf.Variable }));
    const opt = new Optimizer({ ...DEFAULT_OPTIMIZER }, (n) => n.endsWith('/kernel'));
    const r = await trainStep(m, vars, opt, images, targets, lossOpts, 0.05, 0, 64, k);
    opt.dispose();
    return r.total;
  };
  const la = await step(a, 1);
  const lb = await step(b, 2);
  assert.ok(Math.abs(la - lb) < 1e-5 * Math.abs(la), `${la} vs ${lb}`);
  const wa = weightsOf(a);
  const wb = weightsOf(b);
  let maxDiff = 0;
  let maxUpdate = 0;
  wa.forEach((w, i) => w.forEach((v, j) => {
    maxDiff = Math.max(maxDiff, Math.abs(v - wb[i][j]));
    maxUpdate = Math.max(maxUpdate, Math.abs(v - w0[i][j]));
  }));
  assert.ok(maxUpdate > 1e-4, 'the step changed nothing');
  assert.ok(maxDiff < 1e-3 * maxUpdate, `updates differ by ${maxDiff} (largest update ${maxUpdate})`);
  tf.dispose([images, one.images]);
  a.dispose();
  b.dispose();
});

test('trainModel writes results, checkpoints and plot; an interrupted run resumes to the same weights', async () => {
  // Straight through.
  const a = buildYolov4(config);
  const init = a.getWeights().map((w) => w.clone());
  const runA = path.join(work, 'runA');
  const ra = await trainModel({ model: a, config, trainSet: data, valSet: val, runDir: runA, settings, hooks: { log: () => {} } });
  assert.is(ra.records.length, 2);
  assert.ok(!ra.interrupted);
  const csv = readFileSync(path.join(runA, 'results.csv'), 'utf8').trim().split('\n');
  assert.is(csv[0], 'epoch,loss,box,obj,cls,lr,val_loss,AP,AP50,seconds');
  assert.is(csv.length, 3);
  for (const f of ['last/meta.json', 'best/meta.json', 'last/optimizer.json', 'results.png', 'args.json']) assert.ok(existsSync(path.join(runA, f)), f);
  const meta = await readCheckpointMeta(path.join(runA, 'last'));
  assert.is((meta.training as unknown as TrainingState).step, 6);

  // Same start, stopped after 4 batches (mid-epoch 1), then resumed from the checkpoint.
  const b = buildYolov4(config);
  b.setWeights(init);
  const runB = path.join(work, 'runB');
  let batches = 0;
  const rb = await trainModel({ model: b, config, trainSet: data, valSet: val, runDir: runB, settings, hooks: { log: () => {}, shouldStop: () => ++batches === 4 } });
  assert.ok(rb.interrupted);
  b.dispose();
  const last = path.join(runB, 'last');
  const { model: c, meta: cm } = await loadCheckpoint(last);
  const state = cm.training as unknown as TrainingState;
  assert.equal([state.epoch, state.batchInEpoch, state.step], [1, 1, 4]);
  const rc = await trainModel({ model: c, config, trainSet: data, valSet: val, runDir: runB, settings, resume: { state, optimizer: await loadOptimizerState(last) }, hooks: { log: () => {} } });
  assert.ok(!rc.interrupted);
  const wa = weightsOf(a);
  const wc = weightsOf(c);
  let maxDiff = 0;
  wa.forEach((w, i) => w.forEach((v, j) => { maxDiff = Math.max(maxDiff, Math.abs(v - wc[i][j])); }));
  assert.ok(maxDiff < 1e-6, `resumed weights differ by ${maxDiff}`);
  tf.dispose(init);
  a.dispose();
  c.dispose();
});

test.run();
