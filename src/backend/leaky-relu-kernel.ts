/**
 * LeakyRelu on the threaded wasm backend as one SIMD pass on all threads (wasm/elementwise.ts):
 * tfjs-backend-wasm's own runs on one thread. YOLOv4's neck and heads apply it 35 times per
 * forward. Same values (a compare and a multiply). Elsewhere the backend's own kernel runs.
 */
import * as tf from '@tensorflow/tfjs';
import { builtinKernel } from './builtin-kernels.ts';
import { KernelInputError } from './errors.ts';
import { ELEMENTWISE_GRAIN, heapEngine } from './heap-engine.ts';

export const leakyReluKernel: tf.KernelFunc = (args) => {
  const x = args.inputs.x as tf.TensorInfo;
  const engine = x.dtype === 'float32' ? heapEngine(args.backend) : null;
  if (!engine) {
    const own = builtinKernel('LeakyRelu', 'wasm');
    if (!own) throw new KernelInputError('the wasm backend has no LeakyRelu kernel of its own');
    return own.kernelFunc(args) as tf.TensorInfo;
  }
  const { heap, threads } = engine;
  const y = heap.alloc(x.shape);
  const n = tf.util.sizeFromShape(x.shape);
  const alpha = (args.attrs as unknown as tf.LeakyReluAttrs).alpha;
  if (n > 0) threads.run('leakyRelu', [heap.offsetOf(x), heap.offsetOf(y), alpha], n, ELEMENTWISE_GRAIN);
  return y;
};
