/**
 * Writes what scripts/check-pth-export.py compares: a YOLOv4 exported as .pth (state dict and whole
 * model), an input, and our own outputs for it.
 *
 *   node --import tsx scripts/write-pth-check.ts --out /tmp/pth-check/small --model fixture [--size 416]
 *   node --import tsx scripts/write-pth-check.ts --out /tmp/pth-check/full --model full-pruned [--amount 0.5]
 *   /usr/bin/python3 scripts/check-pth-export.py --ref /tmp/yolov4-ref /tmp/pth-check/small
 *
 * --model fixture:     test/fixtures/torch/yolov4_pruned_small.pth (pruned by Torch-Pruning, 80 classes)
 * --model full-pruned: the full 80-class YOLOv4 with seeded random weights, every prunable group cut
 *                      by --amount with our pruner (L1, greedy), BN statistics then calibrated
 * Files in --out: model.pth, model_whole.pth, input.f32 ([1,3,S,S] U[0,1), seeded), out{0,1,2}.f32
 * (our heads, NCHW, yolo_head1 first), meta.json (size, classes, anchors per head, params).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from '../src/backend/select.ts';
import { importTorchYolov4 } from '../src/io/torch-yolov4.ts';
import { exportTorchYolov4 } from '../src/io/torch-yolov4-export.ts';
import { buildYolov4, countTrainableParams } from '../src/model/yolov4.ts';
import { resolveConfig, type Yolov4Config } from '../src/model/config.ts';
import { applyPlan, planPruning } from '../src/prune/index.ts';
import { mulberry32 } from '../src/util/mulberry32.ts';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
  if (fallback === undefined) {
    console.error(`missing --${name}`);
    process.exit(2);
  }
  return fallback;
}

const out = arg('out');
const which = arg('model', 'fixture');
const size = Number(arg('size', '416'));
const amount = Number(arg('amount', '0.5'));

/** Seeded weights with the variance of PyTorch's default init and non-trivial BN statistics. */
function randomizeWeights(model: tf.LayersModel, seed: number): void {
  const rand = mulberry32(seed);
  const uniform = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    const isBn = layer.getClassName() === 'BatchNormalization';
    const values = weights.map((w, i) => {
      const n = w.size;
      if (isBn) {
        const [lo, hi] = [[0.5, 1.5], [-0.2, 0.2], [-0.2, 0.2], [0.5, 2]][i];
        return tf.tensor(uniform(n, lo, hi), w.shape);
      }
      const fanIn = w.shape.length === 4 ? w.shape[0] * w.shape[1] * w.shape[2] : 1;
      const a = w.shape.length === 4 ? Math.sqrt(3 / fanIn) : 0.1; // variance 1/fan_in; head bias U(+-0.1)
      return tf.tensor(uniform(n, -a, a), w.shape);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

/**
 * Sets every BN's running mean and variance to the statistics of its input on random images (in graph
 * order, so each BN sees its predecessors calibrated), then perturbs them a little. With random
 * statistics instead, the signal fades through the 100+ layers and the outputs barely depend on the
 * input, which would hide any error.
 */
const CALIBRATION_SIZE = 416;

function calibrateBatchNorm(model: tf.LayersModel, seed: number): void {
  const rand = mulberry32(seed);
  const images = tf.tensor4d(Float32Array.from({ length: CALIBRATION_SIZE * CALIBRATION_SIZE * 3 }, () => rand()), [1, CALIBRATION_SIZE, CALIBRATION_SIZE, 3]);
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    // A model over the shared layers (never disposed: that would dispose the layers' weights).
    const upToHere = tf.model({ inputs: model.inputs, outputs: layer.input as tf.SymbolicTensor });
    const [gamma, beta] = layer.getWeights();
    const stats = tf.tidy(() => {
      const { mean, variance } = tf.moments(upToHere.predict(images) as tf.Tensor, [0, 1, 2]);
      const n = mean.size;
      const jitter = (lo: number, hi: number) => tf.tensor1d(Float32Array.from({ length: n }, () => lo + (hi - lo) * rand()));
      return [gamma.clone(), beta.clone(), mean.add(jitter(-0.05, 0.05)), variance.mul(jitter(0.9, 1.1)).add(1e-3)];
    });
    layer.setWeights(stats);
    tf.dispose(stats);
  }
  images.dispose();
}

async function loadModel(): Promise<{ model: tf.LayersModel; config: Yolov4Config }> {
  if (which === 'fixture') return importTorchYolov4('test/fixtures/torch/yolov4_pruned_small.pth');
  if (which !== 'full-pruned') throw new RangeError(`--model must be fixture or full-pruned, not ${which}`);
  const config = resolveConfig({});
  const full = buildYolov4(config);
  randomizeWeights(full, 2024);
  const plan = planPruning(full, { all: true, amount });
  const { model } = applyPlan(full, plan);
  full.dispose();
  calibrateBatchNorm(model, 2031);
  return { model, config };
}

await selectBackend('auto', { quiet: true });
const { model, config } = await loadModel();
mkdirSync(out, { recursive: true });
const t0 = Date.now();
await exportTorchYolov4(model, config, join(out, 'model.pth'));
await exportTorchYolov4(model, config, join(out, 'model_whole.pth'), { whole: true });
console.log(`exported in ${Date.now() - t0} ms`);

const rand = mulberry32(7);
const input = Float32Array.from({ length: 3 * size * size }, () => rand());
writeFileSync(join(out, 'input.f32'), input);
const outputs = tf.tidy(() => {
  const x = tf.tensor4d(input, [1, 3, size, size]).transpose([0, 2, 3, 1]);
  return (model.predict(x) as tf.Tensor[]).map((o) => o.transpose([0, 3, 1, 2]).dataSync() as Float32Array);
});
outputs.forEach((o, i) => writeFileSync(join(out, `out${i}.f32`), o));
const meta = {
  model: which, size, numClasses: config.numClasses, anchorsPerHead: config.anchorMask[0].length,
  params: countTrainableParams(model), amount: which === 'full-pruned' ? amount : undefined,
};
writeFileSync(join(out, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
console.log(JSON.stringify(meta));
model.dispose();
