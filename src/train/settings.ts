/**
 * Every training setting with the reference recipe's defaults (see docs in README, "Training").
 * Stored in the run's args.json and in each checkpoint, so `--resume` continues with the same ones.
 */
import { TrainOptionError } from './errors.ts';
export interface TrainSettings {
  epochs: number;
  batchSize: number;
  inputSize: number;
  optimizer: 'sgd' | 'adam';
  /** Start and final learning rates before batch scaling (reference: 1e-2 -> 1e-4 for SGD). */
  lr0: number;
  lrMin: number;
  /** Scale lr by batch/64 with the reference's clamps. */
  scaleLrByBatch: boolean;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  schedule: 'cosine' | 'step' | 'constant';
  warmupEpochs: number;
  /** Epochs at the minimum lr at the end (cosine). */
  flatEpochs: number;
  /** Step schedule: epochs at which lr is multiplied by gamma. */
  milestones: number[];
  gamma: number;
  /** Epochs with the backbone frozen at the start. */
  freezeEpochs: number;
  ema: boolean;
  emaDecay: number;
  /** Clip the gradients' global L2 norm to this (0: off). */
  clipGradNorm: number;
  /** Augmentation on/off; mosaic and mixup probabilities when on. */
  augment: boolean;
  mosaic: number;
  mixup: number;
  /** Mosaic and mixup only during this first fraction of the epochs. */
  mosaicEpochsFraction: number;
  /** Random input size per batch in [0.5, 1.5] x inputSize (multiples of 32). */
  multiScale: boolean;
  labelSmoothing: number;
  focalObj: boolean;
  /** Loss gains; 0 means the reference's: box 0.05, classes numClasses / 80 (tiny for few classes). */
  boxGain: number;
  clsGain: number;
  /** Darknet's iou_thresh (0.213 in yolov4.cfg): also assign boxes to anchors with shape IoU above it; 0: best anchor only (the PyTorch reference). */
  anchorIouThreshold: number;
  /** Validate (mAP) every n epochs (0: only val loss) and on the last epoch. */
  valEvery: number;
  /** Only the first n val images for mAP (0: all). */
  valLimit: number;
  /** Also keep a checkpoint every n epochs (0: only last and best). */
  savePeriod: number;
  seed: number;
  skipBad: boolean;
  /** Stop each epoch after this many batches (0: all); for quick runs and tests. */
  maxBatchesPerEpoch: number;
  /** Run each batch as this many micro-batches with averaged gradients (less memory, same step). */
  subdivisions: number;
}

export const DEFAULT_TRAIN_SETTINGS: TrainSettings = {
  epochs: 300,
  batchSize: 8,
  inputSize: 416,
  optimizer: 'sgd',
  lr0: 1e-2,
  lrMin: 1e-4,
  scaleLrByBatch: true,
  momentum: 0.937,
  nesterov: true,
  weightDecay: 5e-4,
  schedule: 'cosine',
  warmupEpochs: 3,
  flatEpochs: 15,
  milestones: [],
  gamma: 0.1,
  freezeEpochs: 50,
  ema: false,
  emaDecay: 0.9999,
  clipGradNorm: 0,
  augment: true,
  mosaic: 0.5,
  mixup: 0.5,
  mosaicEpochsFraction: 0.7,
  multiScale: false,
  labelSmoothing: 0,
  focalObj: false,
  boxGain: 0,
  clsGain: 0,
  anchorIouThreshold: 0,
  valEvery: 10,
  valLimit: 0,
  savePeriod: 0,
  seed: 0,
  skipBad: false,
  maxBatchesPerEpoch: 0,
  subdivisions: 1,
};

/** Li et al. retrain pruned networks at a constant, small lr; fine-tuning defaults follow that. */
export const DEFAULT_FINETUNE_SETTINGS: Partial<TrainSettings> = {
  epochs: 20,
  lr0: 1e-3,
  lrMin: 1e-3,
  scaleLrByBatch: false,
  schedule: 'constant',
  warmupEpochs: 0,
  flatEpochs: 0,
  freezeEpochs: 0,
  mosaicEpochsFraction: 0.5,
};

export function resolveTrainSettings(...parts: Partial<TrainSettings>[]): TrainSettings {
  const s = Object.assign({}, DEFAULT_TRAIN_SETTINGS, ...parts.map((p) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)))) as TrainSettings;
  const positiveInt = (k: keyof TrainSettings) => {
    const v = s[k] as number;
    if (!Number.isInteger(v) || v <= 0) throw new TrainOptionError(`${k} must be a positive integer, got ${v}`);
  };
  positiveInt('epochs');
  positiveInt('batchSize');
  positiveInt('inputSize');
  positiveInt('subdivisions');
  if (s.inputSize % 32 !== 0) throw new TrainOptionError(`inputSize must be a multiple of 32, got ${s.inputSize}`);
  if (!(s.lr0 > 0) || !(s.lrMin >= 0)) throw new TrainOptionError(`learning rates must be positive (lr0 ${s.lr0}, lrMin ${s.lrMin})`);
  if (s.optimizer !== 'sgd' && s.optimizer !== 'adam') throw new TrainOptionError(`optimizer must be sgd or adam, got ${s.optimizer}`);
  if (!(s.boxGain >= 0) || !(s.clsGain >= 0)) throw new TrainOptionError(`loss gains must be >= 0 (boxGain ${s.boxGain}, clsGain ${s.clsGain})`);
  if (!(s.anchorIouThreshold >= 0 && s.anchorIouThreshold < 1)) throw new TrainOptionError(`anchorIouThreshold must be in [0, 1), got ${s.anchorIouThreshold}`);
  if (!['cosine', 'step', 'constant'].includes(s.schedule)) throw new TrainOptionError(`schedule must be cosine, step or constant, got ${s.schedule}`);
  return s;
}
