/**
 * Proof that it learns (issue 4): train a small YOLOv4 from scratch on the synthetic shapes dataset
 * (src/data/shapes.ts: circle / square / triangle) on the CPU, prune 50 % of every prunable group
 * (Li et al., greedy), fine-tune, and report params, FLOPs, AP50, AP and wall times of the three stages.
 *
 *   node --import tsx scripts/train-shapes.ts [--out runs/train-shapes] [--epochs N] [--finetune-epochs N] ...
 *   node --import tsx scripts/train-shapes.ts --help        (every flag with its default)
 *
 * Writes <out>/data (the generated dataset, reused when its parameters match), <out>/train and
 * <out>/finetune (trainer run dirs: results.csv/png, checkpoints), <out>/pruned (checkpoint before
 * fine-tuning) and <out>/summary.json (the table, the recipe, the timings).
 *
 * The defaults are the recipe measured in the README ("Proof that it learns"): 1,200 + 100 images of
 * 128 px with 2-6 shapes of 12-35 % of the side; YOLOv4 x0.125 width, one residual block per stage, no
 * conv narrower than 8 (--min-channels: at x0.125 the stem would have 4 filters, too few to find
 * edges of any hue); Adam 3e-3 -> 1e-4 cosine, batch 8, 9 epochs, no augmentation; darknet's
 * iou_thresh 0.213 (--anchor-iou; AP50 0.54 -> 0.76 in one comparison); then 50 % of every prunable
 * group removed and 12 fine-tuning epochs at 3e-3 -> 1e-4.
 *
 * Anchors (--anchors): the reference anchors are in pixels of a 416 input. At a small input they are too
 * large for most heads, so nearly every object would be assigned to the stride-8 head's smallest anchors.
 * `scaled` (default) multiplies them by inputSize / 416, which spreads the shapes over all three heads as
 * at 416; `standard` keeps the reference values as they are.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendChoice } from '../src/backend/select.ts';
import { loadDatasetConfig, openDataset } from '../src/data/dataset-config.ts';
import { generateShapesDataset, SHAPE_CLASSES } from '../src/data/shapes.ts';
import type { Dataset } from '../src/data/types.ts';
import { loadGroundTruth } from '../src/eval/coco-io.ts';
import type { CocoGroundTruth } from '../src/eval/coco-types.ts';
import { evaluateModelOnDataset } from '../src/eval/evaluate-model.ts';
import { loadCheckpoint, saveCheckpoint } from '../src/io/checkpoint.ts';
import { resolveConfig, STANDARD_ANCHORS, type Anchor, type Yolov4Config } from '../src/model/config.ts';
import { summarizeModel } from '../src/model/summary.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { applyPlan, planPruning } from '../src/prune/index.ts';
import { installSpeedups } from '../src/speed/install.ts';
import { resolveTrainSettings, type TrainSettings } from '../src/train/settings.ts';
import { trainModel, type EpochRecord, type TrainHooks } from '../src/train/trainer.ts';

const argv = await yargs(hideBin(process.argv))
  .scriptName('train-shapes')
  .usage('$0 [flags]: train a small YOLOv4 on generated shapes, prune 50 %, fine-tune; prints a table and writes <out>/summary.json')
  .option('out', { type: 'string', default: 'runs/train-shapes', describe: 'output folder' })
  .option('backend', { type: 'string', default: 'auto', describe: 'auto | tensorflow | wasm | cpu' })
  .option('fast', { type: 'boolean', default: true, describe: 'src/speed speedups (cheaper BN gradient, sigmoid Mish; same numbers up to rounding)' })
  // data
  .option('train', { type: 'number', default: 1200, describe: 'generated training images' })
  .option('val', { type: 'number', default: 100, describe: 'generated held-out images (mAP is measured on all of them)' })
  .option('size', { type: 'number', default: 128, describe: 'longer side of the generated images' })
  .option('data-seed', { type: 'number', default: 0, describe: 'seed of the generated dataset' })
  .option('objects', { type: 'string', default: '2,6', describe: 'shapes per image, min,max' })
  .option('object-size', { type: 'string', default: '0.12,0.35', describe: 'shape side as a fraction of the shorter image side, lo,hi' })
  // model
  .option('width', { type: 'number', default: 0.125, describe: 'width multiplier of YOLOv4' })
  .option('depth', { type: 'number', default: 0.1, describe: 'depth multiplier of YOLOv4 (residual blocks per stage)' })
  .option('min-channels', { type: 'number', default: 8, describe: 'no conv narrower than this (widens the thin early layers of a small --width; 0: off)' })
  .option('input', { type: 'number', describe: 'network input size, a multiple of 32 (default: --size rounded up to 32)' })
  .option('anchors', { choices: ['scaled', 'standard'] as const, default: 'scaled' as const, describe: 'reference anchors x input/416, or as they are (for 416)' })
  // training
  .option('epochs', { type: 'number', default: 9, describe: 'training epochs' })
  .option('batch', { type: 'number', default: 8, describe: 'batch size' })
  .option('optimizer', { choices: ['adam', 'sgd'] as const, default: 'adam' as const })
  .option('lr', { type: 'number', default: 3e-3, describe: 'start learning rate (used as is, no batch scaling)' })
  .option('lr-min', { type: 'number', default: 1e-4, describe: 'final learning rate (cosine)' })
  .option('warmup', { type: 'number', default: 0.5, describe: 'warm-up epochs' })
  .option('weight-decay', { type: 'number', default: 0, describe: 'L2 on conv kernels (off: the run is short and the data plentiful)' })
  .option('augment', { type: 'boolean', default: false, describe: 'the reference augmentation (scale, jitter, placement, flip, HSV); mosaic/mixup stay off' })
  .option('mosaic', { type: 'number', default: 0, describe: 'mosaic probability (with --augment)' })
  .option('focal', { type: 'boolean', default: false, describe: 'focal loss for objectness (reference focal_loss)' })
  .option('cls-gain', { type: 'number', default: 0, describe: 'class loss weight (0: the reference\'s classes/80 = 0.0375 here)' })
  .option('anchor-iou', { type: 'number', default: 0.213, describe: 'darknet iou_thresh (yolov4.cfg: 0.213): also assign boxes to every anchor with shape IoU above it (0: best anchor only, the PyTorch reference)' })
  .option('box-gain', { type: 'number', default: 0, describe: 'box loss weight (0: the reference\'s 0.05)' })
  .option('val-every', { type: 'number', default: 3, describe: 'validation mAP every n epochs (0: only at the end)' })
  .option('max-batches', { type: 'number', default: 0, describe: 'cap batches per epoch (0: all); for timing runs' })
  .option('seed', { type: 'number', default: 0, describe: 'seed of shuffling / augmentation' })
  .option('prior-bias', { type: 'boolean', default: true, describe: 'start the output convs at the class/objectness priors (objectness ~1 per head grid, classes 1/C), as YOLOv5 does' })
  .option('weights', { type: 'string', describe: 'skip training: start from this checkpoint (e.g. <out>/train/last) and only prune + fine-tune' })
  // pruning + fine-tuning
  .option('prune', { type: 'number', default: 0.5, describe: 'fraction of every prunable group to remove (0: skip pruning)' })
  .option('prune-min-channels', { type: 'number', default: 1, describe: 'pruning leaves no group narrower than this (1: every group loses --prune of its channels)' })
  .option('finetune-epochs', { type: 'number', default: 12, describe: 'fine-tuning epochs of the pruned model' })
  .option('finetune-lr', { type: 'number', default: 3e-3, describe: 'fine-tuning start lr' })
  .option('finetune-lr-min', { type: 'number', default: 1e-4, describe: 'fine-tuning final lr (cosine)' })
  .strict()
  .help()
  .parseAsync();

const out = path.resolve(argv.out);
const input = argv.input ?? Math.ceil(argv.size / 32) * 32;
if (input % 32 !== 0) throw new Error(`--input must be a multiple of 32, got ${input}`);
const log = (line: string) => console.log(line);
const t00 = performance.now();
const elapsed = () => `${((performance.now() - t00) / 1000).toFixed(0)} s`;

const backend = await selectBackend(argv.backend as BackendChoice, { log });
if (argv.fast) installSpeedups();
log(`load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')} on ${os.availableParallelism?.() ?? os.cpus().length} cores`);

// ---- data -----------------------------------------------------------------------------------------
const dataDir = path.join(out, 'data');
const pair = (flag: string, v: string): [number, number] => {
  const p = v.split(',').map(Number);
  if (p.length !== 2 || !p.every(Number.isFinite)) throw new Error(`--${flag} takes two numbers "a,b", got "${v}"`);
  return [p[0], p[1]];
};
const objects = pair('objects', argv.objects);
const objectSize = pair('object-size', argv.objectSize);
const dataKey = { train: argv.train, val: argv.val, size: argv.size, seed: argv.dataSeed, objects, objectSize, generator: 'src/data/shapes.ts' };
const keyFile = path.join(out, 'data.params.json');
const configPath = path.join(out, 'data.json');
const have = existsSync(keyFile) && existsSync(configPath) && readFileSync(keyFile, 'utf8') === JSON.stringify(dataKey);
const tData = performance.now();
if (!have) {
  log(`generating ${argv.train} + ${argv.val} shape images of ${argv.size} px in ${dataDir}`);
  await mkdir(out, { recursive: true });
  await generateShapesDataset({ outDir: dataDir, train: argv.train, val: argv.val, size: argv.size, seed: argv.dataSeed, objects, objectSize, configPath, name: 'shapes' });
  await writeFile(keyFile, JSON.stringify(dataKey));
} else {
  log(`reusing the dataset in ${dataDir}`);
}
const dataSeconds = (performance.now() - tData) / 1000;
const dataConfig = await loadDatasetConfig(configPath);
const trainSet = await openDataset(dataConfig, 'train');
const valSet = await openDataset(dataConfig, 'val');
const valGt = await loadGroundTruth((dataConfig.val as { annotations: string }).annotations);

// ---- model ----------------------------------------------------------------------------------------
const anchors: Anchor[] = argv.anchors === 'scaled'
  ? STANDARD_ANCHORS.map(([w, h]) => [Math.round((w * input) / 416 * 10) / 10, Math.round((h * input) / 416 * 10) / 10])
  : STANDARD_ANCHORS.map(([w, h]) => [w, h]);
let config: Yolov4Config = resolveConfig({
  name: `yolov4-shapes-w${argv.width}-d${argv.depth}${argv.minChannels > 0 ? `-min${argv.minChannels}` : ''}`,
  numClasses: SHAPE_CLASSES.length,
  classNames: [...SHAPE_CLASSES],
  inputSize: input,
  anchors,
  widthMultiplier: argv.width,
  depthMultiplier: argv.depth,
});
if (argv.minChannels > 0) {
  // Every conv at least minChannels wide; residual partners stay equal since the same rule maps them.
  const widths = Object.fromEntries(Object.entries(config.widths).map(([name, c]) => [name, Math.max(c, argv.minChannels)]));
  config = resolveConfig({ ...config, widths });
}
let model: tf.LayersModel;
if (argv.weights) {
  const loaded = await loadCheckpoint(argv.weights);
  model = loaded.model;
  config = loaded.meta.config;
  if (config.inputSize !== input) throw new Error(`${argv.weights} was trained at ${config.inputSize} px, not ${input}; pass --input ${config.inputSize}`);
} else {
  model = buildYolov4(config);
  if (argv.priorBias) setPriorBiases(model, config, input);
}

/**
 * YOLOv5's bias initialisation of the output convs (its `_initialize_biases`): objectness starts at
 * about one object per head grid instead of p = 0.5 everywhere, and every class at 1 / C. Otherwise the
 * first epoch is mostly spent pushing thousands of cells' objectness down from 0.5.
 */
function setPriorBiases(m: tf.LayersModel, c: Yolov4Config, size: number): void {
  const k = 5 + c.numClasses;
  const strides = [32, 16, 8];
  c.anchorMask.forEach((mask, head) => {
    const layer = m.getLayer(`yolo_head${head + 1}.1`);
    const [kernel, bias] = layer.getWeights();
    const b = bias.dataSync().slice();
    const cells = (size / strides[head]) ** 2;
    mask.forEach((_, a) => {
      b[a * k + 4] = Math.log(1 / cells);
      for (let j = 0; j < c.numClasses; j++) b[a * k + 5 + j] = Math.log(1 / (c.numClasses - 1));
    });
    layer.setWeights([kernel, tf.tensor1d(b)]);
  });
}

// ---- helpers --------------------------------------------------------------------------------------
interface Stage {
  stage: string;
  params: number;
  gflops: number;
  AP50: number;
  AP: number;
  /** Wall time of what produced this stage (training, pruning, fine-tuning), seconds. */
  seconds: number;
  evalSeconds: number;
}

async function measure(stage: string, m: tf.LayersModel, seconds: number): Promise<Stage> {
  const s = summarizeModel(m, input);
  const ev = await evaluateModelOnDataset(m, config, valSet, { inputSize: input, groundTruth: valGt as CocoGroundTruth, batchSize: 8 });
  return { stage, params: s.params, gflops: s.flops / 1e9, AP50: ev.result.stats.AP50, AP: ev.result.stats.AP, seconds, evalSeconds: ev.seconds };
}

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
};

function epochHooks(label: string, epochs: number): TrainHooks {
  let t = performance.now();
  let cpu = process.cpuUsage();
  return {
    onEpochStart: () => {
      t = performance.now();
      cpu = process.cpuUsage();
    },
    onEpochEnd: (r: EpochRecord) => {
      const ap = Number.isFinite(r.AP50) ? `  AP50 ${r.AP50.toFixed(3)} AP ${r.AP.toFixed(3)}` : '';
      log(`${label} epoch ${String(r.epoch + 1).padStart(2)}/${epochs}  loss ${r.loss.toFixed(4)} (box ${r.box.toFixed(4)} obj ${r.obj.toFixed(4)} cls ${r.cls.toFixed(4)})` +
        `  val ${r.valLoss.toFixed(4)}${ap}  lr ${r.lr.toExponential(2)}  ${((performance.now() - t) / 1000).toFixed(1)} s (cpu ${cpuSeconds(cpu).toFixed(1)} s)  [${elapsed()}, load ${os.loadavg()[0].toFixed(1)}]`);
    },
    log,
  };
}

const common: Partial<TrainSettings> = {
  batchSize: argv.batch,
  inputSize: input,
  optimizer: argv.optimizer,
  scaleLrByBatch: false,
  weightDecay: argv.weightDecay,
  freezeEpochs: 0,
  ema: false,
  augment: argv.augment,
  mosaic: argv.mosaic,
  mixup: 0,
  multiScale: false,
  focalObj: argv.focal,
  clsGain: argv.clsGain,
  boxGain: argv.boxGain,
  anchorIouThreshold: argv.anchorIou,
  valLimit: 0,
  savePeriod: 0,
  maxBatchesPerEpoch: argv.maxBatches,
  seed: argv.seed,
};

const fmtTable = (stages: Stage[]): string => {
  const head = ['stage', 'params', 'GFLOPs', 'AP50', 'AP', 'wall s', 'eval s'];
  const rows = stages.map((s) => [s.stage, s.params.toLocaleString('en-US'), s.gflops.toFixed(4), s.AP50.toFixed(4), s.AP.toFixed(4), s.seconds.toFixed(1), s.evalSeconds.toFixed(1)]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(w[i]) : v.padStart(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
};

// ---- 1. train ---------------------------------------------------------------------------------------
const trainSettings = resolveTrainSettings(common, {
  epochs: argv.epochs,
  lr0: argv.lr,
  lrMin: argv.lrMin,
  schedule: 'cosine',
  warmupEpochs: argv.warmup,
  flatEpochs: 0,
  valEvery: argv.valEvery,
});
const s0 = summarizeModel(model, input);
log(`model ${config.name}: ${s0.params.toLocaleString('en-US')} params, ${(s0.flops / 1e9).toFixed(3)} GFLOPs at ${input}, blocks [${config.blocks}], anchors ${JSON.stringify(anchors)}`);
if (!argv.weights) log(`train: ${trainSet.items.length} images, val ${valSet.items.length}; ${argv.epochs} epochs x ${Math.floor(trainSet.items.length / argv.batch)} batches of ${argv.batch}, ` +
  `${argv.optimizer} lr ${argv.lr} -> ${argv.lrMin} cosine, augment ${argv.augment ? `on (mosaic ${argv.mosaic})` : 'off'}  [${backend.name}]`);
const tTrain = performance.now();
if (argv.weights) {
  log(`not training: loaded ${argv.weights}`);
} else {
  await trainModel({
    model, config, trainSet, valSet, valGroundTruth: valGt, runDir: path.join(out, 'train'), settings: trainSettings,
    source: { kind: 'train-shapes' }, hooks: epochHooks('train', argv.epochs),
  });
}
const trainSeconds = (performance.now() - tTrain) / 1000;
const stages: Stage[] = [await measure(argv.weights ? 'loaded' : 'trained', model, trainSeconds)];
log(`trained: AP50 ${stages[0].AP50.toFixed(4)}, AP ${stages[0].AP.toFixed(4)} after ${trainSeconds.toFixed(0)} s of training`);

// ---- 2. prune -------------------------------------------------------------------------------------
let ftSeconds = 0;
if (argv.prune > 0) {
  const tPrune = performance.now();
  const plan = planPruning(model, { all: true, amount: argv.prune, strategy: 'greedy', inputSize: input, minChannels: argv.pruneMinChannels });
  const { model: pruned, history } = applyPlan(model, plan);
  const pruneSeconds = (performance.now() - tPrune) / 1000;
  await saveCheckpoint(path.join(out, 'pruned'), pruned, config, { pruning: history, source: { kind: 'train-shapes', amount: argv.prune } });
  stages.push(await measure(`pruned ${argv.prune}`, pruned, pruneSeconds));
  log(`pruned ${argv.prune} (greedy, all groups): AP50 ${stages[1].AP50.toFixed(4)} in ${pruneSeconds.toFixed(1)} s`);

  // ---- 3. fine-tune -------------------------------------------------------------------------------
  if (argv.finetuneEpochs > 0) {
    const ftSettings = resolveTrainSettings(common, {
      epochs: argv.finetuneEpochs,
      lr0: argv.finetuneLr,
      lrMin: argv.finetuneLrMin,
      schedule: 'cosine',
      warmupEpochs: 0,
      flatEpochs: 0,
      valEvery: argv.valEvery,
      seed: argv.seed + 1,
    });
    const tFt = performance.now();
    await trainModel({
      model: pruned, config, trainSet, valSet, valGroundTruth: valGt, runDir: path.join(out, 'finetune'), settings: ftSettings,
      pruning: history, source: { kind: 'train-shapes-finetune' }, hooks: epochHooks('fine-tune', argv.finetuneEpochs),
    });
    ftSeconds = (performance.now() - tFt) / 1000;
    stages.push(await measure('fine-tuned', pruned, ftSeconds));
  }
  pruned.dispose();
}
model.dispose();

// ---- report ---------------------------------------------------------------------------------------
const table = fmtTable(stages);
console.log(`\n${table}\n`);
const target = stages[0].AP50 >= 0.5;
const recovered = stages.length === 3 ? stages[0].AP50 - stages[2].AP50 <= 0.05 : undefined;
log(`trained AP50 >= 0.5: ${target ? 'yes' : 'NO'}` + (recovered === undefined ? '' : `; fine-tuned within 0.05 of trained: ${recovered ? 'yes' : 'NO'}`));
log(`total ${elapsed()} (training ${trainSeconds.toFixed(0)} s, fine-tuning ${ftSeconds.toFixed(0)} s), load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
await writeFile(path.join(out, 'summary.json'), JSON.stringify({
  stages,
  table,
  targets: { trainedAP50AtLeast0_5: target, fineTunedWithin0_05: recovered },
  seconds: { data: dataSeconds, train: trainSeconds, finetune: ftSeconds, total: (performance.now() - t00) / 1000 },
  loadAverage: os.loadavg(),
  cores: os.availableParallelism?.() ?? os.cpus().length,
  backend: backend.detail ? `${backend.name} (${backend.detail})` : backend.name,
  recipe: { ...argv, _: undefined, $0: undefined, input, anchors, blocks: config.blocks },
  trainSettings,
}, null, 1) + '\n');
log(`wrote ${path.join(out, 'summary.json')}`);
