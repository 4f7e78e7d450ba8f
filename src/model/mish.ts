import * as tf from '@tensorflow/tfjs';

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
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      return mish(x);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }
}

/** Mish on a tensor; softplus is computed stably by tf.softplus. */
export function mish(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.tanh(tf.softplus(x))));
}

tf.serialization.registerClass(Mish);
