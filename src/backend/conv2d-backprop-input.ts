import * as tf from '@tensorflow/tfjs';
import { backpropGeometry, checkDyShape, type ConvBackpropAttrs } from './backprop-attrs.ts';
import { asTensor, toNHWC } from './conv-taps.ts';
import { cropToInput, spreadAndPad } from './transposed-conv.ts';

/**
 * Conv2DBackpropInput (the input gradient of conv2d) as one stride-1 forward conv, see
 * transposed-conv.ts. wasm 4.22.0 has this kernel, but 1.7-13x slower than this (measured on
 * YOLO-like layers, scripts/bench-backprop-filter.ts), so this one replaces it on wasm.
 */

interface Attrs extends ConvBackpropAttrs {
  inputShape: [number, number, number, number];
}

/** dL/dx for y = conv2d(x, filter); the caller owns the result. */
export function conv2dBackpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  return tf.tidy(() => {
    const nchw = attrs.dataFormat === 'NCHW';
    const dyh = toNHWC(dy, attrs.dataFormat);
    const s = attrs.inputShape;
    const xShape = nchw ? [s[0], s[2], s[3], s[1]] : s;
    const outC = filter.shape[3];
    const g = backpropGeometry(xShape, filter.shape, attrs, false);
    checkDyShape(dyh, g, outC, 'conv');
    const stride1 = g.strideHeight === 1 && g.strideWidth === 1;
    let dx: tf.Tensor4D;
    if (stride1 && g.filterHeight === 1 && g.filterWidth === 1 && g.padTop + g.padBottom + g.padLeft + g.padRight === 0) {
      // A 1x1 conv's input gradient is the 1x1 conv of dy with the filter's channels swapped (a
      // conv, not matMul(.., transposeB): on wasm the conv is 2-10x faster).
      dx = tf.conv2d(dyh, tf.transpose(filter, [0, 1, 3, 2]), 1, 'valid');
    } else {
      // Flip the taps and swap in/out channels: [kh, kw, outC, inC].
      const back = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]);
      const halfH = ((g.filterHeight - 1) * g.dilationHeight) / 2;
      const halfW = ((g.filterWidth - 1) * g.dilationWidth) / 2;
      if (stride1 && g.padTop === halfH && g.padBottom === halfH && g.padLeft === halfW && g.padRight === halfW) {
        // Symmetric 'same' padding at stride 1: the full correlation cropped to the input is again
        // a 'same' correlation, so no spreading, padding or cropping is needed.
        dx = tf.conv2d(dyh, back, 1, 'same', 'NHWC', [g.dilationHeight, g.dilationWidth]);
      } else {
        dx = cropToInput(tf.conv2d(spreadAndPad(dyh, g), back, 1, 'valid', 'NHWC', [g.dilationHeight, g.dilationWidth]), g);
      }
    }
    return nchw ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
  });
}

export const conv2dBackpropInputKernel: tf.KernelFunc = ({ inputs, attrs }) => tf.tidy(() =>
  conv2dBackpropInput(asTensor<tf.Rank.R4>(inputs.dy, 'dy'), asTensor<tf.Rank.R4>(inputs.filter, 'filter'),
    attrs as unknown as Attrs));
