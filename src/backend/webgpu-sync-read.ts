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

/** Backends that cannot read GPU-computed data synchronously. */
const NO_SYNC_READS = new Set(['webgpu']);

/** False where GPU-computed data cannot be read synchronously (webgpu under Node). */
export function canReadSync(backendName: string = tf.getBackend()): boolean {
  return !NO_SYNC_READS.has(backendName);
}

/**
 * Makes `tensors` readable synchronously on the active backend: on webgpu their values are read
 * once (tfjs then keeps them on the CPU); elsewhere nothing happens.
 */
export async function cacheForSyncReads(tensors: tf.Tensor[]): Promise<void> {
  if (canReadSync()) return;
  await Promise.all(tensors.map((t) => t.data()));
}

/**
 * Runs `fn`, a one-time model transform that reads weights synchronously (BatchNorm folding, pruning
 * surgery and its exactness check), on the cpu backend when the active backend cannot read
 * synchronously; elsewhere runs it as is. Tensors it makes live on cpu and move to the active backend
 * on first use; the weights it reads move the other way (readable: they came from the CPU).
 */
export function withSyncReads<T>(fn: () => T): T {
  const active = tf.getBackend();
  if (!NO_SYNC_READS.has(active)) return fn();
  switchNow('cpu');
  try {
    return fn();
  } finally {
    switchNow(active);
  }
}

/** tf.setBackend switches before its first await when the backend is already initialized. */
function switchNow(name: string): void {
  if (!tf.findBackend(name)) throw new BackendError(`backend '${name}' is not initialized, cannot switch to it synchronously`);
  void tf.setBackend(name);
  if (tf.getBackend() !== name) throw new BackendError(`could not switch to backend '${name}' synchronously`);
}

/**
 * Runs the async job `fn` (no heavy compute, many synchronous reads: exports) on the cpu backend when
 * the active backend cannot read synchronously, then switches back; elsewhere runs it as is.
 */
export async function onCpuWithoutSyncReads<T>(fn: () => Promise<T>): Promise<T> {
  const active = tf.getBackend();
  if (canReadSync(active)) return fn();
  await tf.setBackend('cpu');
  try {
    return await fn();
  } finally {
    await tf.setBackend(active);
  }
}
