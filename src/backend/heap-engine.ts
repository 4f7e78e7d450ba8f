/**
 * Our own kernels on the threaded wasm backend: one module (wasm/kernels.ts -> kernels.wasm) with
 * the convolutions (conv-engine.ts) and elementwise ops (Mish, leaky relu), run on all threads
 * (heap-threads.ts). `heapEngine` gives a kernel the heap, the threads, packed filters kept while
 * their tensor lives, and one scratch block; null where there is no shared heap (single-threaded
 * build, other backends), and callers then use the backend's own kernels.
 */
import type * as tf from '@tensorflow/tfjs';
import { heapModule, moduleBytes, sharedHeap, type SharedHeap } from './heap-module.ts';
import { HeapThreads } from './heap-threads.ts';
import { wasmInternals } from './wasm-internals.ts';

const MODULE = new URL('./kernels.wasm', import.meta.url);

/** Elements per thread share of an elementwise kernel: a multiple of 4, so shares are whole vectors. */
export const ELEMENTWISE_GRAIN = 4096;

export interface HeapEngine {
  heap: SharedHeap;
  threads: HeapThreads;
  /** The packed filter kept for `filter` (made by `make` into `floats` floats on first use). */
  packed(filter: tf.TensorInfo, floats: number, make: (offset: number) => void): number;
  /** Byte offset of a scratch block of at least `floats` floats, valid until the next call. */
  scratch(floats: number): number;
}

let wantedThreads = 1;
let enabled = true;
let state: {
  memory: WebAssembly.Memory;
  threads: HeapThreads;
  filters: Map<object, tf.TensorInfo>;
  scratch: { info: tf.TensorInfo; floats: number } | null;
} | null = null;

/** Threads our kernels use (the wasm backend's count; the caller's thread is one of them). */
export function setHeapThreads(n: number): void {
  wantedThreads = Math.max(1, Math.floor(n));
  state?.threads.close();
  state = null; // packed filters and scratch stay in the heap until the backend goes; rare (tests)
}

/** Turns our kernels off (false: the backend's own run instead) or back on, e.g. to compare them. */
export function setOwnKernels(on: boolean): void {
  enabled = on;
}

/**
 * Starts our threads on `backend`'s heap and waits until they can take work (a worker cannot start
 * while its parent blocks: heap-threads.ts). Called once the backend is up; a no-op without heap.
 */
export async function startHeapEngine(backend: unknown): Promise<void> {
  const engine = heapEngine(backend);
  if (engine) await engine.threads.ready();
}

export function heapEngine(backend: unknown): HeapEngine | null {
  if (!enabled) return null;
  const heap = sharedHeap(backend);
  const m = heap && heapModule<WebAssembly.Exports>(MODULE, heap.memory);
  const internals = wasmInternals(backend);
  if (!heap || !m || !internals) return null;
  if (!state || state.memory !== heap.memory) {
    state?.threads.close();
    state = { memory: heap.memory, threads: new HeapThreads(m, moduleBytes(MODULE), heap.memory, wantedThreads), filters: new Map(), scratch: null };
  }
  const s = state;
  return {
    heap,
    threads: s.threads,
    packed(filter, floats, make) {
      // Packed filters of tensors since disposed are freed first (a training step replaces every weight).
      for (const [id, info] of s.filters) {
        if (!internals.dataIdMap.has(id)) {
          heap.free(info);
          s.filters.delete(id);
        }
      }
      let info = s.filters.get(filter.dataId);
      if (!info) {
        info = heap.alloc([floats]);
        make(heap.offsetOf(info));
        s.filters.set(filter.dataId, info);
      }
      return heap.offsetOf(info);
    },
    // Kept between calls: the heap's allocator zero-fills large fresh blocks, which cost more than
    // a small conv's transforms (4-8 ms a call when allocated each time).
    scratch(floats) {
      if (!s.scratch || s.scratch.floats < floats) {
        if (s.scratch) heap.free(s.scratch.info);
        s.scratch = { info: heap.alloc([floats]), floats };
      }
      return heap.offsetOf(s.scratch.info);
    },
  };
}
