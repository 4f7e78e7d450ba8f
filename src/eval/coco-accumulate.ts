/**
 * pycocotools' `COCOeval.accumulate()` for one category: from the per-detection outcomes
 * (DT_TP / DT_FP / DT_IGNORED for every area range and IoU threshold) to the 101-point
 * interpolated precision and the final recall.
 */
import { DT_FP, DT_TP } from './coco-match.ts';
import { stableSortDesc } from './coco-sort.ts';
import type { CocoEvalDims } from './coco-types.ts';

/** np.spacing(1) */
const EPS = 2.220446049250313e-16;

/** One category's detections after evaluateImg, in pycocotools' concatenation order. */
export interface CategoryDetections {
  /** number of detections kept (each image truncated to the largest maxDet) */
  n: number;
  /** score of detection c; c runs over images in ascending image id, then by score within the image */
  scores: Float64Array;
  /** rank of detection c within its image (0 = highest score); used for the smaller maxDets */
  rank: Int32Array;
  /** outcome bytes at state[(a * T + t) * n + c] */
  state: Uint8Array;
  /** per area range: number of non-ignored GT boxes */
  npig: Int32Array;
  /** false when no image has a GT or a detection of this category (pycocotools: E is empty) */
  present: boolean;
}

export class AccumulateScratch {
  order = new Int32Array(0);
  tmp = new Int32Array(0);
  sel = new Int32Array(0);
  pr = new Float64Array(0);

  ensure(n: number): void {
    if (this.order.length >= n) return;
    const m = Math.max(n, this.order.length * 2);
    this.order = new Int32Array(m);
    this.tmp = new Int32Array(m);
    this.sel = new Int32Array(m);
    this.pr = new Float64Array(m);
  }
}

/**
 * Fills precision[:, :, k, :, :] and recall[:, k, :, :] (row-major [T,R,K,A,M] and [T,K,A,M]);
 * entries are left untouched (-1) where pycocotools skips them: no image with GT or detections
 * of this category, or no non-ignored GT in an area range.
 */
export function accumulateCategory(
  k: number,
  cd: CategoryDetections,
  dims: CocoEvalDims,
  maxDets: readonly number[],
  recThrs: readonly number[],
  precision: Float64Array,
  recall: Float64Array,
  s: AccumulateScratch,
): void {
  if (!cd.present) return;
  const { T, R, K, A, M } = dims;
  const N = cd.n;
  s.ensure(N);
  // inds = np.argsort(-dtScores, kind='mergesort') over all images' detections. Sorting once and
  // filtering by per-image rank < maxDet gives the same order as sorting each truncated list.
  const order = s.order;
  for (let i = 0; i < N; i++) order[i] = i;
  stableSortDesc(cd.scores, order, N, s.tmp);
  const { sel, pr } = s;

  let prevNd = -1;
  for (let m = 0; m < M; m++) {
    const maxDet = maxDets[m];
    let nd = 0;
    for (let i = 0; i < N; i++) {
      const c = order[i];
      if (cd.rank[c] < maxDet) sel[nd++] = c;
    }
    if (nd === prevNd) {
      // maxDets are ascending, so the same count means the same detections: copy the results
      copySetting(m - 1, m, k, dims, precision, recall, cd.npig);
      continue;
    }
    prevNd = nd;
    for (let a = 0; a < A; a++) {
      const npig = cd.npig[a];
      if (npig === 0) continue;
      for (let t = 0; t < T; t++) {
        const base = (a * T + t) * N;
        // pycocotools builds rc = tp/npig and pr = tp/(fp+tp+eps) at every detection, makes pr
        // non-increasing from the right and reads pr at searchsorted(rc, recThrs, 'left').
        // rc only grows at true positives and pr only falls between them, so the first index with
        // rc >= thr (thr > 0) is a TP, and the envelope there is the max of pr over the later TPs;
        // for thr == 0 the answer is the max over all TPs (0 without any). We therefore keep pr at
        // the TPs only: same float operations, same values.
        let tp = 0;
        let fp = 0;
        for (let i = 0; i < nd; i++) {
          const st = cd.state[base + sel[i]];
          if (st === DT_TP) {
            tp++;
            pr[tp - 1] = tp / (fp + tp + EPS);
          } else if (st === DT_FP) fp++;
        }
        const nTp = tp;
        recall[((t * K + k) * A + a) * M + m] = nd ? nTp / npig : 0;
        for (let j = nTp - 1; j > 0; j--) {
          if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
        }
        const pBase = (t * R * K + k) * A * M + a * M + m;
        const pStride = K * A * M;
        let j = 0;
        for (let r = 0; r < R; r++) {
          const thr = recThrs[r];
          // first TP j whose recall (j + 1) / npig reaches thr; thr <= 0 takes the first TP
          while (j < nTp && (j + 1) / npig < thr) j++;
          precision[pBase + r * pStride] = j < nTp ? pr[j] : 0;
        }
      }
    }
  }
}

/** precision/recall[..., k, a, mTo] = [..., k, a, mFrom] for the area ranges that have GT. */
function copySetting(
  mFrom: number, mTo: number, k: number, dims: CocoEvalDims,
  precision: Float64Array, recall: Float64Array, npig: Int32Array,
): void {
  const { T, R, K, A, M } = dims;
  for (let a = 0; a < A; a++) {
    if (npig[a] === 0) continue;
    for (let t = 0; t < T; t++) {
      const ri = ((t * K + k) * A + a) * M;
      recall[ri + mTo] = recall[ri + mFrom];
      for (let r = 0; r < R; r++) {
        const pi = (((t * R + r) * K + k) * A + a) * M;
        precision[pi + mTo] = precision[pi + mFrom];
      }
    }
  }
}
