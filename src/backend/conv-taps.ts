import * as tf from '@tensorflow/tfjs';
import { KernelInputError } from './errors.ts';

/**
 * Shared geometry for the custom backprop kernels: a convolution's weight gradient is a sum, over
 * kernel taps (i, j), of the input pixels that tap saw times dy. These helpers find those pixels
 * with ops every backend has (pad, reshape, slice), so kernels built on them run on wasm too.
 */

export type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  /** Zero rows/columns added around the input, as TF computes them ('same': top = floor(total/2)). */
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
}

/** NHWC geometry of a conv, computed by tfjs itself so padding/out sizes match the forward op. */
export function convGeometry(
  xShape: number[],
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  dilations: number | [number, number] | undefined,
  pad: Pad,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean,
): ConvGeometry {
  if (xShape.length !== 4) throw new KernelInputError(`expected a rank-4 NHWC input, got shape [${xShape}]`);
  const dil = dilations ?? 1;
  const [dh, dw] = typeof dil === 'number' ? [dil, dil] : dil;
  if (!(Number.isInteger(dh) && Number.isInteger(dw) && dh >= 1 && dw >= 1)) {
    throw new KernelInputError(`unsupported dilations [${dh}, ${dw}]: need positive integers`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape, strides, [dh, dw], pad,
    dimRoundingMode, depthwise, 'channelsLast');
  const p = info.padInfo;
  // Rows/columns that the last tap reads past the input are zeros, as in the cpu kernel; a
  // 'ceil' dimRoundingMode can make them reach beyond the stated bottom/right padding.
  const top = Math.max(0, p.top);
  const left = Math.max(0, p.left);
  const needH = (info.outHeight - 1) * info.strideHeight + (info.filterHeight - 1) * info.dilationHeight + 1;
  const needW = (info.outWidth - 1) * info.strideWidth + (info.filterWidth - 1) * info.dilationWidth + 1;
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: top,
    padBottom: Math.max(0, p.bottom, needH - info.inHeight - top),
    padLeft: left,
    padRight: Math.max(0, p.right, needW - info.inWidth - left),
  };
}

/**
 * Cuts, for each kernel tap (i, j), the [N, outH, outW, C] block of the zero-padded input that the
 * tap multiplied: rows i*dilation + k*stride (k < outH), same for columns. Must be used inside a
 * tf.tidy, which owns the tensors it makes.
 *
 * Strided slicing is slow on wasm (and rank-6 reshapes slower still), so for stride s the padded
 * input is split once into s*s "phase" images with two contiguous rank-3 slices each; every tap is
 * then a plain slice of one phase image. For stride 1 the phase image is the padded input itself.
 */
export class TapReader {
  private readonly phases = new Map<number, tf.Tensor4D>();

  constructor(x: tf.Tensor4D, private readonly g: ConvGeometry) {
    // Round the padded size up to a multiple of the stride so phases have equal sizes; the extra
    // rows are zeros beyond the last one any tap reads.
    const hp = x.shape[1] + g.padTop + g.padBottom;
    const wp = x.shape[2] + g.padLeft + g.padRight;
    const extraH = Math.ceil(hp / g.strideHeight) * g.strideHeight - hp;
    const extraW = Math.ceil(wp / g.strideWidth) * g.strideWidth - wp;
    const bottom = g.padBottom + extraH;
    const right = g.padRight + extraW;
    const xp = g.padTop === 0 && bottom === 0 && g.padLeft === 0 && right === 0 ? x :
      tf.pad(x, [[0, 0], [g.padTop, bottom], [g.padLeft, right], [0, 0]]);
    // Cut every phase a tap needs now, in the caller's tidy: cut lazily inside a per-tap tidy,
    // the cached image would be disposed with that tap.
    for (let i = 0; i < g.filterHeight; i++) {
      for (let j = 0; j < g.filterWidth; j++) {
        const p = (i * g.dilationHeight) % g.strideHeight;
        const q = (j * g.dilationWidth) % g.strideWidth;
        const key = p * g.strideWidth + q;
        if (!this.phases.has(key)) this.phases.set(key, this.cutPhase(xp, p, q));
      }
    }
    // With stride > 1 the phases are copies; drop the padded input now to lower peak memory.
    if (xp !== x && (g.strideHeight > 1 || g.strideWidth > 1)) xp.dispose();
  }

  /** The block tap (i, j) saw, [N, outH, outW, C]; may be a phase image itself (no copy). */
  tap(i: number, j: number): tf.Tensor4D {
    const g = this.g;
    const rowOff = i * g.dilationHeight;
    const colOff = j * g.dilationWidth;
    const img = this.phases.get((rowOff % g.strideHeight) * g.strideWidth + colOff % g.strideWidth)!;
    const r0 = Math.floor(rowOff / g.strideHeight);
    const c0 = Math.floor(colOff / g.strideWidth);
    const [n, h, w, c] = img.shape;
    if (r0 + g.outHeight > h || c0 + g.outWidth > w) {
      throw new KernelInputError(`tap (${i},${j}) reads past the padded input: geometry mismatch`);
    }
    if (r0 === 0 && c0 === 0 && g.outHeight === h && g.outWidth === w) return img;
    return tf.slice(img, [0, r0, c0, 0], [n, g.outHeight, g.outWidth, c]);
  }

  /** Rows p, p+s, p+2s, ... and columns q, q+s, ... of the padded input. */
  private cutPhase(xp: tf.Tensor4D, p: number, q: number): tf.Tensor4D {
    const [n, hp, wp, c] = xp.shape;
    const sh = this.g.strideHeight;
    const sw = this.g.strideWidth;
    const h = hp / sh;
    const w = wp / sw;
    let t: tf.Tensor = xp;
    if (sh > 1) t = tf.slice(tf.reshape(t, [n * h, sh, wp * c]), [0, p, 0], [n * h, 1, wp * c]);
    if (sw > 1) t = tf.slice(tf.reshape(t, [n * h * w, sw, c]), [0, q, 0], [n * h * w, 1, c]);
    return tf.reshape(t, [n, h, w, c]);
  }
}

/** A kernel input as a Tensor (the engine passes Tensors, a backend may pass bare TensorInfos). */
export function asTensor<R extends tf.Rank>(info: tf.TensorInfo | undefined, name: string): tf.Tensor<R> {
  if (info === undefined) throw new KernelInputError(`kernel input '${name}' is missing`);
  if (info instanceof tf.Tensor) return info as tf.Tensor<R>;
  // The wrapper does not own the data: take a reference, which disposing the wrapper (in the
  // caller's tidy) gives back, so the caller's data outlives the kernel.
  const t = tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
  tf.engine().backend.incRef(info.dataId);
  return t;
}

/** NCHW -> NHWC, the only layout the tap helpers handle. */
export function toNHWC(t: tf.Tensor4D, dataFormat: string | undefined): tf.Tensor4D {
  if (dataFormat === undefined || dataFormat === 'NHWC') return t;
  if (dataFormat === 'NCHW') return tf.transpose(t, [0, 2, 3, 1]);
  throw new KernelInputError(`unsupported dataFormat '${dataFormat}' (NHWC or NCHW)`);
}
