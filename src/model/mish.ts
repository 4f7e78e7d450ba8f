import * as tf from '@tensorflow/tfjs';
import { mishFast } from './mish-fast.ts';

/**
 * Mish activation, x * tanh(softplus(x)) (Misra 2019), as a serializable layer so that
 * checkpoints reload with `tf.loadLayersModel` once this module is imported.
 */
export class Mish extends tf.layers.Layer {
  static className = 'Mish';

  constructor(args: { name?: string; trainable?: boolean } = {}) {
    super(args);
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    // The sigmoid form (mish-fast.ts): same values to ~1e-6, several times faster on
    // wasm/cpu whose Tanh and Softplus are scalar loops, with a closed-form gradient.
    return tf.tidy(() => mishFast(Array.isArray(inputs) ? inputs[0] : inputs));
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }
}

/** Mish by its definition (the reference the fast form is tested against); softplus is stable in tf. */
export function mish(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.tanh(tf.softplus(x))));
}

tf.serialization.registerClass(Mish);
