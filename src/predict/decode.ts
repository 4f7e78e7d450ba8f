/**
 * Decoding of YOLOv4 head outputs into boxes, objectness and class probabilities.
 *
 * A head is [B, H, W, A * (5 + C)] (NHWC); channel a * (5 + C) + k is, for anchor a of the head,
 * k = 0..3 tx, ty, tw, th; k = 4 the objectness logit; k = 5.. the class logits (the channel order of
 * PyTorch's view (B, A, 5 + C, H, W) of an NCHW head).
 *
 *   cx = (sigmoid(tx) * s - (s - 1) / 2 + gx) * inputW / W        (s = darknet's scale_x_y, 1 by default)
 *   cy = (sigmoid(ty) * s - (s - 1) / 2 + gy) * inputH / H
 *   w  = exp(tw) * anchor_w,  h = exp(th) * anchor_h              (anchors in input pixels)
 *   obj = sigmoid(t_obj), cls_c = sigmoid(t_c); the detection score of class c is obj * cls_c.
 */
import * as tf from '@tensorflow/tfjs';
import type { Anchor, Yolov4Config } from '../model/config.ts';
import { PredictInputError } from './errors.ts';

export interface DecodeOptions {
  /** All anchors, [w, h] in input pixels. */
  anchors: Anchor[] | number[][];
  /** Anchor indices of each head, heads in output order. */
  anchorMask: number[][];
  numClasses: number;
  /** Network input size [height, width] in pixels (or one number for square inputs). */
  inputSize: [number, number] | number;
  /** Darknet's scale_x_y per head (default 1 for every head). */
  scaleXY?: number[];
}

/** Column layout of the decoded tensor's last axis. */
export const DECODED_BOX = 0; // x1, y1, x2, y2 at 0..3
export const DECODED_OBJ = 4;
export const DECODED_CLS = 5;

/** Decode options from a resolved config (input size defaults to the config's). */
export function decodeOptionsFromConfig(
  config: Pick<Yolov4Config, 'anchors' | 'anchorMask' | 'numClasses' | 'inputSize'>,
  inputSize: number | [number, number] = config.inputSize,
  scaleXY?: number[],
): DecodeOptions {
  return { anchors: config.anchors, anchorMask: config.anchorMask, numClasses: config.numClasses, inputSize, scaleXY };
}

/**
 * Decodes all heads of a batch into one tensor [B, N, 5 + C]: x1, y1, x2, y2 (input pixels), objectness
 * probability, then C class probabilities (not multiplied by objectness). N = sum over heads of H * W * A,
 * ordered head by head, then row (y), column (x), anchor. The inputs are not disposed.
 */
export function decodeHeads(outputs: tf.Tensor[], opts: DecodeOptions): tf.Tensor3D {
  const { anchorMask, numClasses } = opts;
  if (outputs.length !== anchorMask.length) {
    throw new PredictInputError(`decodeHeads: ${outputs.length} outputs but anchorMask lists ${anchorMask.length} heads`);
  }
  const [inputH, inputW] = typeof opts.inputSize === 'number' ? [opts.inputSize, opts.inputSize] : opts.inputSize;
  const scaleXY = opts.scaleXY ?? anchorMask.map(() => 1);
  if (scaleXY.length !== anchorMask.length) throw new PredictInputError(`decodeHeads: scaleXY needs one value per head (${anchorMask.length})`);
  const batch = outputs[0].shape[0];
  return tf.tidy(() => {
    // Work channel-first: [K, B, H, W, A]. Slicing the channel axis is then a contiguous copy; slicing the
    // last axis of NHWC goes through tfjs' generic strided slice, which took ~1 s per decode at 416 on the
    // cpu and wasm backends (rank 5).
    const heads = outputs.map((out, i) => {
      if (out.rank !== 4) throw new PredictInputError(`decodeHeads: output ${i} has shape [${out.shape}], expected [B, H, W, channels]`);
      const [b, h, w, ch] = out.shape as [number, number, number, number];
      const mask = anchorMask[i];
      const na = mask.length;
      if (b !== batch) throw new PredictInputError(`decodeHeads: output ${i} has batch ${b}, output 0 has ${batch}`);
      if (ch !== na * (5 + numClasses)) {
        throw new PredictInputError(`decodeHeads: output ${i} has ${ch} channels, expected ${na} anchors x (5 + ${numClasses} classes) = ${na * (5 + numClasses)}`);
      }
      const anchors = mask.map((k) => {
        const a = opts.anchors[k];
        if (!a) throw new PredictInputError(`decodeHeads: anchorMask names anchor ${k} but there are ${opts.anchors.length}`);
        return [a[0], a[1]];
      });
      const s = scaleXY[i];
      const k = 5 + numClasses;
      const p = tf.transpose(tf.reshape(out, [b, h, w, na, k]), [4, 0, 1, 2, 3]); // [K, B, H, W, A]
      const txy = tf.slice(p, [0, 0, 0, 0, 0], [2, b, h, w, na]);
      const twh = tf.slice(p, [2, 0, 0, 0, 0], [2, b, h, w, na]);
      const rest = tf.slice(p, [4, 0, 0, 0, 0], [1 + numClasses, b, h, w, na]);
      // grid[0] = x, grid[1] = y at [., 0, y, x, 0]
      const gx = tf.tile(tf.reshape(tf.range(0, w, 1, 'float32'), [1, 1, 1, w, 1]), [1, 1, h, 1, 1]);
      const gy = tf.tile(tf.reshape(tf.range(0, h, 1, 'float32'), [1, 1, h, 1, 1]), [1, 1, 1, w, 1]);
      const grid = tf.concat([gx, gy], 0); // [2, 1, H, W, 1]
      const stride = tf.tensor([inputW / w, inputH / h], [2, 1, 1, 1, 1]);
      let xy = tf.sigmoid(txy);
      if (s !== 1) xy = tf.sub(tf.mul(xy, s), (s - 1) / 2);
      xy = tf.mul(tf.add(xy, grid), stride);
      const anchorWh = tf.tensor([anchors.map((a) => a[0]), anchors.map((a) => a[1])], [2, 1, 1, 1, na]);
      const half = tf.mul(tf.mul(tf.exp(twh), anchorWh), 0.5);
      const decoded = tf.concat([tf.sub(xy, half), tf.add(xy, half), tf.sigmoid(rest)], 0); // [K, B, H, W, A]
      return tf.reshape(decoded, [k, b, h * w * na]);
    });
    const all = heads.length === 1 ? heads[0] : tf.concat(heads, 2); // [K, B, N]
    return tf.transpose(all, [1, 2, 0]) as tf.Tensor3D; // [B, N, K]
  });
}
