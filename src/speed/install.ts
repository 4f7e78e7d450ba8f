/**
 * Opt-in speedups that change no numbers beyond float rounding, installed process-wide:
 * - the cheaper FusedBatchNorm gradient (bn-grad.ts): no full-size Tile, ~5 instead of ~15 passes;
 * - Mish through one Sigmoid instead of Softplus + Tanh (mish-fast.ts), with a closed-form gradient;
 * - on wasm, 3x3 conv weight gradients as one XNNPACK conv (conv-filter-grad.ts);
 * - training-mode batch norm as one kernel forward and one backward on wasm and cpu (bn-train.ts).
 *
 * `installSpeedups()` makes every `Mish` layer (src/model/mish.ts) call mishFast. The cleaner
 * permanent form is to make `mish()` in src/model/mish.ts return mishFast(x); this patch exists so
 * that benchmarks and callers can opt in without touching the model code.
 */
import { Mish } from '../model/mish.ts';
import { registerFastBatchNormGrad, restoreBatchNormGrad } from './bn-grad.ts';
import { mishFast } from '../model/mish-fast.ts';
import { registerFastConvFilterGrad, restoreConvFilterGrad } from './conv-filter-grad.ts';
import * as tf from '@tensorflow/tfjs';
import { installBatchNormTrain } from './bn-train.ts';

export interface SpeedupOptions {
  /** Cheaper FusedBatchNorm gradient (training). Default true. */
  bnGrad?: boolean;
  /** Sigmoid-based Mish (inference and training). Default true. */
  mish?: boolean;
  /** 3x3 conv weight gradients as one conv (conv-filter-grad.ts) on the wasm backend. Default true. */
  convFilterGrad?: boolean;
  /** Training-mode BatchNormalization as one kernel each way on wasm and cpu (bn-train.ts). Default true. */
  bnTrain?: boolean;
}

const originalCall = Mish.prototype.call;

export function installSpeedups(opts: SpeedupOptions = {}): void {
  installBatchNormTrain(opts.bnTrain ?? true);
  if (opts.bnGrad ?? true) registerFastBatchNormGrad();
  else restoreBatchNormGrad();
  if (tf.findBackend('wasm')) {
    if (opts.convFilterGrad ?? true) registerFastConvFilterGrad('wasm');
    else restoreConvFilterGrad('wasm');
  }
  if (opts.mish ?? true) {
    Mish.prototype.call = function call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
      return mishFast(Array.isArray(inputs) ? inputs[0] : inputs);
    };
  } else {
    Mish.prototype.call = originalCall;
  }
}

/** Undoes installSpeedups. */
export function uninstallSpeedups(): void {
  installSpeedups({ bnGrad: false, mish: false, convFilterGrad: false, bnTrain: false });
}
