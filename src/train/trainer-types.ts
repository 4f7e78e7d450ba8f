/**
 * The shapes a training run is described by: its input (TrainRun), the position saved in every
 * checkpoint (TrainingState), the progress hooks, and what a run returns.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Yolov4Config } from '../model/config.ts';
import type { Dataset } from '../data/types.ts';
import type { PruneHistoryRecord } from '../io/checkpoint.ts';
import type { CocoGroundTruth } from '../eval/coco-types.ts';
import type { TrainSettings } from './settings.ts';
import type { EpochRecord } from './results.ts';

/** Where a run is; saved in every checkpoint's meta.training. */
export interface TrainingState {
  /** The epoch to run next (epochs before it are complete, except for `batchInEpoch` batches of it). */
  epoch: number;
  batchInEpoch: number;
  step: number;
  bestMetric: number;
  bestEpoch: number;
  metricName: string;
  emaUpdates: number;
  settings: TrainSettings;
}

export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  lr: number;
  loss: number;
  box: number;
  obj: number;
  cls: number;
  imagesPerSecond: number;
}

export interface TrainHooks {
  onEpochStart?: (epoch: number, batches: number) => void;
  onBatch?: (p: BatchProgress) => void;
  onEpochEnd?: (r: EpochRecord) => void;
  onValidationProgress?: (done: number, total: number) => void;
  /** Polled after every batch: true saves a resumable `last` checkpoint and returns. */
  shouldStop?: () => boolean;
  log?: (line: string) => void;
}

export interface TrainRun {
  model: tf.LayersModel;
  config: Yolov4Config;
  trainSet: Dataset;
  valSet?: Dataset;
  valGroundTruth?: CocoGroundTruth;
  runDir: string;
  settings: TrainSettings;
  /** Pruning history carried into every checkpoint. */
  pruning?: PruneHistoryRecord[];
  source?: Record<string, unknown>;
  resume?: { state: TrainingState; optimizer?: { json: unknown; weights?: Uint8Array } };
  hooks?: TrainHooks;
}

export interface TrainResult {
  state: TrainingState;
  records: EpochRecord[];
  interrupted: boolean;
}
