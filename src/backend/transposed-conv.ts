import * as tf from '@tensorflow/tfjs';
import type { ConvGeometry } from './conv-taps.ts';

/**
 * The input gradient of a (depthwise) conv as a stride-1 forward conv, which XNNPACK runs far
 * faster on wasm than tfjs' own backprop-input loops: row r of the padded input received
 * dy[k] * f[i] wherever r = k*stride + i*dilation, which is a full correlation of dy spread onto
 * the stride grid (zeros between) with the spatially flipped filter.
 */

/**
 * dy [N, outH, outW, C] spread onto the stride grid and zero-padded so that a 'valid', stride-1,
 * dilated correlation with the flipped kernel yields every padded-input row and column.
 */
export function spreadAndPad(dy: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const [n, oh, ow, c] = dy.shape;
  let up: tf.Tensor4D = dy;
  // Zero insertion by reshape + pad, both contiguous and cheap: [.., oh, 1, ..] -> [.., oh, s, ..].
  if (g.strideHeight > 1) {
    up = tf.reshape(tf.pad(tf.reshape(up, [n, oh, 1, ow * c]), [[0, 0], [0, 0], [0, g.strideHeight - 1], [0, 0]]),
      [n, oh * g.strideHeight, ow, c]);
  }
  if (g.strideWidth > 1) {
    const h = up.shape[1];
    up = tf.reshape(tf.pad(tf.reshape(up, [n * h, ow, 1, c]), [[0, 0], [0, 0], [0, g.strideWidth - 1], [0, 0]]),
      [n, h, ow * g.strideWidth, c]);
  }
  const extH = (g.filterHeight - 1) * g.dilationHeight;
  const extW = (g.filterWidth - 1) * g.dilationWidth;
  // The correlation yields up.shape rows; pad the bottom/right until they cover the whole input.
  const bottom = Math.max(0, g.padTop + g.inHeight - up.shape[1]);
  const right = Math.max(0, g.padLeft + g.inWidth - up.shape[2]);
  return tf.pad(up, [[0, 0], [extH, bottom], [extW, right], [0, 0]]);
}

/** The rows/columns of the correlation output that belong to the unpadded input. */
export function cropToInput(dxPadded: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const [n, , , c] = dxPadded.shape;
  return tf.slice(dxPadded, [0, g.padTop, g.padLeft, 0], [n, g.inHeight, g.inWidth, c]);
}
