import * as tf from '@tensorflow/tfjs';
import { backpropGeometry, checkDyShape, type ConvBackpropAttrs } from './backprop-attrs.ts';
import { asTensor, TapReader, toNHWC } from './conv-taps.ts';
import { KernelInputError } from './errors.ts';

/**
 * Conv2DBackpropFilter (the weight gradient of conv2d) built only from ops the wasm backend has,
 * because tfjs-backend-wasm 4.22.0 lacks it and every conv training step needs it.
 *
 * For each kernel tap (i, j): dW[i, j] = X_ij^T · dY, where X_ij is the [N*outH*outW, inC] block of
 * the padded input that the tap multiplied and dY is [N*outH*outW, outC]. One matMul per tap keeps
 * the extra memory at one tap's slice (an im2col of all taps would be kh*kw times bigger).
 *
 * Measured on wasm (4.22.0): matMul with transposeA takes a slow path (~10x a plain matMul), and a
 * plain matMul re-packs its right operand whenever that tensor is new (~8 ms for 20k x 32), so each
 * tap is transposed explicitly and the constant dY is the right operand (packed once per call).
 * Not built on wasm's Conv3DBackpropFilterV2: that kernel is wrong at stride 2 in 4.22.0.
 */

/** The attributes tfjs passes to Conv2DBackpropFilter (shared with src/speed's faster variant). */
export interface ConvBackpropFilterAttrs extends ConvBackpropAttrs {
  filterShape: [number, number, number, number];
}

/** The weight gradient as a tensor; the caller owns it. */
export function conv2dBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: ConvBackpropFilterAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const xh = toNHWC(x, attrs.dataFormat);
    const dyh = toNHWC(dy, attrs.dataFormat);
    const [kh, kw, inC, outC] = attrs.filterShape;
    const g = backpropGeometry(xh.shape, attrs.filterShape, attrs, false);
    if (g.inChannels !== inC) throw new KernelInputError(`input has ${g.inChannels} channels, filterShape says ${inC}`);
    checkDyShape(dyh, g, outC, 'conv');
    const rows = g.batch * g.outHeight * g.outWidth;
    const reader = new TapReader(xh, g);
    const dy2 = tf.reshape(dyh, [rows, outC]);
    const taps: tf.Tensor2D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        // An inner tidy frees each tap's slice before the next one is cut.
        taps.push(tf.tidy(() =>
          tf.matMul(tf.transpose(tf.reshape(reader.tap(i, j), [rows, inC])), dy2)));
      }
    }
    return tf.reshape(taps.length === 1 ? taps[0] : tf.stack(taps), [kh, kw, inC, outC]);
  });
}

/** Kernel entry point: returns a Tensor, which the engine takes over as the op's output. */
export const conv2dBackpropFilterKernel: tf.KernelFunc = ({ inputs, attrs }) => {
  return tf.tidy(() => conv2dBackpropFilter(
    asTensor<tf.Rank.R4>(inputs.x, 'x'), asTensor<tf.Rank.R4>(inputs.dy, 'dy'), attrs as unknown as ConvBackpropFilterAttrs));
};
