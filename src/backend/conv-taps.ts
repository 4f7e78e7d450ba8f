import * as tf from '@tensorflow/tfjs';

/**
 * Shared geometry for the custom backprop kernels: a convolution's weight gradient is a sum, over
 * kernel taps (i, j), of the input pixels that tap saw times dy. These helpers find those pixels
 * with ops every backend has (pad + strided slice), so kernels built on them run on wasm too.
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
  if (xShape.length !== 4) throw new Error(`expected a rank-4 NHWC input, got shape [${xShape}]`);
  const dil = dilations ?? 1;
  const [dh, dw] = typeof dil === 'number' ? [dil, dil] : dil;
  if (!(Number.isInteger(dh) && Number.isInteger(dw) && dh >= 1 && dw >= 1)) {
    throw new Error(`unsupported dilations [${dh}, ${dw}]: need positive integers`);
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

/** The input with the conv's zero padding applied, so every tap is a plain strided slice. */
export function padInput(x: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  if (g.padTop === 0 && g.padBottom === 0 && g.padLeft === 0 && g.padRight === 0) return x;
  return tf.pad(x, [[0, 0], [g.padTop, g.padBottom], [g.padLeft, g.padRight], [0, 0]]);
}

/**
 * The [N, outH, outW, C] block of the padded input that kernel tap (i, j) multiplies: rows
 * i*dilation + k*stride for k < outH (same for columns). Returns xp itself when that is the whole
 * tensor (1x1 kernel, stride 1, no padding), to avoid a copy.
 */
export function tapSlice(xp: tf.Tensor4D, g: ConvGeometry, i: number, j: number): tf.Tensor4D {
  const [n, hp, wp, c] = xp.shape;
  const r0 = i * g.dilationHeight;
  const c0 = j * g.dilationWidth;
  const r1 = r0 + (g.outHeight - 1) * g.strideHeight + 1;
  const c1 = c0 + (g.outWidth - 1) * g.strideWidth + 1;
  if (r1 > hp || c1 > wp) {
    throw new Error(`tap (${i},${j}) reads rows ${r0}..${r1 - 1}, cols ${c0}..${c1 - 1} of a padded ` +
      `input of ${hp}x${wp}: geometry mismatch`);
  }
  if (g.strideHeight === 1 && g.strideWidth === 1) {
    if (r0 === 0 && c0 === 0 && r1 === hp && c1 === wp) return xp;
    return tf.slice(xp, [0, r0, c0, 0], [n, r1 - r0, c1 - c0, c]);
  }
  return tf.stridedSlice(xp, [0, r0, c0, 0], [n, r1, c1, c], [1, g.strideHeight, g.strideWidth, 1]) as tf.Tensor4D;
}

/** A kernel input as a Tensor (the engine passes Tensors, a backend may pass bare TensorInfos). */
export function asTensor<R extends tf.Rank>(info: tf.TensorInfo): tf.Tensor<R> {
  if (info instanceof tf.Tensor) return info as tf.Tensor<R>;
  // Tracked in the caller's tidy, which releases this extra reference to the data.
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}

/** NCHW -> NHWC, the only layout the tap helpers handle. */
export function toNHWC(t: tf.Tensor4D, dataFormat: string | undefined): tf.Tensor4D {
  if (dataFormat === undefined || dataFormat === 'NHWC') return t;
  if (dataFormat === 'NCHW') return tf.transpose(t, [0, 2, 3, 1]);
  throw new Error(`unsupported dataFormat '${dataFormat}' (NHWC or NCHW)`);
}
