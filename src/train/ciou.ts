/**
 * IoU, GIoU, DIoU and CIoU between boxes given as (cx, cy, w, h) in the last axis of tensors.
 *
 * CIoU follows Zheng et al., "Enhancing Geometric Factors in Model Learning and Inference for Object
 * Detection and Instance Segmentation" (2020, the CIoU paper), with the eps guards of the YOLOv4
 * PyTorch reference (bubbliiiing/yolov4-pytorch `box_ciou`):
 *
 *   IoU  = inter / max(union, eps)
 *   GIoU = IoU - (C - union) / max(C, eps)           C = area of the smallest enclosing box
 *   DIoU = IoU - rho² / max(c², eps)                 rho = centre distance, c = enclosing diagonal
 *   CIoU = DIoU - alpha * v
 *   v     = 4/pi² * (atan(w1 / max(h1, eps)) - atan(w2 / max(h2, eps)))²
 *   alpha = v / max(1 - IoU + v, eps)
 *
 * alpha is a trade-off weight, not something to optimise: by default it goes through `stopGradient`
 * (as the CIoU authors' code and ultralytics YOLOv5 do, under no_grad). The bubbliiiing reference does not detach it; pass
 * `detachAlpha: false` to get its gradients. The value is the same either way.
 *
 * The two inputs broadcast against each other (e.g. [N, 1, 4] with [1, M, 4] gives [N, M]); the result has
 * the broadcast shape without the last axis. Works in any unit (pixels, grid cells, normalised), but the
 * eps guards are absolute, so use units in which real boxes are much larger than eps (1e-6).
 */
import * as tf from '@tensorflow/tfjs';
import { LossInputError, TrainOptionError } from './errors.ts';

export type IouKind = 'iou' | 'giou' | 'diou' | 'ciou';

export interface IouOptions {
  /** Lower bound on every denominator (union, enclosing area / diagonal, box height, alpha's). Default 1e-6. */
  eps?: number;
  /** CIoU only: treat alpha as a constant for gradients. Default true. */
  detachAlpha?: boolean;
}

/** Identity whose gradient is zero (tfjs has no tf.stopGradient). */
export const stopGradient: (x: tf.Tensor) => tf.Tensor = tf.customGrad(((x: tf.Tensor) => ({
  value: x.clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

interface Corners {
  cx: tf.Tensor; cy: tf.Tensor; w: tf.Tensor; h: tf.Tensor;
  x1: tf.Tensor; y1: tf.Tensor; x2: tf.Tensor; y2: tf.Tensor;
}

function corners(box: tf.Tensor): Corners {
  if (box.shape[box.rank - 1] !== 4) throw new LossInputError(`box tensors need 4 values (cx, cy, w, h) in the last axis, got shape [${box.shape}]`);
  const [cx, cy, w, h] = tf.unstack(box, box.rank - 1);
  const hw = tf.div(w, 2);
  const hh = tf.div(h, 2);
  return { cx, cy, w, h, x1: tf.sub(cx, hw), y1: tf.sub(cy, hh), x2: tf.add(cx, hw), y2: tf.add(cy, hh) };
}

/** Any of the four IoU variants between (cx, cy, w, h) boxes. */
export function boxIou(a: tf.Tensor, b: tf.Tensor, kind: IouKind = 'iou', opts: IouOptions = {}): tf.Tensor {
  const eps = opts.eps ?? 1e-6;
  const detachAlpha = opts.detachAlpha ?? true;
  return tf.tidy(() => {
    const A = corners(a);
    const B = corners(b);
    const zero = tf.scalar(0);
    const iw = tf.maximum(tf.sub(tf.minimum(A.x2, B.x2), tf.maximum(A.x1, B.x1)), zero);
    const ih = tf.maximum(tf.sub(tf.minimum(A.y2, B.y2), tf.maximum(A.y1, B.y1)), zero);
    const inter = tf.mul(iw, ih);
    const union = tf.sub(tf.add(tf.mul(A.w, A.h), tf.mul(B.w, B.h)), inter);
    const iou = tf.div(inter, tf.maximum(union, eps));
    if (kind === 'iou') return iou;

    const ew = tf.maximum(tf.sub(tf.maximum(A.x2, B.x2), tf.minimum(A.x1, B.x1)), zero);
    const eh = tf.maximum(tf.sub(tf.maximum(A.y2, B.y2), tf.minimum(A.y1, B.y1)), zero);
    if (kind === 'giou') {
      const encl = tf.mul(ew, eh);
      return tf.sub(iou, tf.div(tf.sub(encl, union), tf.maximum(encl, eps)));
    }

    const rho2 = tf.add(tf.square(tf.sub(A.cx, B.cx)), tf.square(tf.sub(A.cy, B.cy)));
    const c2 = tf.add(tf.square(ew), tf.square(eh));
    const diou = tf.sub(iou, tf.div(rho2, tf.maximum(c2, eps)));
    if (kind === 'diou') return diou;
    if (kind !== 'ciou') throw new TrainOptionError(`unknown IoU kind "${kind as string}"`);

    const atanA = tf.atan(tf.div(A.w, tf.maximum(A.h, eps)));
    const atanB = tf.atan(tf.div(B.w, tf.maximum(B.h, eps)));
    const v = tf.mul(4 / (Math.PI * Math.PI), tf.square(tf.sub(atanA, atanB)));
    let alpha = tf.div(v, tf.maximum(tf.add(tf.sub(1, iou), v), eps));
    if (detachAlpha) alpha = stopGradient(alpha);
    return tf.sub(diou, tf.mul(alpha, v));
  });
}

export const iou = (a: tf.Tensor, b: tf.Tensor, opts?: IouOptions): tf.Tensor => boxIou(a, b, 'iou', opts);
export const giou = (a: tf.Tensor, b: tf.Tensor, opts?: IouOptions): tf.Tensor => boxIou(a, b, 'giou', opts);
export const diou = (a: tf.Tensor, b: tf.Tensor, opts?: IouOptions): tf.Tensor => boxIou(a, b, 'diou', opts);
export const ciou = (a: tf.Tensor, b: tf.Tensor, opts?: IouOptions): tf.Tensor => boxIou(a, b, 'ciou', opts);
