/**
 * Synchronous reads (dataSync, arraySync, and kernels that compute on the CPU) on tfjs's webgpu
 * backend under Node. tfjs reads GPU buffers synchronously through OffscreenCanvas, which Node lacks,
 * and Dawn maps buffers only asynchronously, so GPU-computed data cannot be read synchronously here.
 * What can be: data that came from the CPU (weights loaded from a file, inputs), whose values tfjs
 * drops once uploaded; this keeps that copy. Everything else fails with WebgpuSyncReadError, which
 * says to read with `await tensor.data()` first (after which tfjs caches the values on the CPU).
 */
import * as tf from '@tensorflow/tfjs';
import { BackendError } from './errors.ts';

export class WebgpuSyncReadError extends BackendError {
  override name = 'WebgpuSyncReadError';
}

interface TensorData { values: unknown; shape?: number[]; dtype?: string }
interface WebgpuInternals {
  tensorMap: { get(dataId: object): TensorData | undefined };
  uploadToGPU(dataId: object): void;
  readSync(dataId: object): unknown;
  syncReadPatched?: boolean;
}

/** Patches the active webgpu backend instance (once). */
export function patchWebgpuSyncReads(backend: tf.KernelBackend = tf.backend()): void {
  const b = backend as unknown as WebgpuInternals;
  if (b.syncReadPatched) return;
  // Keyed by tfjs's per-buffer record, which lives exactly as long as the data.
  const uploaded = new WeakMap<TensorData, unknown>();
  const upload = b.uploadToGPU.bind(b);
  b.uploadToGPU = (dataId: object) => {
    const data = b.tensorMap.get(dataId);
    const values = data?.values;
    upload(dataId);
    if (data && values != null && data.values == null) uploaded.set(data, values);
  };
  const readSync = b.readSync.bind(b);
  b.readSync = (dataId: object) => {
    const data = b.tensorMap.get(dataId);
    if (data && data.values == null && uploaded.has(data)) return uploaded.get(data);
    if (data && (data.values != null || data.dtype === 'string')) return readSync(dataId);
    throw new WebgpuSyncReadError(
      `webgpu under Node cannot read GPU-computed data synchronously (a tensor of shape [${data?.shape ?? '?'}]): ` +
      'a dataSync()/arraySync() or a kernel that runs on the CPU (e.g. NonMaxSuppression) met it; ' +
      'read it with `await tensor.data()` first, or use --backend wasm');
  };
  b.syncReadPatched = true;
}
