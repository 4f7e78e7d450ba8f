/** Flags and the run shared by `train` and `finetune` (they differ in defaults and starting weights). */
import * as path from 'node:path';
import type { Argv } from 'yargs';
import cliProgress from 'cli-progress';
import { loadDatasetConfig, openDataset } from '../data/dataset-config.ts';
import { loadCocoJson } from '../eval/coco-io.ts';
import type { CocoGroundTruth } from '../eval/coco-types.ts';
import { loadCheckpoint, loadOptimizerState, readCheckpointMeta } from '../io/checkpoint.ts';
import { loadWeights } from '../io/load-weights.ts';
import { loadConfigFile, resolveConfig, type Yolov4Config } from '../model/config.ts';
import { buildYolov4 } from '../model/yolov4.ts';
import { resolveTrainSettings, type TrainSettings } from '../train/settings.ts';
import { trainModel, type TrainingState } from '../train/trainer.ts';
import { useBackend } from './common.ts';

export function trainFlags(y: Argv, defaults: Partial<TrainSettings>) {
  const d = resolveTrainSettings(defaults);
  return y
    .option('data', { type: 'string', describe: 'dataset config JSON (see datasets/*.json)' })
    .option('config', { type: 'string', describe: 'model config JSON for a model trained from scratch (default configs/yolov4-small.json)' })
    .option('weights', { type: 'string', describe: 'start from these weights: checkpoint directory or .pth' })
    .option('out', { type: 'string', describe: 'run directory: checkpoints last/best, results.csv, results.png, args.json (default runs/<verb>-<time>)' })
    .option('resume', { type: 'string', describe: 'continue an interrupted run from its directory (same settings, optimizer state and lr position)' })
    .option('epochs', { type: 'number', default: d.epochs, describe: 'number of epochs' })
    .option('batch', { type: 'number', default: d.batchSize, describe: 'images per batch' })
    .option('subdivisions', { type: 'number', default: d.subdivisions, describe: 'split each batch into n micro-batches with averaged gradients (less memory; darknet\'s subdivisions)' })
    .option('img-size', { type: 'number', describe: 'square training input size, a multiple of 32 (default: the model config\'s)' })
    .option('optimizer', { choices: ['sgd', 'adam'], default: d.optimizer, describe: 'SGD with Nesterov momentum (reference) or Adam' })
    .option('lr0', { type: 'number', alias: 'lr', default: d.lr0, describe: 'initial learning rate (before batch scaling)' })
    .option('lr-min', { type: 'number', default: d.lrMin, describe: 'final learning rate' })
    .option('scale-lr', { type: 'boolean', default: d.scaleLrByBatch, describe: 'scale lr by batch/64 with the reference\'s limits (--no-scale-lr to use lr0 as is)' })
    .option('momentum', { type: 'number', default: d.momentum, describe: 'SGD momentum (Adam beta1)' })
    .option('weight-decay', { type: 'number', default: d.weightDecay, describe: 'L2 weight decay on conv weights only' })
    .option('schedule', { choices: ['cosine', 'step', 'constant'], default: d.schedule, describe: 'lr schedule after warm-up' })
    .option('warmup-epochs', { type: 'number', default: d.warmupEpochs, describe: 'linear lr warm-up epochs' })
    .option('flat-epochs', { type: 'number', default: d.flatEpochs, describe: 'last epochs at the minimum lr (cosine)' })
    .option('milestones', { type: 'number', array: true, default: d.milestones, describe: 'step schedule: epochs where lr is multiplied by --gamma' })
    .option('gamma', { type: 'number', default: d.gamma, describe: 'step schedule factor' })
    .option('freeze-epochs', { type: 'number', default: d.freezeEpochs, describe: 'first epochs with the backbone frozen' })
    .option('ema', { type: 'boolean', default: d.ema, describe: 'keep an exponential moving average of the weights (used for validation and best)' })
    .option('clip-grad', { type: 'number', default: d.clipGradNorm, describe: 'clip the gradients\' global L2 norm (0: off)' })
    .option('augment', { type: 'boolean', default: d.augment, describe: 'augmentation (--no-augment: letterbox only)' })
    .option('mosaic', { type: 'number', default: d.mosaic, describe: 'mosaic probability (--no-mosaic: 0)' })
    .option('mixup', { type: 'number', default: d.mixup, describe: 'mixup probability after mosaic (--no-mixup: 0)' })
    .option('mosaic-fraction', { type: 'number', default: d.mosaicEpochsFraction, describe: 'mosaic/mixup only in this first fraction of epochs' })
    .option('multi-scale', { type: 'boolean', default: d.multiScale, describe: 'random input size per batch in 0.5-1.5x' })
    .option('label-smoothing', { type: 'number', default: d.labelSmoothing, describe: 'class label smoothing (0: off)' })
    .option('focal', { type: 'boolean', default: d.focalObj, describe: 'focal loss for objectness' })
    .option('box-gain', { type: 'number', default: d.boxGain, describe: 'weight of the CIoU box loss (0: the reference\'s 0.05)' })
    .option('anchor-iou', { type: 'number', default: d.anchorIouThreshold, describe: 'darknet\'s iou_thresh (0.213 in yolov4.cfg): a box is also a positive for every anchor with shape IoU above it (0: best anchor only)' })
    .option('cls-gain', { type: 'number', default: d.clsGain, describe: 'weight of the class loss (0: the reference\'s classes/80, which is small for few classes)' })
    .option('val-every', { type: 'number', default: d.valEvery, describe: 'validation mAP every n epochs (and at the end); val loss every epoch' })
    .option('val-limit', { type: 'number', default: d.valLimit, describe: 'only the first n val images for mAP (0: all)' })
    .option('save-period', { type: 'number', default: d.savePeriod, describe: 'also keep a checkpoint every n epochs (0: off)' })
    .option('max-batches', { type: 'number', default: d.maxBatchesPerEpoch, describe: 'stop each epoch after n batches (0: all); for quick runs' })
    .option('seed', { type: 'number', default: d.seed, describe: 'seed of shuffling and augmentation' })
    .option('skip-bad', { type: 'boolean', default: d.skipBad, describe: 'skip unreadable images with a warning instead of stopping' });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Flags = Record<string, any>;

function settingsFromFlags(a: Flags, defaults: Partial<TrainSettings>, inputSize: number): TrainSettings {
  return resolveTrainSettings(defaults, {
    epochs: a.epochs, batchSize: a.batch, inputSize, optimizer: a.optimizer, lr0: a.lr0, lrMin: a.lrMin,
    scaleLrByBatch: a.scaleLr, momentum: a.momentum, weightDecay: a.weightDecay, schedule: a.schedule,
    warmupEpochs: a.warmupEpochs, flatEpochs: a.flatEpochs, milestones: a.milestones, gamma: a.gamma,
    freezeEpochs: a.freezeEpochs, ema: a.ema, clipGradNorm: a.clipGrad, augment: a.augment, mosaic: a.mosaic === false ? 0 : a.mosaic,
    mixup: a.mixup === false ? 0 : a.mixup, mosaicEpochsFraction: a.mosaicFraction, multiScale: a.multiScale, labelSmoothing: a.labelSmoothing,
    focalObj: a.focal, boxGain: a.boxGain, clsGain: a.clsGain, anchorIouThreshold: a.anchorIou, valEvery: a.valEvery, valLimit: a.valLimit, savePeriod: a.savePeriod, seed: a.seed,
    skipBad: a.skipBad, maxBatchesPerEpoch: a.maxBatches, subdivisions: a.subdivisions,
  });
}

export async function runTraining(verb: 'train' | 'finetune', a: Flags, defaults: Partial<TrainSettings>): Promise<void> {
  await useBackend(a.backend, a.threads);
  let model;
  let config: Yolov4Config;
  let pruning: Awaited<ReturnType<typeof loadWeights>>['pruning'] = [];
  let resume: { state: TrainingState; optimizer?: { json: unknown; weights?: Uint8Array } } | undefined;
  let settings: TrainSettings;
  let dataPath: string | undefined = a.data;
  const runDir = path.resolve(a.resume ?? a.out ?? path.join('runs', `${verb}-${new Date().toISOString().replace(/[:.]/g, '-')}`));

  if (a.resume) {
    const last = path.join(a.resume, 'last');
    const meta = await readCheckpointMeta(last);
    const state = meta.training as unknown as TrainingState | undefined;
    if (!state?.settings) throw new Error(`${last} has no training state to resume from`);
    ({ model } = await loadCheckpoint(last));
    config = meta.config;
    pruning = meta.pruning;
    settings = state.settings;
    resume = { state, optimizer: await loadOptimizerState(last) };
    dataPath ??= ((meta.training as Record<string, unknown>).data as string | undefined);
    if (state.epoch >= settings.epochs) throw new Error(`${a.resume} already finished its ${settings.epochs} epochs`);
    console.error(`resuming ${a.resume} at epoch ${state.epoch + 1}/${settings.epochs}, batch ${state.batchInEpoch}, step ${state.step}`);
  } else {
    if (verb === 'finetune' && !a.weights) throw new Error('finetune needs --weights (the pruned checkpoint or .pth to fine-tune)');
    if (a.weights) {
      const loaded = await loadWeights(a.weights);
      ({ model, config, pruning } = loaded);
    } else {
      config = a.config ? loadConfigFile(a.config) : loadConfigFile('configs/yolov4-small.json');
      model = undefined;
    }
    settings = settingsFromFlags(a, defaults, a.imgSize ?? config.inputSize);
  }
  if (!dataPath) throw new Error(`${verb} needs --data <dataset config>, e.g. datasets/tinycoco.json`);
  const dataConfig = await loadDatasetConfig(dataPath);
  const trainSet = await openDataset(dataConfig, 'train', { skipBad: settings.skipBad });
  const valSet = await openDataset(dataConfig, 'val', { skipBad: settings.skipBad }).catch((e: Error) => {
    console.error(`no validation set (${e.message}); best is chosen by training loss`);
    return undefined;
  });
  if (trainSet.classNames.length !== config.numClasses) {
    if (model) {
      throw new Error(`the weights have ${config.numClasses} classes but the dataset has ${trainSet.classNames.length}; train from a config instead`);
    }
    config = resolveConfig({ ...config, numClasses: trainSet.classNames.length, classNames: trainSet.classNames });
  } else {
    config = { ...config, classNames: trainSet.classNames };
  }
  model ??= buildYolov4(config);
  let valGroundTruth: CocoGroundTruth | undefined;
  const valSource = dataConfig.val as { annotations?: string };
  if (valSet && dataConfig.format === 'coco' && valSource.annotations) valGroundTruth = await loadCocoJson<CocoGroundTruth>(valSource.annotations);

  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    console.error('\nstopping after this batch to save a resumable checkpoint (Ctrl-C again to quit now)');
  };
  process.on('SIGINT', onSigint);
  const bar = new cliProgress.SingleBar({
    format: '{epoch} |{bar}| {value}/{total} loss {loss} (box {box} obj {obj} cls {cls}) lr {lr} {ips} img/s ETA {eta_formatted}',
    hideCursor: true,
    clearOnComplete: false,
  }, cliProgress.Presets.shades_classic);
  const valBar = new cliProgress.SingleBar({ format: '  val mAP |{bar}| {value}/{total} images' }, cliProgress.Presets.shades_classic);
  console.error(`${verb}: ${trainSet.items.length} train / ${valSet?.items.length ?? 0} val images, ${config.numClasses} classes, input ${settings.inputSize}, run dir ${runDir}`);
  try {
    const result = await trainModel({
      model, config, trainSet, valSet, valGroundTruth, runDir, settings, pruning, resume,
      source: { kind: verb, data: path.resolve(dataPath) },
      hooks: {
        onEpochStart: (epoch, batches) => bar.start(batches, 0, { epoch: `epoch ${epoch + 1}/${settings.epochs}`, loss: '-', box: '-', obj: '-', cls: '-', lr: '-', ips: '-' }),
        onBatch: (p) => bar.update(p.batch, {
          loss: p.loss.toFixed(3), box: p.box.toFixed(3), obj: p.obj.toFixed(3), cls: p.cls.toFixed(3), lr: p.lr.toExponential(2), ips: p.imagesPerSecond.toFixed(1),
        }),
        onValidationProgress: (done, total) => {
          if (done <= 4 || done === total) valBar.start(total, done);
          valBar.update(done);
          if (done === total) valBar.stop();
        },
        onEpochEnd: (r) => {
          bar.stop();
          const ap = Number.isFinite(r.AP) ? ` AP ${r.AP.toFixed(4)} AP50 ${r.AP50.toFixed(4)}` : '';
          const vl = Number.isFinite(r.valLoss) ? ` val loss ${r.valLoss.toFixed(4)}` : '';
          console.error(`epoch ${r.epoch + 1}: loss ${r.loss.toFixed(4)}${vl}${ap} (${r.seconds.toFixed(1)} s)`);
        },
        shouldStop: () => stopRequested,
        log: (l) => console.error(l),
      },
    });
    bar.stop();
    if (!result.interrupted) console.error(`done: ${path.join(runDir, 'best')} (best ${result.state.metricName} at epoch ${result.state.bestEpoch + 1}), ${path.join(runDir, 'last')}, results.csv, results.png`);
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
    model.dispose();
  }
}
