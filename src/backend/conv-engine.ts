/**
 * Our own convolution kernels on the threaded wasm backend (module wasm/conv.ts ->
 * conv-kernel.wasm): 3x3 stride-1 convs by Winograd (winograd-conv.ts) and 1x1 stride-1 convs as
 * one GEMM (pointwise-conv.ts), both on all threads (heap-threads.ts). Conv2D and FusedConv2D with
 * bias and linear / relu / leaky relu come here; every other conv, and every backend without the
 * shared heap, goes to the backend's own kernel (XNNPACK). This file holds what both share: the
 * module and threads, the packed filters kept while their tensor lives, one scratch block, and the
 * kernel functions registered for 'wasm' (training-kernels.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { builtinKernel } from './builtin-kernels.ts';
import { KernelInputError } from './errors.ts';
import { heapModule, moduleBytes, sharedHeap, type SharedHeap } from './heap-module.ts';
import { HeapThreads } from './heap-threads.ts';
import { wasmInternals } from './wasm-internals.ts';

const MODULE = new URL('./conv-kernel.wasm', import.meta.url);

export type KernelArgs = Parameters<tf.KernelFunc>[0];

/** What a conv kernel of ours gets: the heap, all threads, the cache and scratch. */
export interface ConvEngine {
  heap: SharedHeap;
  threads: HeapThreads;
  /** The packed filter kept for `filter` (made by `make` into `floats` floats on first use). */
  packed(filter: tf.TensorInfo, floats: number, make: (offset: number) => void): number;
  /** Byte offset of a scratch block of at least `floats` floats, valid until the next call. */
  scratch(floats: number): number;
}

/** A conv path: whether it takes this call, and running it. */
export interface ConvPath {
  accepts(args: KernelArgs): boolean;
  run(args: KernelArgs, engine: ConvEngine): tf.TensorInfo;
}

export const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, leakyrelu: 2 };
export const roundUp = (n: number, k: number) => Math.ceil(n / k) * k;
export const pair = (v: number | number[] | undefined) => (v === undefined ? [1, 1] : Array.isArray(v) ? v : [v, v]);

/** Conditions both paths share: float32 NHWC, no dilation, bias of Cout, an activation our epilogue has. */
export function plainConvCall(args: KernelArgs): boolean {
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const a = args.attrs as unknown as tf.FusedConv2DAttrs;
  if (!x || !filter || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return false;
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || preluActivationWeights || filter.shape[2] !== x.shape[3]) return false;
  if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== filter.shape[3])) return false;
  if (pair(a.dilations).some((d) => d !== 1)) return false;
  return (a.activation ?? 'linear') in ACTIVATIONS;
}

/** The bias padded with zeros to `np` floats in the scratch at `offset`; 0 (none) without bias. */
export function paddedBias(engine: ConvEngine, bias: tf.TensorInfo | undefined, offset: number, np: number): number {
  if (!bias) return 0;
  const padded = engine.heap.f32(offset, np);
  padded.fill(0);
  padded.set(engine.heap.f32(engine.heap.offsetOf(bias), bias.shape[0]));
  return offset;
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

/** Turns our conv paths off (false: every conv to the backend's own kernel) or back on. */
export function setOwnConvs(on: boolean): void {
  enabled = on;
}

function engineFor(backend: unknown): ConvEngine | null {
  const heap = sharedHeap(backend);
  const m = heap && heapModule<WebAssembly.Exports>(MODULE, heap.memory);
  const internals = wasmInternals(backend);
  if (!heap || !m || !internals) return null;
  if (!state || state.memory !== heap.memory) {
    state?.threads.close();
    state = { memory: heap.memory, threads: new HeapThreads(m, moduleBytes(MODULE), heap.memory, wantedThreads), filters: new Map(), scratch: null };
  }
  const s = state;
  // Packed filters of tensors since disposed are freed (a training step replaces every weight).
  for (const [id, info] of s.filters) {
    if (!internals.dataIdMap.has(id)) {
      heap.free(info);
      s.filters.delete(id);
    }
  }
  return {
    heap,
    threads: s.threads,
    packed(filter, floats, make) {
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

/** The registered kernel: the first of `paths` that takes the call, else the backend's own. */
export function convKernel(kernelName: 'Conv2D' | 'FusedConv2D', paths: ConvPath[]): tf.KernelFunc {
  return (args) => {
    if (enabled) {
      const path = paths.find((p) => p.accepts(args));
      const engine = path && engineFor(args.backend);
      if (path && engine) return path.run(args, engine);
    }
    const own = builtinKernel(kernelName, 'wasm');
    if (!own) throw new KernelInputError(`the wasm backend has no ${kernelName} kernel of its own`);
    return own.kernelFunc(args) as tf.TensorInfo;
  };
}
