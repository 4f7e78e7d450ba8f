/**
 * The exactness check of a plan: silencing the chosen channels in the original model and removing them
 * must give the same outputs (when every activation on the way maps 0 to 0: ReLU, LeakyReLU, Mish...).
 */
import * as tf from '@tensorflow/tfjs';
import { applyPlan, silenceChannels } from './apply.ts';
import type { PrunePlan } from './types.ts';
import { PruneGraphError } from './errors.ts';

export interface ExactnessReport {
  /** Largest |pruned - silenced| over all outputs. */
  maxAbsDiff: number;
  /** Largest |silenced| (to judge the difference). */
  maxAbs: number;
  outputShapes: number[][];
}

/** Runs both models on `input`; `pruned` defaults to applyPlan(model, plan). Leaves no tensors behind. */
export function checkExactness(model: tf.LayersModel, plan: PrunePlan, input: tf.Tensor | tf.Tensor[], pruned?: tf.LayersModel): ExactnessReport {
  const silenced = silenceChannels(model, plan);
  const small = pruned ?? applyPlan(model, plan).model;
  try {
    return tf.tidy(() => {
      const a = ([] as tf.Tensor[]).concat(silenced.predict(input) as tf.Tensor | tf.Tensor[]);
      const b = ([] as tf.Tensor[]).concat(small.predict(input) as tf.Tensor | tf.Tensor[]);
      let maxAbsDiff = 0;
      let maxAbs = 0;
      a.forEach((x, i) => {
        if (x.shape.join(',') !== b[i].shape.join(',')) {
          throw new PruneGraphError(`output ${i}: shape [${b[i].shape}] after pruning, [${x.shape}] before`);
        }
        maxAbsDiff = Math.max(maxAbsDiff, tf.max(tf.abs(tf.sub(x, b[i]))).dataSync()[0]);
        maxAbs = Math.max(maxAbs, tf.max(tf.abs(x)).dataSync()[0]);
      });
      return { maxAbsDiff, maxAbs, outputShapes: b.map((x) => x.shape) };
    });
  } finally {
    silenced.dispose();
    if (!pruned) small.dispose();
  }
}
