import * as tf from '@tensorflow/tfjs';
import { asTensor, convGeometry, toNHWC, type Pad } from './conv-taps.ts';
import { cropToInput, spreadAndPad } from './transposed-conv.ts';

/**
 * Conv2DBackpropInput (the input gradient of conv2d) as one stride-1 forward conv, see
 * transposed-conv.ts. wasm 4.22.0 has this kernel, but 1.7-13x slower than this (measured on
 * YOLO-like layers, scripts/bench-backprop-filter.ts), so this one replaces it on wasm.
 */

interface Attrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
  dilations?: number | [number, number];
}

/** dL/dx for y = conv2d(x, filter); the caller owns the result. */
export function conv2dBackpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  return tf.tidy(() => {
    const nchw = attrs.dataFormat === 'NCHW';
    const dyh = toNHWC(dy, attrs.dataFormat);
    const s = attrs.inputShape;
    const xShape = nchw ? [s[0], s[2], s[3], s[1]] : s;
    const outC = filter.shape[3];
    const g = convGeometry(xShape, filter.shape, attrs.strides, attrs.dilations, attrs.pad,
      attrs.dimRoundingMode, false);
    const want = [g.batch, g.outHeight, g.outWidth, outC];
    if (dyh.shape.some((d, k) => d !== want[k])) {
      throw new Error(`dy has shape [${dyh.shape}], expected [${want}] for this conv`);
    }
    // Flip the taps and swap in/out channels: [kh, kw, outC, inC].
    const back = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]);
    const dxp = tf.conv2d(spreadAndPad(dyh, g), back, 1, 'valid', 'NHWC',
      [g.dilationHeight, g.dilationWidth]);
    const dx = cropToInput(dxp, g);
    return nchw ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
  });
}

export const conv2dBackpropInputKernel: tf.KernelFunc = ({ inputs, attrs }) => tf.tidy(() =>
  conv2dBackpropInput(asTensor<tf.Rank.R4>(inputs.dy, 'dy'), asTensor<tf.Rank.R4>(inputs.filter, 'filter'),
    attrs as unknown as Attrs));
