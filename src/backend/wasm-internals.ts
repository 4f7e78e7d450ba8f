import type * as tf from '@tensorflow/tfjs';

/**
 * The parts of tfjs-backend-wasm 4.22's BackendWasm that our own kernels use (not in its public
 * typings): one declaration for the copy kernels, kernel-io.ts and heap-module.ts.
 */
export interface WasmBackendInternals {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view of a tensor's values in the heap (no copy); valid until the heap next grows. */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined; has(dataId: object): boolean };
  disposeData(dataId: object, force?: boolean): boolean;
  /** Present in the threaded build, whose Memory is shared. */
  wasm?: { wasmMemory?: WebAssembly.Memory };
}

/** `backend` as the wasm backend's internals, or null when it is another backend. */
export function wasmInternals(backend: unknown): WasmBackendInternals | null {
  const b = backend as Partial<WasmBackendInternals> | null;
  return b && typeof b.makeOutput === 'function' && typeof b.typedArrayFromHeap === 'function' && b.dataIdMap && typeof b.disposeData === 'function'
    ? (b as WasmBackendInternals)
    : null;
}
