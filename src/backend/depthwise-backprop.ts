import * as tf from '@tensorflow/tfjs';
import { asTensor, convGeometry, TapReader, type Pad } from './conv-taps.ts';

/**
 * The two gradients of depthwiseConv2d, which tfjs-backend-wasm 4.22.0 lacks, built from ops it
 * has. YOLOv4 itself has no depthwise convs; these make any model that does trainable on wasm.
 * Shapes: x [N,H,W,C], filter [kh,kw,C,mult], dy [N,outH,outW,C*mult] (output channel c*mult+m).
 */

interface Attrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** dW[i,j,c,m] = sum over batch and output positions of X_ij[..., c] * dY[..., c*mult + m]. */
export function depthwiseBackpropFilter(
  x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Attrs & { filterShape: [number, number, number, number] },
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, inC, mult] = attrs.filterShape;
    const g = convGeometry(x.shape, attrs.filterShape, attrs.strides, attrs.dilations, attrs.pad,
      attrs.dimRoundingMode, true);
    checkDy(dy, [g.batch, g.outHeight, g.outWidth, inC * mult]);
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
 * dX as a transposed depthwise conv: spread dY onto the stride grid (zeros between), pad it by the
 * dilated kernel extent, run a stride-1 depthwise conv with the spatially flipped filter, and cut
 * out the rows/columns of the original (unpadded) input.
 */
export function depthwiseBackpropInput(
  dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: Attrs & { inputShape: [number, number, number, number] },
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, inC, mult] = filter.shape;
    const g = convGeometry(attrs.inputShape, filter.shape, attrs.strides, attrs.dilations, attrs.pad,
      attrs.dimRoundingMode, true);
    const cm = inC * mult;
    checkDy(dy, [g.batch, g.outHeight, g.outWidth, cm]);
    const n = g.batch;
    const sh = g.strideHeight;
    const sw = g.strideWidth;
    // Zero insertion by pad + reshape (cheap contiguous ops): [.., outH, 1, ..] -> [.., outH, sh, ..].
    let up: tf.Tensor4D = dy;
    if (sh > 1) {
      up = tf.reshape(tf.pad(tf.reshape(up, [n, g.outHeight, 1, g.outWidth * cm]),
        [[0, 0], [0, 0], [0, sh - 1], [0, 0]]), [n, g.outHeight * sh, g.outWidth, cm]);
    }
    if (sw > 1) {
      up = tf.reshape(tf.pad(tf.reshape(up, [n * up.shape[1], g.outWidth, 1, cm]),
        [[0, 0], [0, 0], [0, sw - 1], [0, 0]]), [n, up.shape[1], g.outWidth * sw, cm]);
    }
    // Row r of the padded input got dy_up[r - i*dh] * f[i]; a full correlation with the flipped
    // filter computes that. Pad the bottom/right so the output covers every input row.
    const extH = (kh - 1) * g.dilationHeight;
    const extW = (kw - 1) * g.dilationWidth;
    const bottom = Math.max(0, g.padTop + g.inHeight - up.shape[1]);
    const right = Math.max(0, g.padLeft + g.inWidth - up.shape[2]);
    const upPadded = tf.pad(up, [[0, 0], [extH, bottom], [extW, right], [0, 0]]);
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, cm, 1]);
    let dxp: tf.Tensor4D = tf.depthwiseConv2d(upPadded, flipped, 1, 'valid', 'NHWC',
      [g.dilationHeight, g.dilationWidth]);
    if (mult > 1) {
      const [, h, w] = dxp.shape;
      dxp = tf.reshape(tf.sum(tf.reshape(dxp, [n * h * w * inC, mult]), 1), [n, h, w, inC]);
    }
    return tf.slice(dxp, [0, g.padTop, g.padLeft, 0], [n, g.inHeight, g.inWidth, inC]);
  });
}

function checkDy(dy: tf.Tensor, want: number[]): void {
  if (dy.shape.length !== 4 || dy.shape.some((d, k) => d !== want[k])) {
    throw new Error(`dy has shape [${dy.shape}], expected [${want}] for this depthwise conv`);
  }
}

export const depthwiseBackpropFilterKernel: tf.KernelFunc = ({ inputs, attrs }) => tf.tidy(() =>
  depthwiseBackpropFilter(asTensor<tf.Rank.R4>(inputs.x), asTensor<tf.Rank.R4>(inputs.dy),
    attrs as unknown as Attrs & { filterShape: [number, number, number, number] }));

export const depthwiseBackpropInputKernel: tf.KernelFunc = ({ inputs, attrs }) => tf.tidy(() =>
  depthwiseBackpropInput(asTensor<tf.Rank.R4>(inputs.dy), asTensor<tf.Rank.R4>(inputs.filter),
    attrs as unknown as Attrs & { inputShape: [number, number, number, number] }));
