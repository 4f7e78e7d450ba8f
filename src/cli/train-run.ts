/** Flags and the run shared by `train` and `finetune` (they differ in defaults and starting weights). */
import * as path from 'node:path';
import type { Argv } from 'yargs';
import cliProgress from 'cli-progress';
import { loadDatasetConfig, openDataset } from '../data/dataset-config.ts';
import { loadCocoJson } from '../eval/coco-io.ts';
import type { CocoGroundTruth } from '../eval/coco-types.ts';
import { loadCheckpoint, loadOptimizerState, readCheckpointMeta } from '../io/checkpoint.ts';
import { loadWeights } from '../io/load-weights.ts';
import { checkOutputFolder, TRAIN_RUN_FOLDER } from '../io/output-folder.ts';
import { hasPlaceholderClassNames, loadConfigFile, resolveConfig, type Yolov4Config } from '../model/config.ts';
import { buildYolov4 } from '../model/yolov4.ts';
import { existsSync, promises as fs } from 'node:fs';
import { resolveTrainSettings, DEFAULT_TRAIN_SETTINGS, type TrainSettings } from '../train/settings.ts';
import { trainModel, type TrainingState } from '../train/trainer.ts';
import { datasetInModelClasses } from '../train/dataset-classes.ts';
import { fitEpochDefaults } from '../train/epoch-defaults.ts';
import { planResume, refuseIgnoredFlags } from '../train/resume.ts';
import { explainWasmAbort, isWasmAbort } from '../train/wasm-abort.ts';
import { UsageError } from '../util/errors.ts';
import { useBackend } from './common.ts';

/** Defaults are shown in --help but not filled in, so the run knows which flags the user gave. */
const show = (v: unknown) => (Array.isArray(v) ? (v.length ? v.join(' ') : 'none') : String(v));

export function trainFlags(y: Argv, defaults: Partial<TrainSettings>) {
  const d = resolveTrainSettings(defaults);
  return y
    .option('data', { type: 'string', describe: 'dataset config JSON (see datasets/*.json)' })
    .option('config', { type: 'string', describe: 'model config JSON for a model trained from scratch (default configs/yolov4-small.json)' })
    .option('weights', { type: 'string', describe: 'start from these weights: checkpoint directory or .pth' })
    .option('out', { type: 'string', describe: 'run directory: checkpoints last/best, results.csv, results.png, args.json (default runs/<verb>-<time>); a folder holding anything else is refused' })
    .option('force', { type: 'boolean', describe: 'start a new run in the --out folder of an earlier run (its checkpoints are replaced); never overwrites anything else' })
    .option('resume', { type: 'string', describe: 'continue a run from its directory with its settings, optimizer state and lr position (dataset included); only --epochs (to extend it), --skip-bad and --data may be given with it' })
    .option('epochs', { type: 'number', defaultDescription: show(d.epochs), describe: 'number of epochs' })
    .option('batch', { type: 'number', defaultDescription: show(d.batchSize), describe: 'images per batch' })
    .option('subdivisions', { type: 'number', defaultDescription: show(d.subdivisions), describe: 'split each batch into n micro-batches with averaged gradients (less memory; darknet\'s subdivisions)' })
    .option('img-size', { type: 'number', describe: 'square training input size, a multiple of 32 (default: the model config\'s)' })
    .option('optimizer', { choices: ['sgd', 'adam'], defaultDescription: show(d.optimizer), describe: 'SGD with Nesterov momentum (reference) or Adam' })
    .option('lr0', { type: 'number', alias: 'lr', defaultDescription: show(d.lr0), describe: 'initial learning rate (before batch scaling)' })
    .option('lr-min', { type: 'number', defaultDescription: show(d.lrMin), describe: 'final learning rate' })
    .option('scale-lr', { type: 'boolean', defaultDescription: show(d.scaleLrByBatch), describe: 'scale lr by batch/64 with the reference\'s limits (--no-scale-lr to use lr0 as is)' })
    .option('momentum', { type: 'number', defaultDescription: show(d.momentum), describe: 'SGD momentum (Adam beta1)' })
    .option('weight-decay', { type: 'number', defaultDescription: show(d.weightDecay), describe: 'L2 weight decay on conv weights only' })
    .option('schedule', { choices: ['cosine', 'step', 'constant'], defaultDescription: show(d.schedule), describe: 'lr schedule after warm-up' })
    .option('warmup-epochs', { type: 'number', defaultDescription: show(d.warmupEpochs), describe: 'linear lr warm-up epochs' })
    .option('flat-epochs', { type: 'number', defaultDescription: show(d.flatEpochs), describe: 'last epochs at the minimum lr (cosine)' })
    .option('milestones', { type: 'number', array: true, defaultDescription: show(d.milestones), describe: 'step schedule: epochs where lr is multiplied by --gamma' })
    .option('gamma', { type: 'number', defaultDescription: show(d.gamma), describe: 'step schedule factor' })
    .option('freeze-epochs', { type: 'number', defaultDescription: show(d.freezeEpochs), describe: 'first epochs with the backbone frozen' })
    .option('ema', { type: 'boolean', defaultDescription: show(d.ema), describe: 'keep an exponential moving average of the weights (used for validation and best)' })
    .option('clip-grad', { type: 'number', defaultDescription: show(d.clipGradNorm), describe: 'clip the gradients\' global L2 norm (0: off)' })
    .option('augment', { type: 'boolean', defaultDescription: show(d.augment), describe: 'augmentation (--no-augment: letterbox only)' })
    .option('mosaic', { type: 'number', defaultDescription: show(d.mosaic), describe: 'mosaic probability (--no-mosaic: 0)' })
    .option('mixup', { type: 'number', defaultDescription: show(d.mixup), describe: 'mixup probability after mosaic (--no-mixup: 0)' })
    .option('mosaic-fraction', { type: 'number', defaultDescription: show(d.mosaicEpochsFraction), describe: 'mosaic/mixup only in this first fraction of epochs' })
    .option('multi-scale', { type: 'boolean', defaultDescription: show(d.multiScale), describe: 'random input size per batch in 0.5-1.5x' })
    .option('label-smoothing', { type: 'number', defaultDescription: show(d.labelSmoothing), describe: 'class label smoothing (0: off)' })
    .option('focal', { type: 'boolean', defaultDescription: show(d.focalObj), describe: 'focal loss for objectness' })
    .option('box-gain', { type: 'number', defaultDescription: show(d.boxGain), describe: 'weight of the CIoU box loss (0: the reference\'s 0.05)' })
    .option('anchor-iou', { type: 'number', defaultDescription: show(d.anchorIouThreshold), describe: 'darknet\'s iou_thresh (0.213 in yolov4.cfg): a box is also a positive for every anchor with shape IoU above it (0: best anchor only)' })
    .option('cls-gain', { type: 'number', defaultDescription: show(d.clsGain), describe: 'weight of the class loss (0: the reference\'s classes/80, which is small for few classes)' })
    .option('val-every', { type: 'number', defaultDescription: show(d.valEvery), describe: 'validation mAP every n epochs (and at the end); val loss every epoch' })
    .option('val-limit', { type: 'number', defaultDescription: show(d.valLimit), describe: 'only the first n val images for mAP (0: all)' })
    .option('save-period', { type: 'number', defaultDescription: show(d.savePeriod), describe: 'also keep a checkpoint every n epochs (0: off)' })
    .option('max-batches', { type: 'number', defaultDescription: show(d.maxBatchesPerEpoch), describe: 'stop each epoch after n batches (0: all); for quick runs' })
    .option('seed', { type: 'number', defaultDescription: show(d.seed), describe: 'seed of shuffling and augmentation' })
    .option('skip-bad', { type: 'boolean', defaultDescription: show(d.skipBad), describe: 'skip unreadable images with a warning instead of stopping' });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Flags = Record<string, any>;

/** Each training flag (as typed) and the argv key yargs gives it; in trainFlags' order. */
const SETTING_FLAGS: [flag: string, key: string][] = [
  'epochs', 'batch', 'subdivisions', 'img-size', 'optimizer', 'lr0', 'lr-min', 'scale-lr', 'momentum', 'weight-decay', 'schedule',
  'warmup-epochs', 'flat-epochs', 'milestones', 'gamma', 'freeze-epochs', 'ema', 'clip-grad', 'augment', 'mosaic', 'mixup',
  'mosaic-fraction', 'multi-scale', 'label-smoothing', 'focal', 'box-gain', 'anchor-iou', 'cls-gain', 'val-every', 'val-limit',
  'save-period', 'max-batches', 'seed', 'skip-bad',
].map((f) => [`--${f}`, f.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())]);

/** The flags the user typed (yargs fills no defaults for them, see `show`). */
function givenFlags(a: Flags, extra: string[] = []): string[] {
  return [...SETTING_FLAGS.filter(([, k]) => a[k] !== undefined).map(([f]) => f), ...extra.filter((f) => a[f.slice(2)] !== undefined)];
}

function flagSettings(a: Flags): Partial<TrainSettings> {
  return {
    epochs: a.epochs, batchSize: a.batch, optimizer: a.optimizer, lr0: a.lr0, lrMin: a.lrMin,
    scaleLrByBatch: a.scaleLr, momentum: a.momentum, weightDecay: a.weightDecay, schedule: a.schedule,
    warmupEpochs: a.warmupEpochs, flatEpochs: a.flatEpochs, milestones: a.milestones, gamma: a.gamma,
    freezeEpochs: a.freezeEpochs, ema: a.ema, clipGradNorm: a.clipGrad, augment: a.augment, mosaic: a.mosaic === false ? 0 : a.mosaic,
    mixup: a.mixup === false ? 0 : a.mixup, mosaicEpochsFraction: a.mosaicFraction, multiScale: a.multiScale, labelSmoothing: a.labelSmoothing,
    focalObj: a.focal, boxGain: a.boxGain, clsGain: a.clsGain, anchorIouThreshold: a.anchorIou, valEvery: a.valEvery, valLimit: a.valLimit, savePeriod: a.savePeriod, seed: a.seed,
    skipBad: a.skipBad, maxBatchesPerEpoch: a.maxBatches, subdivisions: a.subdivisions,
  };
}

function settingsFromFlags(a: Flags, defaults: Partial<TrainSettings>, inputSize: number): TrainSettings {
  const given = flagSettings(a);
  let settings: TrainSettings;
  try {
    settings = resolveTrainSettings(defaults, given, { inputSize });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const explicit = new Set(Object.entries(given).filter(([, v]) => v !== undefined).map(([k]) => k as keyof TrainSettings));
  const fitted = fitEpochDefaults(settings, explicit, defaults.epochs ?? DEFAULT_TRAIN_SETTINGS.epochs);
  fitted.notes.forEach((n) => console.error(n));
  return fitted.settings;
}

export async function runTraining(verb: 'train' | 'finetune', a: Flags, defaults: Partial<TrainSettings>): Promise<void> {
  let model;
  let config: Yolov4Config;
  let pruning: Awaited<ReturnType<typeof loadWeights>>['pruning'] = [];
  let resume: { state: TrainingState; optimizer?: { json: unknown; weights?: Uint8Array } } | undefined;
  let settings: TrainSettings;
  let dataPath: string | undefined = a.data;
  const runDir = path.resolve(a.resume ?? a.out ?? path.join('runs', `${verb}-${new Date().toISOString().replace(/[:.]/g, '-')}`));

  if (a.resume) {
    refuseIgnoredFlags(givenFlags(a, ['--weights', '--config', '--out', '--force']), a.resume, verb);
    const last = path.join(a.resume, 'last');
    const meta = await readCheckpointMeta(last);
    const state = meta.training as unknown as TrainingState | undefined;
    if (!state?.settings) throw new Error(`${last} has no training state to resume from`);
    const plan = planResume(state.settings, state.epoch, a.resume, { epochs: a.epochs, skipBad: a.skipBad, verb });
    await useBackend(a.backend, a.threads);
    ({ model } = await loadCheckpoint(last));
    config = meta.config;
    pruning = meta.pruning;
    settings = plan.settings;
    resume = { state, optimizer: await loadOptimizerState(last) };
    // The dataset is in the checkpoint's source (older runs: nowhere, so --data is needed).
    dataPath ??= (meta.source?.data as string | undefined) ?? ((meta.training as Record<string, unknown>).data as string | undefined);
    if (plan.note) console.error(plan.note);
    console.error(`resuming ${a.resume} at epoch ${state.epoch + 1}/${settings.epochs}, batch ${state.batchInEpoch}, step ${state.step}`);
  } else {
    if (verb === 'finetune' && !a.weights) throw new UsageError('finetune needs --weights (the pruned checkpoint or .pth to fine-tune)');
    if (!dataPath) throw new UsageError(`${verb} needs --data <dataset config>, e.g. datasets/tinycoco.json`);
    await checkOutputFolder(runDir, TRAIN_RUN_FOLDER, { force: a.force });
    await useBackend(a.backend, a.threads);
    if (a.weights) {
      const loaded = await loadWeights(a.weights);
      ({ model, config, pruning } = loaded);
    } else {
      config = a.config ? loadConfigFile(a.config) : loadConfigFile('configs/yolov4-small.json');
      model = undefined;
    }
    settings = settingsFromFlags(a, defaults, a.imgSize ?? config.inputSize);
  }
  if (!dataPath) throw new UsageError(`${verb} needs --data <dataset config>: ${a.resume} does not record its dataset`);
  const dataConfig = await loadDatasetConfig(dataPath);
  const trainSet = await openDataset(dataConfig, 'train', { skipBad: settings.skipBad });
  const valSet = await openDataset(dataConfig, 'val', { skipBad: settings.skipBad }).catch((e: Error) => {
    console.error(`no validation set (${e.message}); best is chosen by training loss`);
    return undefined;
  });
  if (!model) {
    // A new model adopts the dataset's classes.
    config = resolveConfig({ ...config, numClasses: trainSet.classNames.length, classNames: trainSet.classNames });
  } else if (hasPlaceholderClassNames(config.classNames) && config.numClasses === trainSet.classNames.length) {
    config = { ...config, classNames: trainSet.classNames };
  } else if (hasPlaceholderClassNames(config.classNames)) {
    throw new Error(`the weights have ${config.numClasses} unnamed classes but the dataset has ${trainSet.classNames.length}; train from a config instead`);
  } else {
    // Trained in the model's classes (the trainer moves the dataset's class ids); refused here, before a run folder exists.
    datasetInModelClasses(trainSet, config.classNames);
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
  const newRunDir = !existsSync(runDir);
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
    if (result.interrupted) {
      // Not finished: `train && next` must not go on.
      console.error(`continue with: yolo4 ${verb} --resume ${path.relative(process.cwd(), runDir) || '.'}`);
      process.exitCode = 130;
    } else {
      console.error(`done: ${path.join(runDir, 'best')} (best ${result.state.metricName} at epoch ${result.state.bestEpoch + 1}), ${path.join(runDir, 'last')}, results.csv, results.png`);
    }
  } catch (e) {
    bar.stop();
    // A run that never saved a checkpoint is no run: do not leave its folder behind.
    if (newRunDir && !existsSync(path.join(runDir, 'last'))) {
      await fs.rm(runDir, { recursive: true, force: true });
      console.error(`removed ${runDir}: no epoch was saved`);
    }
    throw isWasmAbort(e) ? explainWasmAbort(e, settings) : e;
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
    // After a wasm abort the backend is gone and dispose would throw over the real error.
    try { model.dispose(); } catch { /* the backend is dead */ }
  }
}
