/**
 * Mish and its gradient as one WebAssembly SIMD pass each ('YoloMish', 'YoloMishGrad'; source
 * wasm/mish.ts), in place in the threaded wasm backend's shared heap on all threads
 * (../backend/heap-engine.ts), instead of 7 tfjs ops forward and ~10 backward, each a full pass. Where that heap
 * is missing (single-threaded build, other backends) `mishKernelAvailable` says false and
 * mish-fast.ts keeps its tfjs ops. Values: the same function to float32 rounding, and more exact
 * than the sigmoid form for negative inputs (no 1 - p^2 cancellation).
 */
import * as tf from '@tensorflow/tfjs';
import { ELEMENTWISE_GRAIN, heapEngine } from '../backend/heap-engine.ts';

export const MISH_KERNEL = 'YoloMish';
export const MISH_GRAD_KERNEL = 'YoloMishGrad';


const forwardKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const { heap, threads } = heapEngine(backend)!; // registered calls come only after mishKernelAvailable()
  const x = inputs.x as tf.TensorInfo;
  const y = heap.alloc(x.shape);
  const n = tf.util.sizeFromShape(x.shape);
  if (n > 0) threads.run('mishForward', [heap.offsetOf(x), heap.offsetOf(y)], n, ELEMENTWISE_GRAIN);
  return y;
};

const backwardKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const { heap, threads } = heapEngine(backend)!;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const dx = heap.alloc(x.shape);
  const n = tf.util.sizeFromShape(x.shape);
  if (n > 0) threads.run('mishBackward', [heap.offsetOf(x), heap.offsetOf(dy), heap.offsetOf(dx)], n, ELEMENTWISE_GRAIN);
  return dx;
};

let registered = false;
let enabled = true;

function register(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: MISH_KERNEL, backendName: 'wasm', kernelFunc: forwardKernel });
  tf.registerKernel({ kernelName: MISH_GRAD_KERNEL, backendName: 'wasm', kernelFunc: backwardKernel });
  tf.registerGradient({
    kernelName: MISH_KERNEL,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => tf.engine().runKernel(MISH_GRAD_KERNEL, { x: saved[0], dy: dy as tf.Tensor }) as tf.Tensor }),
  });
}

/** True when `x` can go through the kernels: float32 on the threaded wasm backend, module loaded. */
export function mishKernelAvailable(x: tf.Tensor): boolean {
  if (!enabled || x.dtype !== 'float32' || tf.getBackend() !== 'wasm' || heapEngine(tf.backend()) === null) return false;
  register();
  return true;
}

/** Mish of `x` through the kernel (differentiable); call only when mishKernelAvailable(x). */
export function mishKernel(x: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(MISH_KERNEL, { x }) as tf.Tensor;
}

/** Turns the kernels off (false) or back on, e.g. to compare them with the tfjs ops. */
export function setMishKernel(on: boolean): void {
  enabled = on;
}
