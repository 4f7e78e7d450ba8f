/**
 * A cheaper gradient for the FusedBatchNorm kernel (tf.batchNorm), same values as tfjs-core's.
 *
 * tfjs-core 4.22's gradient materializes `tile(rsqrt(var + eps), [N, H, W, 1])` (a full-size Tile,
 * 21% of a small-YOLOv4 training step on wasm: Tile there is a scalar loop) and spends ~15 full-size
 * passes per BN layer. This one broadcasts instead of tiling and shares the two reductions all
 * parameter gradients need:
 *   r = rsqrt(var + eps), g = scale (1 if absent), S1 = sum(dy), S2 = sum(dy * (x - mean))
 *   dx = dy * (g r)            dmean = -g r S1        dvar = -0.5 g r^3 S2
 *   dscale = r S2              doffset = S1
 * (sums over every axis but the channel axis). 5 full-size passes instead of ~15, no Tile.
 *
 * `registerFastBatchNormGrad()` replaces the registered gradient process-wide (all backends);
 * `restoreBatchNormGrad()` puts tfjs's back.
 */
import * as tf from '@tensorflow/tfjs';
import { KernelInputError } from '../backend/errors.ts';

type GradFunc = tf.GradConfig['gradFunc'];

function reductionAxes(meanShape: number[], xShape: number[]): number[] {
  // Same rule as tfjs's getReductionAxes: broadcast axes of `mean` against x.
  const axes: number[] = [];
  const offset = xShape.length - meanShape.length;
  for (let i = 0; i < xShape.length; i++) {
    const m = i - offset;
    if (m < 0 || (meanShape[m] === 1 && xShape[i] > 1)) axes.push(i);
  }
  return axes;
}

const fastGradFunc: GradFunc = (dy, saved, attrs) => {
  const dyT = dy as tf.Tensor;
  const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
  const [x, mean, variance, scale] = saved as (tf.Tensor | undefined)[];
  if (!x || !mean || !variance) throw new KernelInputError('FusedBatchNorm gradient: missing saved tensors');
  const axes = reductionAxes(mean.shape, x.shape);
  const reduce = (t: tf.Tensor) => tf.reshape(axes.length ? tf.sum(t, axes) : t, mean.shape);

  // The shared [C]-sized pieces, computed once per node (tfjs runs each input's closure below in its
  // own tidy, so nothing can be memoized across closures). The tidy frees the full-size temporaries
  // now; the small results live until the whole backward pass ends. Computing S1/S2 eagerly costs 4
  // full-size passes that a node needing only dx would not use; in training (BN statistics from the
  // batch) every gradient is needed.
  const [r, gr, S1, S2] = tf.tidy(() => {
    const rv = tf.rsqrt(tf.add(variance, varianceEpsilon));
    return [rv, scale ? tf.mul(scale, rv) : rv.clone(), reduce(dyT), reduce(tf.mul(dyT, tf.sub(x, mean)))];
  });

  return {
    x: () => tf.mul(dyT, gr),
    mean: () => tf.neg(tf.mul(gr, S1)),
    variance: () => tf.mul(tf.mul(gr, tf.square(r)), tf.mul(S2, -0.5)),
    scale: () => tf.mul(r, S2),
    offset: () => S1.clone(), // a distinct tensor: the engine owns (and may dispose) each result
  };
};

let original: tf.GradConfig | undefined;

/** Installs the cheaper FusedBatchNorm gradient (idempotent). */
export function registerFastBatchNormGrad(): void {
  const current = tf.getGradient('FusedBatchNorm');
  if (current?.gradFunc === fastGradFunc) return;
  original ??= current;
  tf.registerGradient({
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: fastGradFunc,
  });
}

/** Puts tfjs-core's own FusedBatchNorm gradient back. */
export function restoreBatchNormGrad(): void {
  if (original) tf.registerGradient(original);
}
