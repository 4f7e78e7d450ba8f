/**
 * A faster Mish, x * tanh(softplus(x)), for backends whose Tanh/Softplus are scalar loops (tfjs wasm
 * 4.22: they took 32% of a full YOLOv4 forward at 416, more than every kernel but the convs).
 *
 * With p = sigmoid(-x) = 1 / (1 + e^x), softplus(x) = -log(p) and
 *   tanh(softplus(x)) = (1 - p^2) / (1 + p^2)
 * so mish(x) = x * (1 - p^2) / (1 + p^2): one Sigmoid (vectorized in XNNPACK on wasm) and cheap
 * arithmetic. It is exact in float32 for large |x| (p -> 0 gives x; p -> 1 gives x * 0) and needs no
 * clamping (sigmoid saturates without overflow).
 *
 * The gradient is supplied (tf.customGrad) instead of differentiating through 7 ops:
 *   d mish / dx = t + x * sigmoid(x) * (1 - t^2),  t = (1 - p^2)/(1 + p^2), sigmoid(x) = 1 - p,
 *   1 - t^2 = 4 p^2 / (1 + p^2)^2.
 */
import * as tf from '@tensorflow/tfjs';
import { mishKernel, mishKernelAvailable } from './mish-kernel.ts';

// customGrad's typing takes (...inputs: (Tensor | GradSaveFunc)[]); the call shape is (x, save).
const mishWithGrad = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const p = tf.sigmoid(tf.neg(x));
  const s = tf.square(p);
  save([x, p]); // d and t are recomputed in the backward pass: cheaper than keeping them alive
  return {
    value: tf.mul(x, tf.div(tf.sub(1, s), tf.add(s, 1))),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ps] = saved;
      const d = tf.add(tf.square(ps), 1);
      const t = tf.sub(tf.div(2, d), 1); // (1 - p^2) / (1 + p^2)
      // x * (1 - p) * 4 p^2 / d^2  ==  4 * x * (1 - p) * (p / d)^2
      const q = tf.div(ps, d);
      const dtdx = tf.mul(tf.mul(xs, tf.sub(1, ps)), tf.mul(tf.square(q), 4));
      return tf.mul(dy, tf.add(t, dtdx));
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

/** Mish (same values as src/model/mish.ts's `mish` to ~1e-6), faster on wasm/cpu, with its own gradient. */
export function mishFast(x: tf.Tensor): tf.Tensor {
  // One SIMD pass each way where the threaded wasm heap is reachable (mish-kernel.ts).
  if (mishKernelAvailable(x)) return mishKernel(x);
  return mishWithGrad(x) as tf.Tensor;
}

/** The same formula without customGrad (for inference-only paths; autodiff still works). */
export function mishFastInference(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const s = tf.square(tf.sigmoid(tf.neg(x)));
    return tf.mul(x, tf.div(tf.sub(1, s), tf.add(s, 1)));
  });
}
