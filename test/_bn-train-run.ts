// Shared by speed-bn-train.test.ts and its threaded child (_bn-train-child.ts): one training-mode
// pass of a BatchNormalization layer, with our kernels (fast) or tfjs-layers' own path.
import * as tf from '@tensorflow/tfjs';
import { installBatchNormTrain } from '../src/speed/bn-train.ts';
import { mulberry32 } from '../src/util/mulberry32.ts';

const rand = mulberry32(11);
export const values = (n: number, scale = 1, shift = 0) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale + shift);

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let size = 1e-12;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    size = Math.max(size, Math.abs(b[i]));
  }
  return diff / size;
}

export interface Run { y: Float32Array; movingMean: Float32Array; movingVariance: Float32Array; dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array }

export function trainOnce(fast: boolean, shape: number[], xValues: Float32Array, weight: Float32Array, params: Float32Array[]): Run {
  installBatchNormTrain(fast);
  const layer = tf.layers.batchNormalization({ axis: -1, epsilon: 1e-5, momentum: 0.9 });
  layer.build(shape);
  layer.setWeights(params.map((p) => tf.tensor1d(p)));
  const x = tf.variable(tf.tensor(xValues, shape));
  const w = tf.tensor(weight, shape);
  const [gamma, beta] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  let y: Float32Array = new Float32Array();
  const { value, grads } = tf.variableGrads(() => {
    const out = layer.apply(x, { training: true }) as tf.Tensor;
    y = out.dataSync() as Float32Array;
    return tf.sum(tf.mul(out, w));
  }, [x, gamma, beta]);
  const weights = layer.getWeights();
  const run: Run = {
    y, dx: grads[x.name].dataSync() as Float32Array,
    dgamma: grads[gamma.name].dataSync() as Float32Array, dbeta: grads[beta.name].dataSync() as Float32Array,
    movingMean: weights[2].dataSync() as Float32Array, movingVariance: weights[3].dataSync() as Float32Array,
  };
  tf.dispose([x, w, value, ...Object.values(grads), ...layer.weights.map((v) => v.read())]);
  installBatchNormTrain(false);
  return run;
}


/** Max relative difference per output between our kernels and tfjs-layers' path on `shape`. */
export function compareWithLayers(shape: number[]): { errors: Record<string, number>; ours: Run; weight: Float32Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  const xValues = values(n, 2, 0.5);
  const weight = values(n);
  const c = shape[shape.length - 1];
  const params = [values(c, 0.5, 1), values(c, 0.3), values(c, 0.2), values(c, 0.2, 1)];
  const ours = trainOnce(true, shape, xValues, weight, params);
  const theirs = trainOnce(false, shape, xValues, weight, params);
  const errors = Object.fromEntries((Object.keys(ours) as (keyof Run)[]).map((k) => [k, relErr(ours[k], theirs[k])]));
  return { errors, ours, weight };
}
