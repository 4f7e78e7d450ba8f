/**
 * Batch detection: forward pass -> decode -> per-image NMS -> boxes in original image pixels.
 * The one path that both evaluation and prediction use.
 */
import * as tf from '@tensorflow/tfjs';
import { decodeHeads, type DecodeOptions } from './decode.ts';
import { nmsDecoded, type Detection, type NmsOptions } from './nms.ts';
import { undoLetterboxBox, type LetterboxInfo, type LetterboxResult } from '../image/letterbox.ts';
import { PredictInputError } from './errors.ts';

/** Anything with a Keras-like predict: a tf.LayersModel, or a wrapper. */
export interface SyncPredictor {
  predict(x: tf.Tensor, config?: tf.ModelPredictConfig): tf.Tensor | tf.Tensor[];
}

/** A model run outside tfjs (onnx-predictor.ts): the heads of a [B, H, W, C] batch, NHWC, arrive later. */
export interface AsyncPredictor {
  predictAsync(x: tf.Tensor4D): Promise<tf.Tensor[]>;
}

export type Predictor = SyncPredictor | AsyncPredictor;

export function isAsyncPredictor(p: Predictor): p is AsyncPredictor {
  return typeof (p as Partial<AsyncPredictor>).predictAsync === 'function';
}

/** The heads of a batch, waited for: whoever calls owns (and disposes) them. */
export async function predictHeads(model: Predictor, x: tf.Tensor4D): Promise<tf.Tensor[]> {
  return isAsyncPredictor(model) ? model.predictAsync(x) : ([] as tf.Tensor[]).concat(model.predict(x));
}

export interface DetectOptions {
  /** Letterbox infos of the images when `images` is a tensor; without them boxes stay in input pixels. */
  infos?: (LetterboxInfo | undefined)[];
}

/** Stacks letterboxed images (all the same input size) into one [B, H, W, 3] tensor. */
export function stackLetterboxed(items: LetterboxResult[]): tf.Tensor4D {
  if (items.length === 0) throw new PredictInputError('stackLetterboxed: no images');
  const { inputW, inputH } = items[0].info;
  const per = inputW * inputH * 3;
  const data = new Float32Array(per * items.length);
  items.forEach((it, i) => {
    if (it.info.inputW !== inputW || it.info.inputH !== inputH) {
      throw new PredictInputError(`stackLetterboxed: image ${i} is ${it.info.inputW}x${it.info.inputH}, image 0 is ${inputW}x${inputH}`);
    }
    data.set(it.tensorData, i * per);
  });
  return tf.tensor4d(data, [items.length, inputH, inputW, 3]);
}

/**
 * Runs the model on a batch and returns the detections of each image, best score first.
 * images: a [B, H, W, 3] tensor (RGB / 255; not disposed), or letterboxed images (whose infos map the
 * boxes back to original pixels). Every intermediate tensor is disposed.
 */
export async function detectBatch(
  model: Predictor,
  images: tf.Tensor4D | LetterboxResult[],
  decodeOpts: DecodeOptions,
  nmsOpts: NmsOptions = {},
  opts: DetectOptions = {},
): Promise<Detection[][]> {
  const isTensor = images instanceof tf.Tensor;
  const infos = isTensor ? opts.infos : images.map((im) => im.info);
  const x = isTensor ? images : stackLetterboxed(images);
  const [batch, h, w] = x.shape;
  if (infos && infos.length !== batch) throw new PredictInputError(`detectBatch: ${infos.length} infos for a batch of ${batch}`);
  const inputSize = decodeOpts.inputSize;
  const [ih, iw] = typeof inputSize === 'number' ? [inputSize, inputSize] : inputSize;
  if (ih !== h || iw !== w) throw new PredictInputError(`detectBatch: images are ${w}x${h} but decode expects ${iw}x${ih}`);
  let decoded: tf.Tensor3D;
  try {
    if (isAsyncPredictor(model)) {
      const heads = await model.predictAsync(x);
      try {
        decoded = tf.tidy(() => decodeHeads(heads, decodeOpts));
      } finally {
        tf.dispose(heads);
      }
    } else {
      // The tfjs path stays one tidy: heads never outlive the decode.
      decoded = tf.tidy(() => {
        const out = model.predict(x);
        return decodeHeads(Array.isArray(out) ? out : [out], decodeOpts);
      });
    }
  } finally {
    if (!isTensor) x.dispose();
  }
  let data: Float32Array;
  try {
    data = (await decoded.data()) as Float32Array;
  } finally {
    decoded.dispose();
  }
  const [, rows, cols] = decoded.shape;
  const numClasses = cols - 5;
  const result: Detection[][] = [];
  for (let b = 0; b < batch; b++) {
    const dets = nmsDecoded(data.subarray(b * rows * cols, (b + 1) * rows * cols), rows, numClasses, nmsOpts);
    const info = infos?.[b];
    if (info) for (const d of dets) d.box = undoLetterboxBox(d.box, info);
    result.push(dets);
  }
  return result;
}
