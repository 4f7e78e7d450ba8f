/**
 * The loader options of a training run and of its validation loss. Both fit unaugmented images the
 * way the model is evaluated and used (`inputResizeMode`): a darknet checkpoint is stretched
 * (plain resize), a YOLOv4 one letterboxed, so validation measures what eval and predict will see.
 * (Augmented training batches keep the reference's letterbox-style placement and mosaic.)
 */
import type { LoaderOptions } from '../data/loader.ts';
import type { WarnFn } from '../data/types.ts';
import { inputResizeMode, type Yolov4Config } from '../model/config.ts';
import type { TrainSettings } from './settings.ts';

type ModeConfig = Pick<Yolov4Config, 'architecture' | 'resizeMode'>;

export function trainLoaderOptions(config: ModeConfig, s: TrainSettings, trainImages: number, warn: WarnFn): LoaderOptions {
  return {
    batchSize: s.batchSize,
    inputSize: s.inputSize,
    augment: s.augment ? { mosaic: s.mosaic, mixup: s.mixup } : false,
    resizeMode: inputResizeMode(config),
    seed: s.seed,
    skipBad: s.skipBad,
    warn,
    dropLast: trainImages > s.batchSize,
  };
}

export function validationLoaderOptions(config: ModeConfig, s: TrainSettings, warn: WarnFn): LoaderOptions {
  return {
    batchSize: s.batchSize,
    inputSize: s.inputSize,
    augment: false,
    resizeMode: inputResizeMode(config),
    shuffle: false,
    seed: 0,
    skipBad: s.skipBad,
    warn,
  };
}
