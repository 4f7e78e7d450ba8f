import { promises as fs } from 'node:fs';
import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import cliProgress from 'cli-progress';
import { loadDatasetConfig, openDataset } from '../data/dataset-config.ts';
import type { Dataset } from '../data/types.ts';
import { loadGroundTruth } from '../eval/coco-io.ts';
import type { CocoGroundTruth } from '../eval/coco-types.ts';
import { checkOutputTarget, saveCheckpoint, type PruneHistoryRecord } from '../io/checkpoint.ts';
import { checkOutputFolder, ITERATIVE_FOLDER, SENSITIVITY_FOLDER } from '../io/output-folder.ts';
import { loadConfigFile } from '../model/config.ts';
import { buildYolov4, convWidthsOf } from '../model/yolov4.ts';
import { loadWeights } from '../io/load-weights.ts';
import { applyPlan, checkExactness, formatPlan, planPruning, type Importance, type Strategy } from '../prune/index.ts';
import { DEFAULT_RATIOS, analyzeSensitivity, formatSensitivityTop, rankSensitivity, writeSensitivity } from '../jobs/sensitivity.ts';
import { iterativePrune, stepAmount, type StepRecord } from '../jobs/iterative.ts';
import type { Yolov4Config } from '../model/config.ts';
import { useBackend } from './common.ts';
import { FORCE_FLAG } from './import-darknet.ts';
import { formatPruneSummary, formatWidthChanges, summaryJson, type VerifyResult } from './prune-summary.ts';
import { INPUT_SIZE_ALIAS, withImgSizeAlias } from './img-size-flag.ts';

interface PruneArgs {
  weights?: string; config?: string; out?: string; layer?: string; layers?: string[]; all: boolean; amount?: number; amounts?: string;
  strategy: Strategy; importance: Importance; roundTo: number; minChannels: number; exclude?: string[]; groupReduction: string;
  pruneHeadInputs: boolean; seed: number; imgSize?: number; dryRun: boolean; force: boolean; verify: boolean; json: boolean; backend: string; threads: number;
  // --sensitivity
  sensitivity: boolean; data?: string; ratios?: string; limit?: number; proxy: boolean; proxyImages: number; top: number;
  // --iterative
  iterative: boolean; steps?: number; finetuneEpochs: number; maxMapDrop?: number; metric: 'AP50' | 'AP';
  batch: number; lr0: number; maxBatches: number; augment: boolean;
}

const command = 'prune';
const describe = 'Remove the filters with the smallest L1 norm (Li et al. 2017) and every coupled channel';

function builder(y: Argv) {
  return withImgSizeAlias(y)
    .option('weights', { type: 'string', describe: 'checkpoint directory or PyTorch .pth file to prune' })
    .option('config', { type: 'string', describe: 'instead of --weights: a model config JSON, freshly initialised (to see what a plan does to the architecture)' })
    .option('out', { type: 'string', describe: 'checkpoint directory for the pruned model, new or empty (required unless --dry-run); with --sensitivity or --iterative, a new or empty directory for their tables, plots and checkpoints' })
    .option('force', { ...FORCE_FLAG, describe: 'overwrite an existing checkpoint (or an earlier --sensitivity/--iterative run) at --out; never anything else' })
    .option('layer', { type: 'string', describe: 'prune one conv, by layer name (backbone.conv1.conv) or module prefix (backbone.conv1)' })
    .option('layers', { type: 'string', array: true, describe: "prune a set of convs: names or globs, e.g. 'conv2.*' (repeatable)" })
    .option('all', { type: 'boolean', default: false, describe: 'prune every prunable group (the heads\' output convs are never pruned)' })
    .option('amount', { type: 'number', describe: 'fraction of each group\'s channels to remove, 0..1: floor(amount*n) channels, never all' })
    .option('amounts', { type: 'string', describe: 'JSON file of per-layer amounts, e.g. {"conv2.*": 0.5, "backbone.stages.4.*": 0.2} (last match wins)' })
    .option('strategy', { choices: ['independent', 'greedy'] as const, default: 'greedy' as Strategy, describe: 'independent: rank every layer on the original kernels; greedy: rank in order on the already-shrunk network (kernels on removed maps not counted)' })
    .option('importance', { choices: ['l1', 'l2', 'bn-scale', 'random'] as const, default: 'l1' as Importance, describe: 'filter score: sum |w| (Li et al.), L2 norm, |BN gamma|, or seeded random (baseline)' })
    .option('round-to', { type: 'number', default: 1, describe: 'keep each pruned group\'s channel count a multiple of K' })
    .option('min-channels', { type: 'number', default: 1, describe: 'never leave a group narrower than this (groups already at or below it are not pruned)' })
    .option('exclude', { type: 'string', array: true, describe: 'layers (names or globs) never pruned, in addition to the heads\' output convs' })
    .option('group-reduction', { choices: ['root', 'sum', 'mean', 'max'], default: 'root', describe: 'score of a group of convs tied by residual adds: its first conv (root, as in the paper) or a sum/mean/max over all of them' })
    .option('prune-head-inputs', { type: 'boolean', default: false, describe: 'let the heads\' output convs lose input channels (frees yolo_headN.0 for pruning)' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of --importance random' })
    .option('img-size', { type: 'number', describe: 'input size for the FLOPs report, and of evaluation and fine-tuning with --sensitivity/--iterative (default: the model\'s)' })
    .option('input-size', INPUT_SIZE_ALIAS)
    .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan and change nothing' })
    .option('verify', { type: 'boolean', default: true, describe: 'check that the pruned model equals the original with the removed channels silenced (small random input)' })
    .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary instead of the plan' })
    .group(['sensitivity', 'data', 'ratios', 'limit', 'proxy', 'proxy-images', 'top'], 'Sensitivity analysis (Li et al. Fig. 2): every group pruned alone at each ratio, evaluated:')
    .option('sensitivity', { type: 'boolean', default: false, describe: 'prune each group (or those of --layer/--layers) alone at each --ratios value and evaluate; writes sensitivity.csv/.json/.png to --out <dir>' })
    .option('data', { type: 'string', describe: 'dataset config JSON: its val split is evaluated (mAP@0.5); --iterative also fine-tunes on its train split' })
    .option('ratios', { type: 'string', describe: `comma-separated fractions to prune, each in [0, 1] (default ${DEFAULT_RATIOS.join(',')})` })
    .option('limit', { type: 'number', describe: 'evaluate only the first n val images' })
    .option('proxy', { type: 'boolean', default: false, describe: 'metric: relative change of the head outputs instead of mAP (used anyway without --data; with --data on its first val images, else on seeded random inputs)' })
    .option('proxy-images', { type: 'number', default: 4, describe: 'number of inputs of the --proxy metric' })
    .option('top', { type: 'number', default: 5, describe: 'print the n most sensitive groups' })
    .group(['iterative', 'steps', 'finetune-epochs', 'max-map-drop', 'metric', 'batch', 'lr0', 'max-batches', 'augment'], 'Iterative prune + fine-tune (--amount is the target after all steps):')
    .option('iterative', { type: 'boolean', default: false, describe: 'prune in --steps steps of 1-(1-amount)^(1/steps) each, fine-tune and evaluate after each; writes step-<k>/checkpoint, best, steps.csv/.json/.png, steps-size.png to --out <dir>' })
    .option('steps', { type: 'number', describe: 'number of prune + fine-tune steps' })
    .option('finetune-epochs', { type: 'number', default: 1, describe: 'fine-tuning epochs per step (0: prune and evaluate only)' })
    .option('max-map-drop', { type: 'number', describe: 'stop after a step whose mAP@0.5 (after fine-tuning) is more than this below the unpruned model\'s (e.g. 0.05); best = the most pruned step within it' })
    .option('metric', { choices: ['AP50', 'AP'] as const, default: 'AP50' as const, describe: 'metric of --max-map-drop and best: mAP@0.5 or mAP@[.5:.95]' })
    .option('batch', { type: 'number', default: 8, describe: 'fine-tuning batch size' })
    .option('lr0', { type: 'number', default: 1e-3, describe: 'fine-tuning learning rate (constant, Li et al.)' })
    .option('max-batches', { type: 'number', default: 0, describe: 'stop each fine-tuning epoch after n batches (0: all)' })
    .option('augment', { type: 'boolean', default: true, describe: 'augmentation while fine-tuning (--no-augment: letterbox only)' })
    // Numeric ranges (--amount, --steps, ...) are checked for every verb in cli/validate-flags.ts.
    .check((a) => {
      const scopes = [a.layer !== undefined, (a.layers?.length ?? 0) > 0, a.all].filter(Boolean).length;
      if (a.sensitivity && a.iterative) throw new Error('give only one of --sensitivity, --iterative');
      if (scopes > 1) throw new Error('give only one of --layer, --layers, --all');
      if (!a.weights === !a.config) throw new Error('give --weights <ckpt|.pth> or --config <model.json>');
      if (a.sensitivity) {
        if (a.dryRun) throw new Error('--dry-run does not apply to --sensitivity');
        if (!a.out) throw new Error('give --out <dir> for the sensitivity table and plots');
        if (a.ratios !== undefined) parseRatios(a.ratios);
        return true;
      }
      if (scopes === 0 && !a.amounts) throw new Error('say what to prune: --layer, --layers, --all or --amounts');
      if (a.amount === undefined && !a.amounts) throw new Error('give --amount (0..1) or --amounts <file.json>');
      if (a.iterative) {
        if (a.dryRun) throw new Error('--dry-run does not apply to --iterative (use it without --iterative to see one plan)');
        if (!a.out) throw new Error('give --out <dir> for the step checkpoints and the steps table');
        if (!a.data) throw new Error('--iterative needs --data <dataset config> (fine-tuning and evaluation)');
        if (a.steps === undefined) throw new Error('--iterative needs --steps N (a positive integer)');
        return true;
      }
      if (!a.dryRun && !a.out) throw new Error('give --out <dir> for the pruned checkpoint (or --dry-run)');
      return true;
    })
    .example('$0 prune --weights ckpt --layers conv2.0 conv2.1 conv2.2 --amount 0.4 --out pruned', 'the three convs after SPP, greedy')
    .example('$0 prune --weights ckpt --all --amount 0.3 --strategy independent --dry-run', 'print the whole-network plan')
    .example('$0 prune --sensitivity --weights ckpt --data datasets/tinycoco.json --ratios 0.25,0.5,0.75 --out runs/sens', 'per-layer sensitivity (mAP@0.5 vs. fraction pruned)')
    .example('$0 prune --iterative --weights ckpt --data datasets/tinycoco.json --all --amount 0.5 --steps 3 --finetune-epochs 2 --max-map-drop 0.05 --out runs/iter', 'prune 50% in 3 steps of 20.6% with fine-tuning');
}

async function readAmounts(file: string): Promise<Record<string, number>> {
  const text = await fs.readFile(file, 'utf8').catch((e: Error) => { throw new Error(`cannot read --amounts file "${file}": ${e.message}`); });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`--amounts file "${file}" is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json) || Object.values(json).some((v) => typeof v !== 'number')) {
    throw new Error(`--amounts file "${file}" must be an object of layer pattern -> amount (number)`);
  }
  return json as Record<string, number>;
}

/** `--ratios 0.1,0.2` (commas and/or spaces). */
export function parseRatios(text: string): number[] {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const ratios = parts.map(Number);
  const bad = parts.find((p, i) => !(Number.isFinite(ratios[i]) && ratios[i] >= 0 && ratios[i] <= 1));
  if (bad !== undefined || ratios.length === 0) throw new Error(`--ratios must be comma-separated numbers in [0, 1], got '${text}'`);
  return ratios;
}

async function handler(argv: ArgumentsCamelCase<PruneArgs>): Promise<void> {
  await useBackend(argv.backend, argv.threads);
  // --out is checked before any work, so a refusal costs nothing.
  if (argv.sensitivity) {
    await checkOutputFolder(argv.out!, SENSITIVITY_FOLDER, { force: argv.force });
    return runSensitivity(argv);
  }
  if (argv.iterative) {
    await checkOutputFolder(argv.out!, ITERATIVE_FOLDER, { force: argv.force });
    return runIterative(argv);
  }
  if (!argv.dryRun) await checkOutputTarget(argv.out!, { force: argv.force });
  const loaded = await loadModel(argv);
  const { model, config } = loaded;
  const inputSize = argv.imgSize ?? config.inputSize;
  const amounts = argv.amounts ? await readAmounts(argv.amounts) : undefined;
  const plan = planPruning(model, {
    layer: argv.layer, layers: argv.layers, all: argv.all || (amounts !== undefined && !argv.layer && !argv.layers?.length),
    amount: argv.amount ?? (amounts ? 0 : undefined), amounts,
    strategy: argv.strategy, importance: argv.importance, roundTo: argv.roundTo, minChannels: argv.minChannels, exclude: argv.exclude,
    groupReduction: argv.groupReduction as never, pruneOutputInputs: argv.pruneHeadInputs, seed: argv.seed, inputSize,
  });
  if (!argv.json) console.log(formatPlan(plan));
  if (argv.dryRun) {
    if (argv.json) console.log(JSON.stringify(summaryJson(plan, convWidthsOf(model), undefined)));
    else console.log(formatPruneSummary(plan, { dryRun: true }));
    model.dispose();
    return;
  }
  const { model: pruned, history } = applyPlan(model, plan);
  try {
    let verify: VerifyResult | undefined;
    if (argv.verify) {
      const size = Math.min(inputSize, 128);
      const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 1);
      const d = checkExactness(model, plan, x, pruned);
      x.dispose();
      verify = { size, ...d, ok: d.maxAbsDiff <= 1e-3 * Math.max(1, d.maxAbs) };
      if (!verify.ok) {
        if (!argv.json) console.log(formatPruneSummary(plan, { verify }));
        throw new Error('the pruned model does not reproduce the silenced original; nothing was saved');
      }
    }
    await saveCheckpoint(argv.out!, pruned, config, {
      pruning: [...loaded.pruning, ...history],
      source: { kind: 'pruned', from: argv.weights ?? argv.config },
      overwrite: argv.force,
    });
    if (argv.json) console.log(JSON.stringify(summaryJson(plan, convWidthsOf(model), verify)));
    else console.log(`${formatWidthChanges(convWidthsOf(model), convWidthsOf(pruned))}\n${formatPruneSummary(plan, { verify, saved: argv.out })}`);
  } finally {
    model.dispose();
    pruned.dispose();
  }
}

async function loadModel(argv: PruneArgs): Promise<{ model: tf.LayersModel; config: Yolov4Config; pruning: PruneHistoryRecord[] }> {
  if (argv.weights) return loadWeights(argv.weights);
  const config = loadConfigFile(argv.config!);
  return { model: buildYolov4(config), config, pruning: [] };
}

interface DataSplits { val: Dataset; train?: Dataset; gt?: CocoGroundTruth }

async function loadData(file: string, withTrain: boolean, config: Yolov4Config): Promise<DataSplits> {
  const dc = await loadDatasetConfig(file);
  const val = await openDataset(dc, 'val');
  const train = withTrain ? await openDataset(dc, 'train') : undefined;
  if (val.classNames.length !== config.numClasses) {
    throw new Error(`the model has ${config.numClasses} classes but dataset '${dc.name}' has ${val.classNames.length}`);
  }
  const ann = (dc.val as { annotations?: string }).annotations;
  const gt = dc.format === 'coco' && ann ? await loadGroundTruth(ann) : undefined;
  return { val, train, gt };
}

const elapsed = (s: number) => (s >= 120 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`);

async function runSensitivity(argv: PruneArgs): Promise<void> {
  const { model, config } = await loadModel(argv);
  try {
    const data = argv.data ? await loadData(argv.data, false, config) : undefined;
    if (!data && !argv.json) console.error('no --data: using the proxy metric (relative change of the head outputs on seeded random inputs), not mAP');
    const layers = argv.layer !== undefined ? [argv.layer] : argv.layers;
    const bar = new cliProgress.SingleBar({
      format: 'sensitivity |{bar}| {value}/{total} {group} @ {ratio} | {duration_formatted} ETA {eta_formatted}',
      hideCursor: true, etaBuffer: 20,
    }, cliProgress.Presets.shades_classic);
    let started = false;
    const r = await analyzeSensitivity(model, config, {
      dataset: data?.val, groundTruth: data?.gt, ratios: argv.ratios !== undefined ? parseRatios(argv.ratios) : undefined,
      layers, exclude: argv.exclude, strategy: argv.strategy, importance: argv.importance, roundTo: argv.roundTo, minChannels: argv.minChannels,
      groupReduction: argv.groupReduction as never, pruneOutputInputs: argv.pruneHeadInputs, seed: argv.seed,
      limit: argv.limit, inputSize: argv.imgSize, proxy: argv.proxy, proxyImages: argv.proxyImages,
      onProgress: (done, total, info) => {
        if (!started) {
          bar.start(total, 0, { group: '', ratio: '' });
          started = true;
        }
        bar.update(done, { group: info.group, ratio: info.ratio });
      },
    });
    bar.stop();
    const files = await writeSensitivity(r, argv.out!);
    if (argv.json) {
      console.log(JSON.stringify({ metric: r.metric, images: r.images, seconds: r.seconds, baseline: r.baseline, ranking: rankSensitivity(r), files }));
      return;
    }
    console.log(`${r.groups.length} group${r.groups.length === 1 ? '' : 's'} x ${r.ratios.length} ratio${r.ratios.length === 1 ? '' : 's'} on ${r.images} ${r.metric === 'map' ? 'val images (mAP@0.5)' : 'inputs (proxy: relative change of the head outputs)'} in ${elapsed(r.seconds)}`);
    console.log(`most sensitive (of ${r.groups.length}):\n${formatSensitivityTop(r, argv.top)}`);
    console.log(`wrote ${files.csv}, ${files.json}, ${files.plots.map((p) => path.basename(p)).join(', ')}`);
  } finally {
    model.dispose();
  }
}

async function runIterative(argv: PruneArgs): Promise<void> {
  const loaded = await loadModel(argv);
  const { model, config } = loaded;
  const log = (l: string) => console.error(l);
  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    console.error('\nstopping after the current batch (Ctrl-C again to quit now)');
  };
  process.on('SIGINT', onSigint);
  const bar = new cliProgress.SingleBar({
    format: '  {epoch} |{bar}| {value}/{total} loss {loss} {ips} img/s ETA {eta_formatted}', hideCursor: true,
  }, cliProgress.Presets.shades_classic);
  const evalBar = new cliProgress.SingleBar({ format: '  eval {what} |{bar}| {value}/{total} images' }, cliProgress.Presets.shades_classic);
  try {
    const amounts = argv.amounts ? await readAmounts(argv.amounts) : undefined;
    const data = await loadData(argv.data!, argv.finetuneEpochs > 0, config);
    const steps = argv.steps!;
    if (argv.amount !== undefined) log(`iterative: target ${argv.amount} in ${steps} steps of ${(stepAmount(argv.amount, steps) * 100).toFixed(2)}% each, ${argv.finetuneEpochs} fine-tuning epoch(s) per step`);
    const r = await iterativePrune(model, config, {
      amount: argv.amount, amounts, all: argv.all || (amounts !== undefined && !argv.layer && !argv.layers?.length), layer: argv.layer, layers: argv.layers,
      exclude: argv.exclude, strategy: argv.strategy, importance: argv.importance, roundTo: argv.roundTo, minChannels: argv.minChannels, groupReduction: argv.groupReduction as never,
      pruneOutputInputs: argv.pruneHeadInputs, seed: argv.seed, steps, finetuneEpochs: argv.finetuneEpochs, maxMapDrop: argv.maxMapDrop, metric: argv.metric,
      trainSet: data.train, valSet: data.val, valGroundTruth: data.gt, inputSize: argv.imgSize, evalLimit: argv.limit,
      settings: { batchSize: argv.batch, lr0: argv.lr0, lrMin: argv.lr0, maxBatchesPerEpoch: argv.maxBatches, augment: argv.augment },
      outDir: argv.out!, force: argv.force, pruning: loaded.pruning, from: argv.weights ?? argv.config,
      hooks: {
        log,
        onEvalProgress: (done, total, what) => {
          if (done <= Math.min(total, 4) && !evalBar.isActive) evalBar.start(total, 0, { what });
          evalBar.update(done, { what });
          if (done === total) evalBar.stop();
        },
        train: {
          onEpochStart: (epoch, batches) => bar.start(batches, 0, { epoch: `fine-tune epoch ${epoch + 1}/${argv.finetuneEpochs}`, loss: '-', ips: '-' }),
          onBatch: (p) => bar.update(p.batch, { loss: p.loss.toFixed(3), ips: p.imagesPerSecond.toFixed(1) }),
          onEpochEnd: () => bar.stop(),
          shouldStop: () => stopRequested,
          log,
        },
      },
    });
    bar.stop();
    if (argv.json) {
      console.log(JSON.stringify(r));
      return;
    }
    console.log(formatSteps(r.baseline, r.records));
    console.log(`${r.stopped === 'completed' ? 'done' : `stopped (${r.stopped})`}: ${r.stopReason}`);
    if (r.best) console.log(`best: step ${r.best.step} -> ${r.best.checkpoint} (${r.best.reason})`);
    console.log(`wrote ${r.files.csv}, ${r.files.json}, ${r.files.plot}, ${r.files.sizePlot} in ${elapsed(r.seconds)}`);
  } finally {
    bar.stop();
    evalBar.stop();
    process.off('SIGINT', onSigint);
    model.dispose();
  }
}

function formatSteps(baseline: StepRecord, records: StepRecord[]): string {
  const all = [baseline, ...records];
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : '-');
  return [
    '| step | amount | params | GFLOPs | AP50 pruned | AP50 | AP | drop |',
    '|---|---|---|---|---|---|---|---|',
    ...all.map((r) => `| ${r.step} | ${r.step ? f(r.amount) : '-'} | ${r.params.toLocaleString('en-US')} (${(r.paramsRatio * 100).toFixed(1)}%) | ${(r.flops / 1e9).toFixed(3)} | ${f(r.AP50Pruned)} | ${f(r.AP50)} | ${f(r.AP)} | ${r.step ? f(r.drop) : '-'} |`),
  ].join('\n');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export default { command, describe, builder, handler } as CommandModule<any, any>;
