/**
 * 3x3 stride-1 'same' convolutions (Conv2D, FusedConv2D with bias and linear / relu / leaky relu)
 * on the threaded wasm backend by Winograd F(2x2, 3x3) (wasm/winograd.ts): 16 multiply-adds per
 * 2x2 output tile and channel pair instead of 36, as 16 GEMMs run by our own SIMD kernel on all
 * threads (heap-threads.ts). These convs are two thirds of YOLOv4's FLOPs. Anything else, and every
 * backend without the shared heap, goes to the backend's own kernel. Values: the same convolution
 * to float32 rounding (the transforms add and subtract up to 9 terms; tested against the builtin).
 * Filter transforms are kept per filter tensor while it lives (weights of inference are constant).
 */
import * as tf from '@tensorflow/tfjs';
import { builtinKernel } from './builtin-kernels.ts';
import { KernelInputError } from './errors.ts';
import { heapModule, moduleBytes, sharedHeap, type SharedHeap } from './heap-module.ts';
import { HeapThreads } from './heap-threads.ts';
import { wasmInternals } from './wasm-internals.ts';

const MODULE = new URL('./winograd-kernel.wasm', import.meta.url);

/** Below this many input or output channels the transforms cost more than they save. */
const MIN_CHANNELS = 8;
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, leakyrelu: 2 };

let wantedThreads = 1;
let enabled = true;
let pool: { memory: WebAssembly.Memory; threads: HeapThreads } | null = null;

/** Threads our kernels use (the wasm backend's count; the caller's thread is one of them). */
export function setHeapThreads(n: number): void {
  wantedThreads = Math.max(1, Math.floor(n));
  pool?.threads.close();
  pool = null;
}

/** Turns the Winograd path off (false: every conv to the backend's own kernel) or back on. */
export function setWinogradConv(on: boolean): void {
  enabled = on;
}

function threadsOn(heap: SharedHeap, m: WebAssembly.Exports): HeapThreads {
  if (!pool || pool.memory !== heap.memory) {
    pool?.threads.close();
    pool = { memory: heap.memory, threads: new HeapThreads(m, moduleBytes(MODULE), heap.memory, wantedThreads) };
  }
  return pool.threads;
}

interface Cached { u: tf.TensorInfo; dataId: object }
/** Transformed filters by the filter's dataId; entries whose filter was disposed are freed. */
const filters = new Map<object, Cached>();

function sweep(heap: SharedHeap, alive: (dataId: object) => boolean): void {
  for (const [id, c] of filters) {
    if (!alive(id)) {
      heap.free(c.u);
      filters.delete(id);
    }
  }
}

const roundUp = (n: number, k: number) => Math.ceil(n / k) * k;
const pair = (v: number | number[] | undefined) => (v === undefined ? [1, 1] : Array.isArray(v) ? v : [v, v]);

function isSamePadOne(pad: unknown): boolean {
  if (pad === 'same') return true;
  if (pad === 1) return true;
  return Array.isArray(pad) && JSON.stringify(pad) === '[[0,0],[1,1],[1,1],[0,0]]';
}

type Args = Parameters<tf.KernelFunc>[0];

/** Whether this call is one the Winograd path runs. */
function eligible(args: Args): boolean {
  if (!enabled) return false;
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const a = args.attrs as unknown as tf.FusedConv2DAttrs;
  if (!x || !filter || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4) return false;
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || preluActivationWeights) return false;
  const [fh, fw, c, cout] = filter.shape;
  if (fh !== 3 || fw !== 3 || c !== x.shape[3] || c < MIN_CHANNELS || cout < MIN_CHANNELS) return false;
  if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== cout)) return false;
  if (pair(a.strides).some((s) => s !== 1) || pair(a.dilations).some((d) => d !== 1) || !isSamePadOne(a.pad)) return false;
  return (a.activation ?? 'linear') in ACTIVATIONS;
}

function winogradConv(args: Args, heap: SharedHeap, m: WebAssembly.Exports): tf.TensorInfo {
  const { x, filter, bias } = args.inputs as Record<string, tf.TensorInfo | undefined> as { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo };
  const a = args.attrs as unknown as tf.FusedConv2DAttrs;
  const [n, h, w, c] = x.shape;
  const cout = filter.shape[3];
  const threads = threadsOn(heap, m);
  const kp = roundUp(c, 4);
  const np = roundUp(cout, 8);
  const tiles = n * Math.ceil(h / 2) * Math.ceil(w / 2);
  const tp = roundUp(tiles, 4);
  const y = heap.alloc([n, h, w, cout]);
  if (tiles === 0) return y;

  const backend = wasmInternals(args.backend)!;
  sweep(heap, (id) => backend.dataIdMap.has(id));
  let cached = filters.get(filter.dataId);
  if (!cached) {
    const u = heap.alloc([16 * kp * np]);
    threads.run('filterTransform', [heap.offsetOf(filter), heap.offsetOf(u), c, cout, kp, np], kp);
    cached = { u, dataId: filter.dataId };
    filters.set(filter.dataId, cached);
  }
  // scratch: V [16][tp][kp], M [16][tp][np], bias padded to np
  const vSize = 16 * tp * kp;
  const mSize = 16 * tp * np;
  const v = scratchOffset(heap, vSize + mSize + np);
  const mm = v + 4 * vSize;
  let b = 0;
  if (bias) {
    b = mm + 4 * mSize;
    const padded = heap.f32(b, np);
    padded.fill(0);
    padded.set(heap.f32(heap.offsetOf(bias), cout));
  }
  threads.run('inputTransform', [heap.offsetOf(x), v, n, h, w, c, kp, tp], tp, 4);
  threads.run('gemm', [v, heap.offsetOf(cached.u), mm, tp, kp, np], 16 * (np / 8));
  const act = ACTIVATIONS[a.activation ?? 'linear'];
  threads.run('outputTransform', [mm, b, heap.offsetOf(y), n, h, w, cout, np, tp, act, a.leakyreluAlpha ?? 0.2], tiles);
  return y;
}

/**
 * One scratch block kept between calls, grown when a conv needs more: the heap's allocator
 * zero-fills large fresh blocks, which cost more than a small conv's transforms (4-8 ms a call).
 */
let scratch: { heap: SharedHeap; info: tf.TensorInfo; floats: number } | null = null;

function scratchOffset(heap: SharedHeap, floats: number): number {
  if (!scratch || scratch.heap.memory !== heap.memory || scratch.floats < floats) {
    if (scratch && scratch.heap.memory === heap.memory) heap.free(scratch.info);
    scratch = { heap, info: heap.alloc([floats]), floats };
  }
  return heap.offsetOf(scratch.info);
}

function kernelFor(kernelName: 'Conv2D' | 'FusedConv2D'): tf.KernelFunc {
  return (args) => {
    if (eligible(args)) {
      const heap = sharedHeap(args.backend);
      const m = heap && heapModule<WebAssembly.Exports>(MODULE, heap.memory);
      if (heap && m) return winogradConv(args, heap, m);
    }
    const own = builtinKernel(kernelName, 'wasm');
    if (!own) throw new KernelInputError(`the wasm backend has no ${kernelName} kernel of its own`);
    return own.kernelFunc(args) as tf.TensorInfo;
  };
}

export const conv2dKernel = kernelFor('Conv2D');
export const fusedConv2dKernel = kernelFor('FusedConv2D');
