/**
 * YOLOv4 training loss, as in the PyTorch reference (bubbliiiing/yolov4-pytorch `nets/yolo_training.py`,
 * `YOLOLoss.forward`, the version with balance / box_ratio / obj_ratio / cls_ratio). Per head l:
 *
 *   box_l = boxWeight (0.05) * mean over positives of (1 - CIoU(pred, gt))
 *   cls_l = clsWeight (C/80) * mean over positives x classes of BCE(sigmoid(cls logit), smoothed target)
 *   obj_l = balance[l] ([0.4, 1, 4]) * objWeightScale (5 * inH * inW / 416²)
 *           * mean over kept cells of BCE(sigmoid(obj logit), 1 at positives else 0)
 *           kept = positives + negatives that are not ignored (ignored: decoded prediction has IoU >
 *           ignoreThresh with some ground truth of its image, any head's)
 *   with focalObj, the objectness term becomes (reference):
 *           focalRatio (10) * mean over kept of BCE * (alpha at positives, 1 - alpha elsewhere)
 *                                                  * (1 - p at positives, p elsewhere)^gamma,   p = sigmoid
 *   total = sum over heads of box_l + cls_l + obj_l; heads without positives add no box/cls term.
 *
 * Decoding (grid units of the head): x = sigmoid(tx) + i, y = sigmoid(ty) + j, w = exp(tw) * aw * W / inW,
 * h = exp(th) * ah * H / inH; ground truths are (cx*W, cy*H, w*W, h*H) in the same units.
 *
 * BCE: the reference clips probabilities to [1e-7, 1 - 1e-7] and takes logs. Here BCE is computed from
 * logits clipped to +-log((1 - 1e-7) / 1e-7) = +-16.118: y * softplus(-x) + (1 - y) * softplus(x). This is
 * the same function (and has the same zero gradient beyond the clip) but stays accurate in float32 where
 * 1 - sigmoid(x) would cancel. (The float32 reference's 1 - 1e-7 rounds to 1 - 1.19e-7, so its cap on a
 * confident wrong negative is 15.94 instead of 16.12; nothing else differs.)
 *
 * Label smoothing uses the reference's formula, y * (1 - ls) + ls / C, and, unlike the latest reference
 * (which defines `smooth_labels` but no longer calls it), is actually applied when ls > 0. With C = 1 it
 * changes nothing (every class target at a positive is 1 -> 1).
 *
 * Not reproduced from the reference: dropping positives whose CIoU is NaN (here a NaN would propagate, so
 * it shows up instead of silently turning a positive into a negative); an empty set of kept cells divides by
 * 1 instead of giving NaN.
 */
import * as tf from '@tensorflow/tfjs';
import { ciou } from './ciou.ts';
import { buildTargets, gtBoxesInGrid, headTargetsToTensors, type AnchorWH, type HeadTargets } from './targets.ts';
import { LossInputError, TrainOptionError } from './errors.ts';

export interface YoloLossOptions {
  /** All anchors as [w, h] in input pixels. */
  anchors: readonly AnchorWH[];
  /** Anchor indices per head, in output order ([[6,7,8],[3,4,5],[0,1,2]]). */
  anchorMask: readonly (readonly number[])[];
  numClasses: number;
  /** Network input [height, width] in pixels. */
  inputSize: readonly [number, number];
  /** Default 0 (off). Targets become y * (1 - ls) + ls / numClasses. */
  labelSmoothing?: number;
  /** Focal objectness loss (reference `focal_loss`). Default false. */
  focalObj?: boolean;
  focalGamma?: number;
  focalAlpha?: number;
  /** Multiplier of the focal objectness term (reference `focal_loss_ratio`). Default 10. */
  focalRatio?: number;
  /** Default 0.5. */
  ignoreThresh?: number;
  /** Objectness weight per head, output order. Default [0.4, 1, 4]. */
  balance?: readonly number[];
  /** Default 0.05. */
  boxWeight?: number;
  /** Default 5 * inH * inW / 416². */
  objWeightScale?: number;
  /** Default numClasses / 80. */
  clsWeight?: number;
  /** Darknet's iou_thresh: boxes are also positives for every anchor with shape IoU above it (default: best anchor only). */
  anchorIouThreshold?: number;
  /** Multiply 1 - CIoU by 2 - w*h (the reference computes it but no longer uses it). Default false. */
  useBoxLossScale?: boolean;
  /** CIoU's alpha without gradient (default true); the reference keeps its gradient. */
  detachCiouAlpha?: boolean;
}

export interface YoloLossResult {
  total: tf.Scalar;
  box: tf.Scalar;
  obj: tf.Scalar;
  cls: tf.Scalar;
}

/** log((1 - 1e-7) / 1e-7): sigmoid of this is 1 - 1e-7. */
export const BCE_LOGIT_CLIP = Math.log((1 - 1e-7) / 1e-7);

/** Elementwise BCE of sigmoid(logits) against targets, probabilities clipped to [1e-7, 1 - 1e-7]. */
export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.clipByValue(logits, -BCE_LOGIT_CLIP, BCE_LOGIT_CLIP);
    return tf.add(tf.mul(targets, tf.softplus(tf.neg(x))), tf.mul(tf.sub(1, targets), tf.softplus(x)));
  });
}

/** Ground truths per chunk of the ignore test. */
const IGNORE_CHUNK = 16;

/**
 * 1 where a cell's decoded prediction has IoU > thresh with some ground truth of its image, [B, H, W, A].
 * Computed without gradient (the tape sees one op whose gradient is zero). `rows`: the head as
 * [B*H*W*A, 5 + C]; `gt`: padded ground truths [B, N, 4] in grid units (JS). Every op on the [B, HWA, K]
 * IoU grid is same-shape (outer products by matMul with ones, K = 1: exact, Inf included): tfjs-cpu's
 * broadcasting path costs ~1 us per element.
 */
function ignoreMask(rows: tf.Tensor2D, batch: number, H: number, W: number, anchorsGrid: number[][],
  gt: { boxes: Float32Array; maxBoxes: number }, thresh: number): tf.Tensor {
  const A = anchorsGrid.length;
  const M = batch * H * W * A;
  const HWA = H * W * A;
  const N = gt.maxBoxes;
  const f = tf.customGrad(((x: tf.Tensor2D) => {
    const value = tf.tidy(() => {
      // per-cell constants: grid offsets and anchor sizes, row order (b, j, i, a)
      const gx = new Float32Array(M), gy = new Float32Array(M), aw = new Float32Array(M), ah = new Float32Array(M);
      for (let m = 0; m < M; m++) {
        const a = m % A;
        gx[m] = Math.floor(m / A) % W;
        gy[m] = Math.floor(m / (A * W)) % H;
        aw[m] = anchorsGrid[a][0];
        ah[m] = anchorsGrid[a][1];
      }
      const col = (v: Float32Array) => tf.tensor1d(v);
      const [tx, ty, tw, th] = tf.unstack(tf.slice(x, [0, 0], [-1, 4]), 1); // each [M]
      const cx = tf.add(tf.sigmoid(tx), col(gx));
      const cy = tf.add(tf.sigmoid(ty), col(gy));
      const hw = tf.mul(tf.exp(tw), col(aw.map((v) => v / 2)));
      const hh = tf.mul(tf.exp(th), col(ah.map((v) => v / 2)));
      // prediction components [B, HWA, 1]
      const r = (t: tf.Tensor) => tf.reshape(t, [batch, HWA, 1]);
      const pc = [r(tf.sub(cx, hw)), r(tf.sub(cy, hh)), r(tf.add(cx, hw)), r(tf.add(cy, hh)), r(tf.mul(tf.mul(hw, hh), 4))];
      const onesP = tf.ones([batch, HWA, 1]);
      const bx = gt.boxes;
      // Ground truths in chunks (bounded memory: the IoU grid is [B, HWA, chunk]), running max over them.
      let best: tf.Tensor | null = null;
      for (let n0 = 0; n0 < N; n0 += IGNORE_CHUNK) {
        const K = Math.min(N, n0 + IGNORE_CHUNK) - n0;
        const next: tf.Tensor = tf.tidy(() => {
          // ground-truth components [B, 1, K]: x1, y1, x2, y2, area
          const v = [0, 1, 2, 3, 4].map(() => new Float32Array(batch * K));
          for (let b = 0; b < batch; b++) {
            for (let k = 0; k < K; k++) {
              const o = (b * N + n0 + k) * 4;
              const q = b * K + k;
              v[0][q] = bx[o] - bx[o + 2] / 2;
              v[1][q] = bx[o + 1] - bx[o + 3] / 2;
              v[2][q] = bx[o] + bx[o + 2] / 2;
              v[3][q] = bx[o + 1] + bx[o + 3] / 2;
              v[4][q] = bx[o + 2] * bx[o + 3];
            }
          }
          // outer products to [B, HWA, K] by matMul with ones (K = 1 inner size), so every later op is same-shape
          const onesK = tf.ones([batch, 1, K]);
          const [px1, py1, px2, py2, pArea] = pc.map((t) => tf.matMul(t, onesK));
          const [gx1, gy1, gx2, gy2, gArea] = v.map((a) => tf.matMul(onesP, tf.tensor3d(a, [batch, 1, K])));
          const iw = tf.relu(tf.sub(tf.minimum(px2, gx2), tf.maximum(px1, gx1)));
          const ih = tf.relu(tf.sub(tf.minimum(py2, gy2), tf.maximum(py1, gy1)));
          const inter = tf.mul(iw, ih);
          const iou = tf.div(inter, tf.maximum(tf.sub(tf.add(pArea, gArea), inter), 1e-6));
          const m = tf.max(iou, 2);
          return best ? tf.maximum(best, m) : m;
        });
        best?.dispose();
        best = next;
      }
      return tf.reshape(tf.cast(tf.greater(best!, thresh), 'float32'), [batch, H, W, A]);
    });
    return { value, gradFunc: () => tf.zeros([M, x.shape[1]]) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(rows) as tf.Tensor;
}

/**
 * tf.gather(x, idx) on rows of a 2-D tensor, with the gradient as one scatterND. (tfjs's own gather
 * gradient, unsortedSegmentSum, loops over every row of x on the CPU backend: seconds at 416 x 416.)
 * `idx` must not repeat (positives are unique).
 */
function gatherRows(x: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor2D {
  const shape = x.shape;
  const f = tf.customGrad(((xx: tf.Tensor2D, save: (ts: tf.Tensor[]) => void) => {
    save([idx]); // kept by the tape: idx itself may be disposed (tidied) before the backward pass
    return {
      value: tf.gather(xx, idx),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => tf.scatterND(tf.expandDims(saved[0], 1), dy, shape),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor2D;
}

/** Per-positive grid offsets (i, j) and anchor sizes in grid units, from the flat indices. */
function positiveGeometry(t: HeadTargets, anchorsGrid: number[][]): { grid: Float32Array; anchor: Float32Array } {
  const { gridW: W, numAnchors: A } = t;
  const P = t.positives.length;
  const grid = new Float32Array(P * 2);
  const anchor = new Float32Array(P * 2);
  t.positives.forEach((k, p) => {
    const a = k % A;
    const i = Math.floor(k / A) % W;
    const j = Math.floor(k / (A * W)) % t.gridH;
    grid[p * 2] = i;
    grid[p * 2 + 1] = j;
    anchor[p * 2] = anchorsGrid[a][0];
    anchor[p * 2 + 1] = anchorsGrid[a][1];
  });
  return { grid, anchor };
}

/**
 * The YOLOv4 loss of a batch. `outputs`: the heads in model output order, each [B, H, W, A * (5 + C)];
 * `targets[b]`: image b's boxes as rows [cx, cy, w, h, classId] normalised to the input.
 * Differentiable w.r.t. the outputs; tidy-safe (only the four returned scalars survive).
 */
export function yoloLoss(outputs: tf.Tensor[], targets: readonly Float32Array[], opts: YoloLossOptions): YoloLossResult {
  const C = opts.numClasses;
  const [inH, inW] = opts.inputSize;
  const numHeads = opts.anchorMask.length;
  if (outputs.length !== numHeads) throw new LossInputError(`yoloLoss: ${outputs.length} outputs but anchorMask has ${numHeads} heads`);
  const balance = opts.balance ?? [0.4, 1, 4];
  if (balance.length !== numHeads) throw new TrainOptionError(`yoloLoss: balance needs ${numHeads} values, got ${balance.length}`);
  const ls = opts.labelSmoothing ?? 0;
  const boxWeight = opts.boxWeight ?? 0.05;
  const objScale = opts.objWeightScale ?? (5 * inH * inW) / (416 * 416);
  const clsWeight = opts.clsWeight ?? C / 80;
  const ignoreThresh = opts.ignoreThresh ?? 0.5;
  const focal = opts.focalObj ?? false;
  const gamma = opts.focalGamma ?? 2;
  const alpha = opts.focalAlpha ?? 0.25;
  const focalRatio = opts.focalRatio ?? 10;

  const batch = outputs[0].shape[0];
  if (targets.length !== batch) throw new LossInputError(`yoloLoss: ${targets.length} target arrays for a batch of ${batch}`);
  const grids = outputs.map((o, l) => {
    const A = opts.anchorMask[l].length;
    if (o.rank !== 4 || o.shape[0] !== batch || o.shape[3] !== A * (5 + C)) {
      throw new LossInputError(`yoloLoss: output ${l} has shape [${o.shape}], expected [${batch}, H, W, ${A * (5 + C)}]`);
    }
    return [o.shape[1], o.shape[2]] as [number, number];
  });
  const heads = buildTargets(targets, { anchors: opts.anchors, anchorMask: opts.anchorMask, numClasses: C, inputSize: opts.inputSize, gridSizes: grids, anchorIouThreshold: opts.anchorIouThreshold });

  const result = tf.tidy(() => {
    let box: tf.Tensor = tf.scalar(0);
    let obj: tf.Tensor = tf.scalar(0);
    let cls: tf.Tensor = tf.scalar(0);
    for (let l = 0; l < numHeads; l++) {
      const t = heads[l];
      const [H, W] = grids[l];
      const A = t.numAnchors;
      // anchors in this head's grid units: a / stride, stride = input / grid
      const anchorsGrid = opts.anchorMask[l].map((n) => [opts.anchors[n][0] / (inW / W), opts.anchors[n][1] / (inH / H)]);
      const tt = headTargetsToTensors(t);
      const rowsAll = tf.reshape(outputs[l], [batch * H * W * A, 5 + C]) as tf.Tensor2D;

      // Objectness over positives + non-ignored negatives.
      const ignored = ignoreMask(rowsAll, batch, H, W, anchorsGrid, gtBoxesInGrid(targets, H, W), ignoreThresh);
      const keep = tf.add(tt.objMask, tf.mul(tt.noobjMask, tf.sub(1, ignored)));
      const objLogit = tf.reshape(tf.slice(rowsAll, [0, 4], [-1, 1]), [batch, H, W, A]);
      let objTerm = bceWithLogits(objLogit, tt.objMask);
      if (focal) {
        const conf = tf.sigmoid(objLogit);
        const posNeg = tf.add(tf.mul(tt.objMask, alpha), tf.mul(tf.sub(1, tt.objMask), 1 - alpha));
        const hardEasy = tf.pow(tf.add(tf.mul(tt.objMask, tf.sub(1, conf)), tf.mul(tf.sub(1, tt.objMask), conf)), gamma);
        objTerm = tf.mul(tf.mul(objTerm, posNeg), hardEasy);
      }
      let lossConf = tf.div(tf.sum(tf.mul(objTerm, keep)), tf.maximum(tf.sum(keep), 1));
      if (focal) lossConf = tf.mul(lossConf, focalRatio);
      obj = tf.add(obj, tf.mul(lossConf, balance[l] * objScale));

      // Box and class terms over the positives only (gathered, so nothing else can leak NaN/Inf in).
      const P = t.positives.length;
      if (P > 0) {
        const rows = gatherRows(rowsAll, tt.positives); // [P, 5 + C]
        const geo = positiveGeometry(t, anchorsGrid);
        const xy = tf.add(tf.sigmoid(tf.slice(rows, [0, 0], [-1, 2])), tf.tensor2d(geo.grid, [P, 2]));
        const wh = tf.mul(tf.exp(tf.slice(rows, [0, 2], [-1, 2])), tf.tensor2d(geo.anchor, [P, 2]));
        const predBoxes = tf.concat([xy, wh], 1);
        let oneMinus = tf.sub(1, ciou(predBoxes, tt.boxTarget, { detachAlpha: opts.detachCiouAlpha ?? true }));
        if (opts.useBoxLossScale) oneMinus = tf.mul(oneMinus, tt.boxLossScale);
        box = tf.add(box, tf.mul(tf.mean(oneMinus), boxWeight));

        const clsTarget = ls > 0 ? tf.add(tf.mul(tt.clsTarget, 1 - ls), ls / C) : tt.clsTarget;
        const lossCls = tf.mean(bceWithLogits(tf.slice(rows, [0, 5], [-1, C]), clsTarget));
        cls = tf.add(cls, tf.mul(lossCls, clsWeight));
      }
    }
    const total = tf.add(tf.add(box, obj), cls);
    return { total, box, obj, cls } as { total: tf.Scalar; box: tf.Scalar; obj: tf.Scalar; cls: tf.Scalar };
  });
  return result;
}
