/**
 * Exponential moving average of all model weights (trainable and BN statistics), with the usual
 * warm-up of the decay, d = decay * (1 - exp(-updates / tau)), so early averages follow the weights.
 */
import * as tf from '@tensorflow/tfjs';
import { TrainStateMismatchError } from './errors.ts';

export class ModelEma {
  updates: number;
  private shadow: tf.Tensor[];

  constructor(private readonly model: tf.LayersModel, readonly decay = 0.9999, readonly tau = 2000, updates = 0) {
    this.updates = updates;
    this.shadow = model.weights.map((w) => tf.keep(w.read().clone()));
  }

  update(): void {
    this.updates += 1;
    const d = this.decay * (1 - Math.exp(-this.updates / this.tau));
    const weights = this.model.weights;
    const next = tf.tidy(() => weights.map((w, i) => tf.add(tf.mul(this.shadow[i], d), tf.mul(w.read(), 1 - d))));
    tf.dispose(this.shadow);
    this.shadow = next;
  }

  /** Runs fn with the averaged weights loaded into the model, then puts the live weights back. */
  async withAveraged<T>(fn: () => Promise<T>): Promise<T> {
    // tfjs tensors are immutable and assign() swaps data ids, so these are reference moves, not copies.
    const live = this.model.weights.map((w) => w.read().clone());
    this.model.weights.forEach((w, i) => w.write(this.shadow[i]));
    try {
      return await fn();
    } finally {
      this.model.weights.forEach((w, i) => w.write(live[i]));
      tf.dispose(live);
    }
  }

  /** Replaces the shadow weights (for resume). */
  load(tensors: tf.Tensor[], updates: number): void {
    if (tensors.length !== this.shadow.length) throw new TrainStateMismatchError(`EMA state has ${tensors.length} tensors, the model ${this.shadow.length}`);
    tf.dispose(this.shadow);
    this.shadow = tensors.map((t) => tf.keep(t.clone()));
    this.updates = updates;
  }

  tensors(): tf.Tensor[] {
    return this.shadow;
  }

  dispose(): void {
    tf.dispose(this.shadow);
    this.shadow = [];
  }
}
