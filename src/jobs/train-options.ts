/**
 * The options of `yolo4 train` / `yolo4 finetune` (their flags, camelCase, undefined when not given) and
 * the training settings they make.
 */
import { DEFAULT_TRAIN_SETTINGS, resolveTrainSettings, type TrainSettings } from '../train/settings.ts';
import { fitEpochDefaults } from '../train/epoch-defaults.ts';
import { UsageError } from '../util/errors.ts';

export interface TrainRunOptions {
  /** Dataset config JSON. */
  data?: string;
  /** Model config JSON of a model trained from scratch (default configs/yolov4-small.json). */
  config?: string;
  /** Starting weights: checkpoint directory or .pth. */
  weights?: string;
  /** Run directory (default runs/<verb>-<time>). */
  out?: string;
  force?: boolean;
  /** Continue the run in this directory. */
  resume?: string;
  backend: string;
  threads?: number;
  // Training settings; undefined: the verb's default.
  epochs?: number; batch?: number; subdivisions?: number; imgSize?: number; optimizer?: TrainSettings['optimizer'];
  lr0?: number; lrMin?: number; scaleLr?: boolean; momentum?: number; weightDecay?: number; schedule?: TrainSettings['schedule'];
  warmupEpochs?: number; flatEpochs?: number; milestones?: number[]; gamma?: number; freezeEpochs?: number; ema?: boolean;
  clipGrad?: number; augment?: boolean; mosaic?: number | false; mixup?: number | false; mosaicFraction?: number;
  multiScale?: boolean; labelSmoothing?: number; focal?: boolean; boxGain?: number; anchorIou?: number; clsGain?: number;
  valEvery?: number; valLimit?: number; savePeriod?: number; maxBatches?: number; seed?: number; skipBad?: boolean;
}

/** The training settings' options, in the flags' order. */
const SETTING_KEYS: (keyof TrainRunOptions)[] = [
  'epochs', 'batch', 'subdivisions', 'imgSize', 'optimizer', 'lr0', 'lrMin', 'scaleLr', 'momentum', 'weightDecay', 'schedule',
  'warmupEpochs', 'flatEpochs', 'milestones', 'gamma', 'freezeEpochs', 'ema', 'clipGrad', 'augment', 'mosaic', 'mixup',
  'mosaicFraction', 'multiScale', 'labelSmoothing', 'focal', 'boxGain', 'anchorIou', 'clsGain', 'valEvery', 'valLimit',
  'savePeriod', 'maxBatches', 'seed', 'skipBad',
];

/** The flag of an option: imgSize -> --img-size. */
const flagOf = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** The flags the user gave: the settings', then those of `extra` (yargs fills no defaults for them). */
export function givenFlags(a: TrainRunOptions, extra: (keyof TrainRunOptions)[] = []): string[] {
  return [...SETTING_KEYS, ...extra].filter((k) => a[k] !== undefined).map(flagOf);
}

function flagSettings(a: TrainRunOptions): Partial<TrainSettings> {
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

export function settingsFromFlags(a: TrainRunOptions, defaults: Partial<TrainSettings>, inputSize: number): TrainSettings {
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
