import * as tf from '@tensorflow/tfjs';
import { backpropGeometry, checkDyShape, type ConvBackpropAttrs } from './backprop-attrs.ts';
import { asTensor, TapReader } from './conv-taps.ts';
import { cropToInput, spreadAndPad } from './transposed-conv.ts';

/**
 * The two gradients of depthwiseConv2d, which tfjs-backend-wasm 4.22.0 lacks, built from ops it
 * has. YOLOv4 itself has no depthwise convs; these make any model that does trainable on wasm.
 * Shapes: x [N,H,W,C], filter [kh,kw,C,mult], dy [N,outH,outW,C*mult] (output channel c*mult+m).
 */

type Shape4 = [number, number, number, number];
/** dataFormat is NHWC for these kernels (tfjs's depthwise conv has no NCHW). */
type FilterGradAttrs = ConvBackpropAttrs & { filterShape: Shape4 };
type InputGradAttrs = ConvBackpropAttrs & { inputShape: Shape4 };

/** dW[i,j,c,m] = sum over batch and output positions of X_ij[..., c] * dY[..., c*mult + m]. */
export function depthwiseBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: FilterGradAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, inC, mult] = attrs.filterShape;
    const g = backpropGeometry(x.shape, attrs.filterShape, attrs, true);
    checkDyShape(dy, g, inC * mult, 'depthwise conv');
    const rows = g.batch * g.outHeight * g.outWidth;
    const reader = new TapReader(x, g);
    const dy3 = tf.reshape(dy, [rows, inC, mult]);
    const taps: tf.Tensor2D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        taps.push(tf.tidy(() =>
          tf.sum(tf.mul(tf.reshape(reader.tap(i, j), [rows, inC, 1]), dy3), 0)));
      }
    }
    return tf.reshape(taps.length === 1 ? taps[0] : tf.stack(taps), [kh, kw, inC, mult]);
  });
}

/**
 * dX as a stride-1 depthwise conv of the spread dY with the flipped filter (see transposed-conv.ts);
 * output channel c*mult+m then holds channel c's share from multiplier m, summed here.
 */
export function depthwiseBackpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: InputGradAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, inC, mult] = filter.shape;
    const g = backpropGeometry(attrs.inputShape, filter.shape, attrs, true);
    const cm = inC * mult;
    checkDyShape(dy, g, cm, 'depthwise conv');
    const upPadded = spreadAndPad(dy, g);
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, cm, 1]);
    let dxp: tf.Tensor4D = tf.depthwiseConv2d(upPadded, flipped as tf.Tensor4D, 1, 'valid', 'NHWC',
      [g.dilationHeight, g.dilationWidth]);
    if (mult > 1) {
      const [, h, w] = dxp.shape;
      dxp = tf.reshape(tf.sum(tf.reshape(dxp, [g.batch * h * w * inC, mult]), 1), [g.batch, h, w, inC]);
    }
    return cropToInput(dxp, g);
  });
}

export const depthwiseBackpropFilterKernel: tf.KernelFunc = ({ inputs, attrs }) => tf.tidy(() =>
  depthwiseBackpropFilter(asTensor<tf.Rank.R4>(inputs.x, 'x'), asTensor<tf.Rank.R4>(inputs.dy, 'dy'),
    attrs as unknown as FilterGradAttrs));

export const depthwiseBackpropInputKernel: tf.KernelFunc = ({ inputs, attrs }) => tf.tidy(() =>
  depthwiseBackpropInput(asTensor<tf.Rank.R4>(inputs.dy, 'dy'), asTensor<tf.Rank.R4>(inputs.filter, 'filter'),
    attrs as unknown as InputGradAttrs));
