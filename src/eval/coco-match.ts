/**
 * Per image (and category) matching: pycocotools' `computeIoU` + `evaluateImg` for bbox.
 *
 * The outcome of each detection at each IoU threshold is one byte:
 *   DT_FP (0)      counted as a false positive,
 *   DT_TP (1)      counted as a true positive,
 *   DT_IGNORED (2) neither (matched an ignored GT such as a crowd, or unmatched and outside the area range).
 */

export const DT_FP = 0;
export const DT_TP = 1;
export const DT_IGNORED = 2;

/**
 * IoU matrix like pycocotools' `maskUtils.iou(dt, gt, iscrowd)` for boxes (maskApi.c `bbIou`),
 * with the same floating-point operation order. `out[d * G + g]`; for a crowd GT the union is
 * the detection's own area (IoU = intersection / det area).
 *
 * @param boxesD detection boxes, xywh, 4 numbers per detection (indexed via dIdx)
 * @param boxesG GT boxes, xywh (indexed via gIdx)
 */
export function bboxIouMatrix(
  boxesD: Float64Array, dIdx: Int32Array, dOff: number, D: number,
  boxesG: Float64Array, gIdx: Int32Array, gOff: number, G: number,
  crowdG: Uint8Array,
  out: Float64Array,
): void {
  for (let g = 0; g < G; g++) {
    const gi = gIdx[gOff + g] * 4;
    const gx = boxesG[gi], gy = boxesG[gi + 1], gw = boxesG[gi + 2], gh = boxesG[gi + 3];
    const ga = gw * gh;
    const crowd = crowdG[gIdx[gOff + g]] !== 0;
    const gx2 = gw + gx;
    const gy2 = gh + gy;
    for (let d = 0; d < D; d++) {
      const di = dIdx[dOff + d] * 4;
      const dx = boxesD[di], dy = boxesD[di + 1], dw = boxesD[di + 2], dh = boxesD[di + 3];
      const o = d * G + g;
      out[o] = 0;
      const w = Math.min(dw + dx, gx2) - Math.max(dx, gx);
      if (w <= 0) continue;
      const h = Math.min(dh + dy, gy2) - Math.max(dy, gy);
      if (h <= 0) continue;
      const da = dw * dh;
      const i = w * h;
      const u = crowd ? da : da + ga - i;
      out[o] = i / u;
    }
  }
}

/** Reusable buffers for matchCell (grown on demand). */
export class MatchScratch {
  perm = new Int32Array(64);
  sIgnore = new Uint8Array(64);
  sCrowd = new Uint8Array(64);
  sIdNonZero = new Uint8Array(64);
  gtMatched = new Uint8Array(64);

  ensure(G: number): void {
    if (this.perm.length >= G) return;
    const n = Math.max(G, this.perm.length * 2);
    this.perm = new Int32Array(n);
    this.sIgnore = new Uint8Array(n);
    this.sCrowd = new Uint8Array(n);
    this.sIdNonZero = new Uint8Array(n);
    this.gtMatched = new Uint8Array(n);
  }
}

/**
 * Greedy matching of one image/category at one area range, for every IoU threshold, exactly as
 * pycocotools' evaluateImg: GTs are stably reordered with ignored ones last; detections (already
 * sorted by score and truncated to maxDet) take, per threshold, the GT of highest IoU >= min(t, 1-1e-10),
 * skipping non-crowd GTs already taken, and stop scanning at the first ignored GT once a
 * non-ignored one has been matched. A crowd GT can absorb any number of detections.
 *
 * A matched GT whose `id` is 0 counts as "no match" in pycocotools' accumulate (it tests the stored
 * GT id for truthiness); `gtIdNonZero` reproduces that.
 *
 * @param ious D x G matrix from bboxIouMatrix, columns in the cell's original GT order
 * @param gtIgnore per GT (original order) ignore flag for this area range
 * @param dtOutside per detection: its area (w*h) lies outside this area range
 * @param out outcome bytes; the outcome of detection d at threshold t goes to out[base + t * tStride + d]
 */
export function matchCell(
  D: number, G: number,
  ious: Float64Array,
  gtIgnore: Uint8Array, gtCrowd: Uint8Array, gtIdNonZero: Uint8Array,
  dtOutside: Uint8Array,
  iouThrs: readonly number[],
  out: Uint8Array, base: number, tStride: number,
  s: MatchScratch,
): void {
  const T = iouThrs.length;
  if (D === 0) return;
  if (G === 0) {
    // pycocotools: ious == [] -> no matching; unmatched dets outside the area range are ignored
    for (let t = 0; t < T; t++) {
      const row = base + t * tStride;
      for (let d = 0; d < D; d++) out[row + d] = dtOutside[d] ? DT_IGNORED : DT_FP;
    }
    return;
  }
  s.ensure(G);
  const { perm, sIgnore, sCrowd, sIdNonZero, gtMatched } = s;
  // np.argsort([g['_ignore'] for g in gt], kind='mergesort')
  let p = 0;
  for (let g = 0; g < G; g++) if (!gtIgnore[g]) perm[p++] = g;
  for (let g = 0; g < G; g++) if (gtIgnore[g]) perm[p++] = g;
  for (let gi = 0; gi < G; gi++) {
    const g = perm[gi];
    sIgnore[gi] = gtIgnore[g];
    sCrowd[gi] = gtCrowd[g];
    sIdNonZero[gi] = gtIdNonZero[g];
  }
  for (let t = 0; t < T; t++) {
    const thr = Math.min(iouThrs[t], 1 - 1e-10);
    gtMatched.fill(0, 0, G);
    const row = base + t * tStride;
    for (let d = 0; d < D; d++) {
      let iou = thr;
      let m = -1;
      const r = d * G;
      for (let gi = 0; gi < G; gi++) {
        // if this gt already matched, and not a crowd, continue
        if (gtMatched[gi] && !sCrowd[gi]) continue;
        // if dt matched to reg gt, and on ignore gt, stop
        if (m > -1 && sIgnore[m] === 0 && sIgnore[gi] === 1) break;
        // continue to next gt unless better match made
        const v = ious[r + perm[gi]];
        if (v < iou) continue;
        iou = v;
        m = gi;
      }
      if (m === -1) {
        out[row + d] = dtOutside[d] ? DT_IGNORED : DT_FP;
        continue;
      }
      gtMatched[m] = 1;
      const hasId = sIdNonZero[m] !== 0;
      // dtIg = gtIg[m], then dtIg |= (dtm == 0) & outside
      const ignored = sIgnore[m] !== 0 || (!hasId && dtOutside[d] !== 0);
      out[row + d] = ignored ? DT_IGNORED : hasId ? DT_TP : DT_FP;
    }
  }
}
