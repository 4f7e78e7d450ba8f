/** A model to work on: trained weights (checkpoint or .pth) or a freshly initialised model config. */
import { loadWeights, type LoadedWeights } from '../io/load-weights.ts';
import { loadConfigFile, type Yolov4Config } from '../model/config.ts';
import { buildYolov4 } from '../model/yolov4.ts';
import { JobOptionError } from './errors.ts';

export interface ModelSource {
  /** Checkpoint directory or PyTorch .pth file. */
  weights?: string;
  /** Instead of weights: a model config JSON, built with fresh weights. */
  config?: string;
}

/**
 * Loads `weights`, or builds `config` (with an empty pruning history), or without either the
 * `fallback` config. The caller disposes the model.
 */
export async function openModel(source: ModelSource, fallback?: () => Yolov4Config): Promise<Pick<LoadedWeights, 'model' | 'config' | 'pruning'>> {
  if (source.weights) return loadWeights(source.weights);
  if (!source.config && !fallback) throw new JobOptionError('give --weights <ckpt|.pth> or --config <model.json>');
  const config = source.config ? loadConfigFile(source.config) : fallback!();
  return { model: buildYolov4(config), config, pruning: [] };
}

/** Where the model came from, as recorded in a checkpoint's source. */
export const modelOrigin = (source: ModelSource): string | undefined => source.weights ?? source.config;
