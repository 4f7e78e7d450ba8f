/** The mean YOLO loss over (a limited part of) the validation set, without augmentation. */
import * as tf from '@tensorflow/tfjs';
import { createLoader, type LoaderOptions } from '../data/loader.ts';
import type { Dataset } from '../data/types.ts';
import { yoloLoss, type YoloLossOptions } from './loss.ts';

export async function validationLoss(model: tf.LayersModel, valSet: Dataset, lossOpts: YoloLossOptions, loaderOpts: LoaderOptions, valLimit: number): Promise<number> {
  const loader = createLoader(valSet, loaderOpts);
  let sum = 0;
  let n = 0;
  const limit = valLimit > 0 ? Math.ceil(valLimit / loaderOpts.batchSize) : Infinity;
  for await (const batch of loader.epoch(0)) {
    if (batch.index >= limit) {
      batch.images.dispose();
      break;
    }
    const lossT = tf.tidy(() => yoloLoss(model.predict(batch.images) as tf.Tensor[], batch.targets, lossOpts).total);
    const l = (await lossT.data())[0];
    lossT.dispose();
    batch.images.dispose();
    sum += l;
    n += 1;
  }
  return sum / Math.max(1, n);
}
