import * as tf from '@tensorflow/tfjs';
import { builtinKernel } from './builtin-kernels.ts';
import { KernelInputError } from './errors.ts';
import type { WasmBackendInternals as WasmHeapBackend } from './wasm-internals.ts';

/**
 * Slice, SplitV and Reverse for the wasm backend as block copies on the wasm heap.
 *
 * tfjs-backend-wasm 4.22 copies a 4-D slice one innermost row at a time through a fresh
 * `subarray` (a [4,258,258,8] -> [4,256,256,8] crop makes 262,144 of them: 56 ms), SplitV goes
 * through that same slice, and its C++ Reverse spends ~13 ms on a [3,3,128,256] filter. In a
 * training step these are the gradients of padding and concatenation and the flipped filters of
 * the conv input gradient: ~400 ms of a 1.7 s step of the small model at 256, batch 4.
 * Here every copy first merges the dimensions it can take whole, so the same crop is 1,024
 * contiguous runs. Values are copied, never computed: results are bit-identical.
 */

type HeapArray = Float32Array | Int32Array | Uint8Array;


/** Row-major strides of every axis (tfjs's computeStrides leaves out the last, which is 1). */
function stridesOf(shape: readonly number[]): number[] {
  return shape.length === 0 ? [] : [...tf.util.computeStrides([...shape]), 1];
}

/** Copies `n` elements; short runs by hand, long ones with `set` (a memmove). */
function copyRun(src: HeapArray, from: number, dst: HeapArray, to: number, n: number): void {
  if (n >= 32) dst.set(src.subarray(from, from + n), to);
  else for (let i = 0; i < n; i++) dst[to + i] = src[from + i];
}

/** Copies the box `begin`/`size` of `src` (shape `shape`) into `dst`, densely, in row-major order. */
export function copyBox(src: HeapArray, shape: readonly number[], begin: readonly number[], size: readonly number[], dst: HeapArray): void {
  const rank = shape.length;
  if (rank === 0 || size.some((s) => s === 0)) {
    if (rank === 0) dst[0] = src[0];
    return;
  }
  const strides = stridesOf(shape);
  // Inner dimensions taken whole join the first partial one above them into one contiguous run.
  let d = rank - 1;
  let run = 1;
  while (d > 0 && size[d] === shape[d]) run *= size[d--];
  run *= size[d];
  const outer = d; // dimensions 0..outer-1 are walked, dimension `outer` and below are the run
  let base = 0;
  for (let k = 0; k < rank; k++) base += begin[k] * strides[k];
  const index = new Array<number>(outer).fill(0);
  let from = base;
  let to = 0;
  for (;;) {
    copyRun(src, from, dst, to, run);
    to += run;
    let k = outer - 1;
    while (k >= 0) {
      index[k]++;
      from += strides[k];
      if (index[k] < size[k]) break;
      from -= size[k] * strides[k];
      index[k] = 0;
      k--;
    }
    if (k < 0) return;
  }
}

/** Writes `src` (shape `shape`) into `dst` with the axes in `axes` reversed. */
export function copyReversed(src: HeapArray, shape: readonly number[], axes: readonly number[], dst: HeapArray): void {
  const rank = shape.length;
  if (rank === 0 || shape.some((s) => s === 0)) {
    if (rank === 0) dst[0] = src[0];
    return;
  }
  const flip = shape.map((_, d) => axes.includes(d) && shape[d] > 1);
  const strides = stridesOf(shape);
  // Everything inside the innermost flipped axis is copied as one block.
  let last = rank - 1;
  while (last >= 0 && !flip[last]) last--;
  if (last < 0) {
    copyRun(src, 0, dst, 0, src.length);
    return;
  }
  const block = strides[last];
  const index = new Array<number>(last + 1).fill(0);
  let from = 0;
  for (let k = 0; k <= last; k++) if (flip[k]) from += (shape[k] - 1) * strides[k];
  for (let to = 0; ; to += block) {
    copyRun(src, from, dst, to, block);
    let k = last;
    while (k >= 0) {
      const step = flip[k] ? -strides[k] : strides[k];
      index[k]++;
      from += step;
      if (index[k] < shape[k]) break;
      from -= shape[k] * step;
      index[k] = 0;
      k--;
    }
    if (k < 0) return;
  }
}

function normalizeSlice(shape: readonly number[], begin: number | number[], size: number | number[] | undefined): [number[], number[]] {
  const b = shape.map((_, d) => (Array.isArray(begin) ? begin[d] ?? 0 : d === 0 ? begin : 0));
  const s = shape.map((n, d) => {
    const v = size === undefined ? -1 : Array.isArray(size) ? size[d] ?? -1 : d === 0 ? size : -1;
    return v === -1 ? n - b[d] : v;
  });
  return [b, s];
}

function sliceInfo(x: tf.TensorInfo, begin: number[], size: number[], backend: WasmHeapBackend): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  copyBox(backend.typedArrayFromHeap(x), x.shape, begin, size, backend.typedArrayFromHeap(out));
  return out;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

function heapBackend(args: KernelArgs): WasmHeapBackend {
  return args.backend as unknown as WasmHeapBackend;
}

/** String tensors live outside the heap: those go to the backend's own kernel. */
function builtin(kernelName: string, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const own = builtinKernel(kernelName, 'wasm');
  if (!own) throw new KernelInputError(`${kernelName} of string tensors: the wasm backend has no kernel of its own for it`);
  return own.kernelFunc(args) as tf.TensorInfo | tf.TensorInfo[];
}

export const sliceKernel: tf.KernelFunc = (args) => {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return builtin('Slice', args);
  const attrs = args.attrs as unknown as tf.SliceAttrs;
  const [begin, size] = normalizeSlice(x.shape, attrs.begin, attrs.size);
  return sliceInfo(x, begin, size, heapBackend(args));
};

export const splitVKernel: tf.KernelFunc = (args) => {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return builtin('SplitV', args);
  const attrs = args.attrs as unknown as tf.SplitVAttrs;
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = x.shape.slice();
    size[axis] = s;
    const out = sliceInfo(x, begin, size, heapBackend(args));
    begin[axis] += s;
    return out;
  });
};

export const reverseKernel: tf.KernelFunc = (args) => {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return builtin('Reverse', args);
  const attrs = args.attrs as unknown as tf.ReverseAttrs;
  const axes = tf.util.parseAxisParam(attrs.dims, x.shape);
  const backend = heapBackend(args);
  const out = backend.makeOutput(x.shape, x.dtype);
  copyReversed(backend.typedArrayFromHeap(x), x.shape, axes, backend.typedArrayFromHeap(out));
  return out;
};
