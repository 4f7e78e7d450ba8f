import * as tf from '@tensorflow/tfjs';
import { KernelInputError } from './errors.ts';
import { wasmInternals } from './wasm-internals.ts';

/**
 * Direct access to tensor values inside a kernel, for the two backends whose tensors live in host
 * memory: wasm (views on its heap, no copy) and cpu (its typed arrays). Kernels written as plain
 * loops over these run on both; other backends (webgpu, tfjs-node) have no such view.
 */
export interface KernelIO {
  /** The values of a float32 input (a view: do not keep it past the kernel call). */
  read(info: tf.TensorInfo): Float32Array;
  /** A new float32 output and the array to fill. */
  alloc(shape: number[]): { info: tf.TensorInfo; values: Float32Array };
}

interface CpuLike {
  data: { get(dataId: tf.DataId): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** The backends `kernelIO` supports, by name. */
export const HOST_MEMORY_BACKENDS = ['wasm', 'cpu'] as const;

export function kernelIO(backend: unknown): KernelIO {
  const w = wasmInternals(backend);
  if (w) {
    // Float32 views: the kernels using kernelIO take float32 tensors only.
    return {
      read: (info) => w.typedArrayFromHeap(info) as Float32Array,
      alloc: (shape) => {
        const info = w.makeOutput(shape, 'float32');
        return { info, values: w.typedArrayFromHeap(info) as Float32Array };
      },
    };
  }
  const cpu = backend as unknown as Partial<CpuLike>;
  if (cpu.data && typeof cpu.makeTensorInfo === 'function') {
    const c = cpu as CpuLike;
    return {
      read: (info) => {
        const values = c.data.get(info.dataId).values;
        if (!(values instanceof Float32Array)) throw new KernelInputError(`expected float32 values, got ${info.dtype}`);
        return values;
      },
      alloc: (shape) => {
        const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
        return { info: c.makeTensorInfo(shape, 'float32', values), values };
      },
    };
  }
  throw new KernelInputError('this backend keeps its tensors outside host memory');
}
