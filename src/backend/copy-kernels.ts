import * as tf from '@tensorflow/tfjs';
import { builtinKernel } from './builtin-kernels.ts';
import { KernelInputError } from './errors.ts';

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

/** The slice of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): HeapArray;
}

function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
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

/**
 * Merges axes that stay neighbours, in order, under `perm`: [N, H, W, C] with perm [0, 3, 1, 2]
 * becomes [N, H*W, C] with perm [0, 2, 1]. Size-1 axes are dropped first.
 */
export function collapsePermutation(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const keep = perm.filter((a) => shape[a] !== 1);
  const groups: number[][] = []; // runs of input axes, in output order
  for (const a of keep) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1] + 1 === a) last.push(a);
    else groups.push([a]);
  }
  const byInput = [...groups].sort((g, h) => g[0] - h[0]);
  const merged = byInput.map((g) => g.reduce((s, a) => s * shape[a], 1));
  return { shape: merged, perm: groups.map((g) => byInput.indexOf(g)) };
}

/** dst = src ([rows, cols]) transposed, in 32x32 tiles so both sides stay in cache. */
function transpose2d(src: HeapArray, srcOffset: number, rows: number, cols: number, dst: HeapArray, dstOffset: number): void {
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        let s = srcOffset + r * cols + c0;
        for (let c = c0; c < c1; c++) dst[dstOffset + c * rows + r] = src[s++];
      }
    }
  }
}

/** Writes `src` (shape `shape`) into `dst` with its axes permuted by `perm` (tf.transpose's meaning). */
export function copyTransposed(src: HeapArray, shape: readonly number[], perm: readonly number[], dst: HeapArray): void {
  const c = collapsePermutation(shape, perm);
  const rank = c.shape.length;
  if (rank <= 1 || c.perm.every((a, i) => a === i)) {
    copyRun(src, 0, dst, 0, src.length);
    return;
  }
  if (rank === 2) {
    transpose2d(src, 0, c.shape[0], c.shape[1], dst, 0);
    return;
  }
  if (rank === 3 && c.perm[0] === 0 && c.perm[1] === 2) {
    // A batch of 2-D transposes ([B, R, C] -> [B, C, R]).
    const [b, r, cols] = c.shape;
    for (let i = 0; i < b; i++) transpose2d(src, i * r * cols, r, cols, dst, i * r * cols);
    return;
  }
  // Any other order: walk the output in order, the input with the permuted strides; the innermost
  // output axis, when it is the input's innermost too, is copied as a run.
  const inStrides = stridesOf(c.shape);
  const outShape = c.perm.map((a) => c.shape[a]);
  const step = c.perm.map((a) => inStrides[a]);
  const innerLen = outShape[rank - 1];
  const innerStep = step[rank - 1];
  const index = new Array<number>(rank - 1).fill(0);
  let from = 0;
  for (let to = 0; to < dst.length; to += innerLen) {
    if (innerStep === 1) copyRun(src, from, dst, to, innerLen);
    else for (let i = 0, s = from; i < innerLen; i++, s += innerStep) dst[to + i] = src[s];
    let k = rank - 2;
    while (k >= 0) {
      index[k]++;
      from += step[k];
      if (index[k] < outShape[k]) break;
      from -= outShape[k] * step[k];
      index[k] = 0;
      k--;
    }
    if (k < 0) return;
  }
}

export const transposeKernel: tf.KernelFunc = (args) => {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === 'string' || x.dtype === 'complex64') return builtin('Transpose', args);
  const { perm } = args.attrs as unknown as tf.TransposeAttrs;
  const backend = heapBackend(args);
  const out = backend.makeOutput(perm.map((a) => x.shape[a]), x.dtype);
  if (tf.util.sizeFromShape(x.shape) > 0) copyTransposed(backend.typedArrayFromHeap(x), x.shape, perm, backend.typedArrayFromHeap(out));
  return out;
};
