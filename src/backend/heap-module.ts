/**
 * Our own WebAssembly SIMD kernels, run in place in the tfjs wasm backend's heap. The heap is
 * reachable only in the backend's threaded build, whose Memory is shared and exposed; a module
 * built with `--importMemory --sharedMemory` (wasm/*.ts, AssemblyScript, `npm run build:wasm`,
 * the .wasm files committed so users need no toolchain) imports it, so tensors are read and
 * written where they are, with no copy. Elsewhere (single-threaded build, other backends) there is
 * no such heap and callers keep their plain path (`sharedHeap` returns null).
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { wasmInternals } from './wasm-internals.ts';


export interface SharedHeap {
  memory: WebAssembly.Memory;
  /** Byte offset of a tensor's values in the heap. */
  offsetOf(info: tf.TensorInfo): number;
  /** A new float32 tensor in the heap (an op's output, or scratch to `free`). */
  alloc(shape: number[]): tf.TensorInfo;
  free(info: tf.TensorInfo): void;
  f32(offset: number, n: number): Float32Array;
  f64(offset: number, n: number): Float64Array;
}

/** The backend's shared heap, or null where there is none (see above). */
export function sharedHeap(backend: unknown): SharedHeap | null {
  const heap = wasmInternals(backend);
  const memory = heap?.wasm?.wasmMemory;
  if (!heap || !memory || !(memory.buffer instanceof SharedArrayBuffer)) return null;
  return {
    memory,
    offsetOf: (info) => heap.dataIdMap.get(info.dataId)!.memoryOffset,
    alloc: (shape) => heap.makeOutput(shape, 'float32'),
    free: (info) => { heap.disposeData(info.dataId, true); },
    // Views made on demand: allocating may grow the heap, and only its current buffer covers it all.
    f32: (offset, n) => new Float32Array(memory.buffer, offset, n),
    f64: (offset, n) => new Float64Array(memory.buffer, offset, n),
  };
}

const bytesByFile = new Map<string, Uint8Array<ArrayBuffer>>();

/** The bytes of a module file, read once (for workers that instantiate it too: heap-threads.ts). */
export function moduleBytes(file: URL): Uint8Array<ArrayBuffer> {
  let bytes = bytesByFile.get(file.href);
  if (bytes === undefined) bytesByFile.set(file.href, (bytes = new Uint8Array(readFileSync(file))));
  return bytes;
}

const instances = new Map<string, WeakMap<WebAssembly.Memory, WebAssembly.Exports | null>>();

/**
 * The module in `file` (a URL next to the caller) instantiated on `memory`, once per memory; null
 * if it cannot be (no wasm SIMD, a Memory it cannot import): callers then keep their plain path.
 */
export function heapModule<T>(file: URL, memory: WebAssembly.Memory): T | null {
  const key = file.href;
  let perMemory = instances.get(key);
  if (!perMemory) instances.set(key, (perMemory = new WeakMap()));
  let m = perMemory.get(memory);
  if (m === undefined) {
    try {
      const bytes = moduleBytes(file);
      m = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
    } catch {
      m = null;
    }
    perMemory.set(memory, m);
  }
  return m as T | null;
}
