/**
 * YOLOv4 target assignment, in plain JS on typed arrays (tensors only in `headTargetsToTensors`).
 *
 * Rule of the PyTorch reference (bubbliiiing/yolov4-pytorch `YOLOLoss.get_target`): each ground-truth box
 * goes to the anchor, among all of them (9 for YOLOv4), whose shape best matches it: IoU of [0, 0, w, h]
 * against [0, 0, aw, ah] (both centred at the origin), first maximum on ties. It becomes a positive on the
 * head that owns that anchor (through `anchorMask`), at slot `anchorMask[head].indexOf(best)`, in cell
 * (floor(cx * W), floor(cy * H)) of that head's W x H grid. Nothing else is positive: no other anchor or
 * cell gets the box, whatever its IoU.
 *
 * Ignoring (predictions whose decoded box overlaps a ground truth by IoU > 0.5 are not negatives) depends on
 * the current predictions and is done in tf inside the loss (`loss.ts`); `noobjMask` here is before it.
 *
 * Option `anchorIouThreshold` (darknet's `iou_thresh`, 0.213 in yolov4.cfg): the box is ALSO a positive
 * for every other anchor whose shape IoU with it exceeds the threshold, on that anchor's head, in that
 * head's cell. More positives per box, as AlexeyAB's darknet trains YOLOv4.
 *
 * Collisions (two boxes on the same head, cell and slot) behave as in the reference: the later box wins the
 * box target and box-loss scale, the class targets accumulate (multi-hot).
 *
 * Layout: every per-cell array is [B, H, W, A] (then 4 or C innermost), the order of the NHWC head output
 * viewed as [B, H, W, A, 5 + C]. Box targets are in grid units of the head: (cx*W, cy*H, w*W, h*H).
 */
import * as tf from '@tensorflow/tfjs';
import { LossInputError, TrainOptionError } from './errors.ts';

export type AnchorWH = readonly [number, number] | readonly number[];

export interface TargetOptions {
  /** All anchors as [w, h] in input pixels. */
  anchors: readonly AnchorWH[];
  /** Anchor indices of each head, heads in output order (13x13 at 416 first: [[6,7,8],[3,4,5],[0,1,2]]). */
  anchorMask: readonly (readonly number[])[];
  numClasses: number;
  /** Network input [height, width] in pixels. */
  inputSize: readonly [number, number];
  /** Grid [H, W] of each head (default: inputSize / [32, 16, 8], the YOLOv4 strides). */
  gridSizes?: readonly (readonly [number, number])[];
  /** Also assign each box to every anchor with shape IoU above this (darknet iou_thresh; default: best only). */
  anchorIouThreshold?: number;
}

export interface HeadTargets {
  batch: number;
  gridH: number;
  gridW: number;
  /** Anchors of this head. */
  numAnchors: number;
  numClasses: number;
  /** 1 at positives, [B, H, W, A]. */
  objMask: Float32Array;
  /** 1 where a cell may be a negative (0 at positives), before ignoring. [B, H, W, A]. */
  noobjMask: Float32Array;
  /** Box targets in grid units (cx*W, cy*H, w*W, h*H), [B, H, W, A, 4]; 0 outside positives. */
  boxTarget: Float32Array;
  /** Multi-hot class targets (not smoothed), [B, H, W, A, C]. */
  clsTarget: Float32Array;
  /** Reference's small-box weight 2 - w*h (w, h normalised) at positives, 0 elsewhere. [B, H, W, A]. */
  boxLossScale: Float32Array;
  /** Flat indices (b, j, i, a) -> ((b*H + j)*W + i)*A + a of the positive cells, ascending. */
  positives: Int32Array;
}

/** IoU of two boxes of sizes (w1, h1) and (w2, h2) sharing one centre. */
export function shapeIou(w1: number, h1: number, w2: number, h2: number): number {
  const inter = Math.min(w1, w2) * Math.min(h1, h2);
  const union = w1 * h1 + w2 * h2 - inter;
  return union > 0 ? inter / union : 0;
}

/** Index of the anchor with the highest shape IoU (first on ties); w, h in input pixels. */
export function bestAnchor(w: number, h: number, anchors: readonly AnchorWH[]): number {
  let best = 0;
  let bestIou = -Infinity;
  for (let n = 0; n < anchors.length; n++) {
    const v = shapeIou(w, h, anchors[n][0], anchors[n][1]);
    if (v > bestIou) {
      bestIou = v;
      best = n;
    }
  }
  return best;
}

/** Grids of the heads: input / [32, 16, 8] unless given. */
export function defaultGridSizes(inputSize: readonly [number, number], numHeads = 3): [number, number][] {
  const strides = [32, 16, 8];
  if (numHeads > strides.length) throw new TrainOptionError(`default grid sizes only for up to 3 heads; pass gridSizes`);
  return strides.slice(0, numHeads).map((s) => [Math.floor(inputSize[0] / s), Math.floor(inputSize[1] / s)]);
}

/**
 * Builds the targets of every head. `targets[b]` holds image b's boxes as consecutive rows
 * [cx, cy, w, h, classId] (normalised to the network input, so length 5 * boxes).
 * Boxes with a non-finite value or a non-positive w or h are skipped; centres are clamped into the grid
 * (cx = 1 goes to the last column); a class id outside [0, numClasses) throws.
 */
export function buildTargets(targets: readonly Float32Array[], opts: TargetOptions): HeadTargets[] {
  const { anchors, anchorMask, numClasses } = opts;
  const [inH, inW] = opts.inputSize;
  const grids = opts.gridSizes ?? defaultGridSizes(opts.inputSize, anchorMask.length);
  if (grids.length !== anchorMask.length) throw new TrainOptionError(`gridSizes has ${grids.length} heads, anchorMask ${anchorMask.length}`);
  const batch = targets.length;
  const thr = opts.anchorIouThreshold;
  if (thr !== undefined && !(thr >= 0 && thr < 1)) throw new TrainOptionError(`anchorIouThreshold must be in [0, 1), got ${thr}`);
  // anchor index -> [head, slot]
  const owner = new Map<number, [number, number]>();
  anchorMask.forEach((m, head) => m.forEach((n, slot) => owner.set(n, [head, slot])));

  const heads: HeadTargets[] = grids.map(([gh, gw], head) => {
    const A = anchorMask[head].length;
    const cells = batch * gh * gw * A;
    return {
      batch, gridH: gh, gridW: gw, numAnchors: A, numClasses,
      objMask: new Float32Array(cells),
      noobjMask: new Float32Array(cells).fill(1),
      boxTarget: new Float32Array(cells * 4),
      clsTarget: new Float32Array(cells * numClasses),
      boxLossScale: new Float32Array(cells),
      positives: new Int32Array(0),
    };
  });

  for (let b = 0; b < batch; b++) {
    const rows = targets[b];
    if (rows.length % 5 !== 0) throw new LossInputError(`targets[${b}] has ${rows.length} values, not a multiple of 5 ([cx, cy, w, h, classId] rows)`);
    for (let r = 0; r < rows.length; r += 5) {
      const cx = rows[r], cy = rows[r + 1], w = rows[r + 2], h = rows[r + 3], cls = rows[r + 4];
      if (![cx, cy, w, h, cls].every(Number.isFinite) || w <= 0 || h <= 0) continue;
      const c = Math.round(cls);
      if (c < 0 || c >= numClasses) throw new LossInputError(`targets[${b}] row ${r / 5}: class ${cls} outside [0, ${numClasses})`);
      const best = bestAnchor(w * inW, h * inH, anchors);
      const chosen = [best];
      if (thr !== undefined) {
        for (let n = 0; n < anchors.length; n++) {
          if (n !== best && shapeIou(w * inW, h * inH, anchors[n][0], anchors[n][1]) > thr) chosen.push(n);
        }
      }
      for (const n of chosen) {
        const own = owner.get(n);
        if (!own) continue; // anchor used by no head
        const [head, a] = own;
        const t = heads[head];
        const H = t.gridH, W = t.gridW, A = t.numAnchors;
        const i = Math.min(W - 1, Math.max(0, Math.floor(cx * W)));
        const j = Math.min(H - 1, Math.max(0, Math.floor(cy * H)));
        const k = ((b * H + j) * W + i) * A + a;
        t.objMask[k] = 1;
        t.noobjMask[k] = 0;
        t.boxTarget[k * 4] = cx * W;
        t.boxTarget[k * 4 + 1] = cy * H;
        t.boxTarget[k * 4 + 2] = w * W;
        t.boxTarget[k * 4 + 3] = h * H;
        t.clsTarget[k * numClasses + c] = 1;
        t.boxLossScale[k] = 2 - w * h;
      }
    }
  }
  for (const t of heads) {
    const pos: number[] = [];
    for (let k = 0; k < t.objMask.length; k++) if (t.objMask[k] === 1) pos.push(k);
    t.positives = Int32Array.from(pos);
  }
  return heads;
}

/**
 * The ground truths of every image in one head's grid units, zero-padded to the largest count:
 * [B, maxBoxes, 4] (maxBoxes at least 1). Rows `buildTargets` skips (non-finite, w or h <= 0) are left out;
 * a zero pad box has IoU 0 with everything.
 */
export function gtBoxesInGrid(targets: readonly Float32Array[], gridH: number, gridW: number): { boxes: Float32Array; maxBoxes: number } {
  const valid = targets.map((rows) => {
    const out: number[][] = [];
    for (let r = 0; r + 5 <= rows.length; r += 5) {
      const [cx, cy, w, h] = [rows[r], rows[r + 1], rows[r + 2], rows[r + 3]];
      if ([cx, cy, w, h].every(Number.isFinite) && w > 0 && h > 0) out.push([cx * gridW, cy * gridH, w * gridW, h * gridH]);
    }
    return out;
  });
  const maxBoxes = Math.max(1, ...valid.map((v) => v.length));
  const boxes = new Float32Array(targets.length * maxBoxes * 4);
  valid.forEach((list, b) => list.forEach((box, n) => boxes.set(box, (b * maxBoxes + n) * 4)));
  return { boxes, maxBoxes };
}

export interface HeadTargetTensors {
  /** [B, H, W, A] */
  objMask: tf.Tensor;
  /** [B, H, W, A], before ignoring */
  noobjMask: tf.Tensor;
  /** [P] int32 flat positive indices into B*H*W*A */
  positives: tf.Tensor1D;
  /** [P, 4] box targets of the positives, grid units */
  boxTarget: tf.Tensor2D;
  /** [P, C] class targets of the positives (not smoothed) */
  clsTarget: tf.Tensor2D;
  /** [P] box-loss scale of the positives */
  boxLossScale: tf.Tensor1D;
}

/** Tensors of one head's targets, the per-positive values gathered in JS. Caller disposes (or tidies). */
export function headTargetsToTensors(t: HeadTargets): HeadTargetTensors {
  const P = t.positives.length;
  const C = t.numClasses;
  const box = new Float32Array(P * 4);
  const cls = new Float32Array(P * C);
  const scale = new Float32Array(P);
  t.positives.forEach((k, p) => {
    box.set(t.boxTarget.subarray(k * 4, k * 4 + 4), p * 4);
    cls.set(t.clsTarget.subarray(k * C, k * C + C), p * C);
    scale[p] = t.boxLossScale[k];
  });
  const shape = [t.batch, t.gridH, t.gridW, t.numAnchors];
  return {
    objMask: tf.tensor(t.objMask, shape),
    noobjMask: tf.tensor(t.noobjMask, shape),
    positives: tf.tensor1d(t.positives, 'int32'),
    boxTarget: tf.tensor2d(box, [P, 4]),
    clsTarget: tf.tensor2d(cls, [P, C]),
    boxLossScale: tf.tensor1d(scale),
  };
}
