/**
 * Batch normalization in training mode (batch statistics) as one kernel forward and one backward,
 * for NHWC tensors on the wasm and cpu backends.
 *
 * tfjs-layers' training path is `moments` (Mean, Sub, Square, Mean: on wasm each reduction over
 * N, H, W first transposes the whole tensor) then `batchNorm`, and autodiff walks all of it back
 * through broadcasting Sub/Mul/Sum ops: ~25 full-size passes per layer, a third of a small-YOLOv4
 * training step. Here (per channel c, M = N*H*W values, sums in float64):
 *   forward   mean = S(x)/M, var = S((x-mean)^2)/M, r = 1/sqrt(var+eps), y = (x-mean) r gamma + beta
 *   backward  dbeta = S(dy), dgamma = r S(dy (x-mean)),
 *             dx = gamma r (dy - S(dy)/M - (x-mean) r^2 S(dy (x-mean))/M)
 * (the standard batch-norm gradient, mean and variance differentiated through): 3 passes forward,
 * 2 backward. Same values as tfjs's path within float32 rounding (test/speed-bn-train.test.ts).
 * On the wasm backend's threaded build the passes run as WebAssembly SIMD in place
 * (batch-norm-simd.ts); elsewhere as the plain loops below.
 * The batch mean and (biased) variance are outputs too, for the moving averages; no gradient flows
 * back through them (nothing in a loss depends on them).
 */
import * as tf from '@tensorflow/tfjs';
import { HOST_MEMORY_BACKENDS, kernelIO } from '../backend/kernel-io.ts';
import { KernelInputError } from '../backend/errors.ts';
import { batchNormSimd } from './batch-norm-simd.ts';

export const BN_TRAIN = 'YoloBatchNormTrain';
export const BN_TRAIN_GRAD = 'YoloBatchNormTrainGrad';

interface BnAttrs { epsilon: number }

function channels(x: tf.TensorInfo, c: number, what: string): number {
  if (x.dtype !== 'float32') throw new KernelInputError(`${what}: float32 only, got ${x.dtype}`);
  if (x.shape[x.shape.length - 1] !== c) throw new KernelInputError(`${what}: last axis ${x.shape[x.shape.length - 1]} != ${c} channels`);
  return x.shape.reduce((a, b) => a * b, 1) / c;
}

/** Per-channel mean and biased variance of `x` (C innermost), two-pass, in float64. */
function statistics(x: Float32Array, pixels: number, c: number): { mean: Float64Array; variance: Float64Array } {
  const mean = new Float64Array(c);
  for (let p = 0, i = 0; p < pixels; p++) for (let k = 0; k < c; k++, i++) mean[k] += x[i];
  for (let k = 0; k < c; k++) mean[k] /= pixels;
  const variance = new Float64Array(c);
  for (let p = 0, i = 0; p < pixels; p++) {
    for (let k = 0; k < c; k++, i++) {
      const d = x[i] - mean[k];
      variance[k] += d * d;
    }
  }
  for (let k = 0; k < c; k++) variance[k] /= pixels;
  return { mean, variance };
}

const forwardKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, gamma, beta } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const { epsilon } = attrs as unknown as BnAttrs;
  const c = gamma.shape[0];
  const pixels = channels(x, c, BN_TRAIN);
  const io = kernelIO(backend);
  const simd = batchNormSimd(backend, c);
  if (simd) return simd.forward(x, io.read(gamma), io.read(beta), epsilon);
  const xv = io.read(x);
  const { mean, variance } = statistics(xv, pixels, c);
  const g = io.read(gamma);
  const b = io.read(beta);
  const scale = new Float64Array(c);
  for (let k = 0; k < c; k++) scale[k] = g[k] / Math.sqrt(variance[k] + epsilon);
  const y = io.alloc(x.shape);
  const yv = y.values;
  for (let p = 0, i = 0; p < pixels; p++) for (let k = 0; k < c; k++, i++) yv[i] = (xv[i] - mean[k]) * scale[k] + b[k];
  const m = io.alloc([c]);
  const v = io.alloc([c]);
  m.values.set(mean);
  v.values.set(variance);
  return [y.info, m.info, v.info];
};

const backwardKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, x, gamma, mean, variance } = inputs as Record<'dy' | 'x' | 'gamma' | 'mean' | 'variance', tf.TensorInfo>;
  const { epsilon } = attrs as unknown as BnAttrs;
  const c = gamma.shape[0];
  const pixels = channels(x, c, BN_TRAIN_GRAD);
  channels(dy, c, BN_TRAIN_GRAD);
  const io = kernelIO(backend);
  const simd = batchNormSimd(backend, c);
  if (simd) return simd.backward(dy, x, io.read(gamma), mean, io.read(variance), epsilon);
  const [dyv, xv, g, mv, vv] = [dy, x, gamma, mean, variance].map((t) => io.read(t));
  const sumDy = new Float64Array(c);
  const sumDyXc = new Float64Array(c);
  for (let p = 0, i = 0; p < pixels; p++) {
    for (let k = 0; k < c; k++, i++) {
      sumDy[k] += dyv[i];
      sumDyXc[k] += dyv[i] * (xv[i] - mv[k]);
    }
  }
  const r = new Float64Array(c);
  const k1 = new Float64Array(c);
  const k2 = new Float64Array(c);
  const k3 = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    r[k] = 1 / Math.sqrt(vv[k] + epsilon);
    k1[k] = g[k] * r[k];
    k2[k] = sumDy[k] / pixels;
    k3[k] = (r[k] * r[k] * sumDyXc[k]) / pixels;
  }
  const dx = io.alloc(x.shape);
  const dxv = dx.values;
  for (let p = 0, i = 0; p < pixels; p++) for (let k = 0; k < c; k++, i++) dxv[i] = k1[k] * (dyv[i] - k2[k] - (xv[i] - mv[k]) * k3[k]);
  const dgamma = io.alloc([c]);
  const dbeta = io.alloc([c]);
  for (let k = 0; k < c; k++) {
    dgamma.values[k] = r[k] * sumDyXc[k];
    dbeta.values[k] = sumDy[k];
  }
  return [dx.info, dgamma.info, dbeta.info];
};

let registered = false;

/** Registers both kernels (wasm, cpu) and the forward kernel's gradient; idempotent. */
export function registerBatchNormTrain(): void {
  if (registered) return;
  registered = true;
  for (const backendName of HOST_MEMORY_BACKENDS) {
    tf.registerKernel({ kernelName: BN_TRAIN, backendName, kernelFunc: forwardKernel });
    tf.registerKernel({ kernelName: BN_TRAIN_GRAD, backendName, kernelFunc: backwardKernel });
  }
  tf.registerGradient({
    kernelName: BN_TRAIN,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dy, saved, attrs) => {
      const [x, gamma, mean, variance] = saved;
      const dyY = Array.isArray(dy) ? dy[0] : dy;
      // One backward kernel for all three gradients; tfjs calls each closure in its own tidy, so
      // the shared result is computed once, outside them, and each closure returns its own piece.
      const [dx, dgamma, dbeta] = tf.engine().runKernel(BN_TRAIN_GRAD, { dy: dyY, x, gamma, mean, variance }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  });
}

/** Whether the active backend runs the kernels above. */
export function batchNormTrainAvailable(): boolean {
  return registered && tf.getKernel(BN_TRAIN, tf.getBackend()) !== undefined;
}

/**
 * Training-mode batch norm of NHWC `x` over N, H, W: [y, batch mean, batch variance (biased)].
 * Only y carries a gradient (to x, gamma and beta).
 */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  const out = tf.engine().runKernel(BN_TRAIN, { x, gamma, beta }, { epsilon } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return [out[0], out[1] as tf.Tensor1D, out[2] as tf.Tensor1D];
}

interface BatchNormLayer {
  axis: number;
  epsilon: number;
  momentum: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor };
  beta: { read(): tf.Tensor };
  movingMean: { read(): tf.Tensor; write(t: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(t: tf.Tensor): void };
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

const batchNormPrototype = Object.getPrototypeOf(tf.layers.batchNormalization({})) as BatchNormLayer;
const originalCall = batchNormPrototype.call;

/** tfjs-layers' moving-average update, op for op (so moving statistics stay bit-identical in form). */
function moveAverage(variable: BatchNormLayer['movingMean'], value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const old = variable.read();
    variable.write(tf.sub(old, tf.mul(tf.sub(old, value), 1 - momentum)));
  });
}

function patchedCall(this: BatchNormLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  const lastAxis = this.axis === -1 || this.axis === x.rank - 1;
  if (!kwargs?.training || !lastAxis || !this.center || !this.scale || x.dtype !== 'float32' || !batchNormTrainAvailable()) {
    return originalCall.call(this, inputs, kwargs);
  }
  return tf.tidy(() => {
    const [y, mean, variance] = batchNormTrain(x, this.gamma.read() as tf.Tensor1D, this.beta.read() as tf.Tensor1D, this.epsilon);
    moveAverage(this.movingMean, mean, this.momentum);
    moveAverage(this.movingVariance, variance, this.momentum);
    return y;
  });
}

/** Makes every BatchNormalization layer train through the kernels above where they run. */
export function installBatchNormTrain(on: boolean): void {
  if (on) registerBatchNormTrain();
  batchNormPrototype.call = on ? patchedCall : originalCall;
}
