/**
 * PASCAL VOC style mAP@0.5, computed from the same COCO-format inputs.
 *
 * Definition (VOC2010+ devkit, `voc_eval.py` with use_07_metric=False):
 * - per class, all detections of all images are sorted by score (descending, stable);
 * - each detection takes the GT box of its image with the highest IoU (plain IoU, continuous
 *   coordinates, no "+1 pixel" convention); it is a true positive if that IoU is > 0.5 (strict,
 *   like the devkit's `ovmax > ovthresh`) and the GT was not taken yet, otherwise a false positive
 *   (duplicates are false positives);
 * - crowd GT (`iscrowd`) plays the part of VOC's "difficult" boxes: a detection whose best match is
 *   a crowd box counts neither way, and crowd boxes are not counted in the number of positives;
 * - AP is the area under the precision envelope (all-point interpolation):
 *   mrec = [0, rec..., 1], mpre = [0, prec..., 0], mpre[i] = max(mpre[i..]), AP = sum (mrec[i+1]-mrec[i]) * mpre[i+1];
 * - classes without (non-crowd) GT are excluded: their AP is -1 and they are not in the mean.
 * GT annotations whose image or category is not in the GT lists are left out, like evaluateCoco.
 */
import { stableSortDesc, iota } from './coco-sort.ts';
import type { CocoDetection, CocoGroundTruth } from './coco-types.ts';
import { validateDetections, validateGroundTruth } from './coco-validate.ts';

export interface VocClassResult {
  id: number;
  name: string;
  /** -1 when the class has no non-crowd GT */
  AP: number;
  numGt: number;
  numDets: number;
}

export interface VocResult {
  /** mean AP over the classes with GT; -1 when there are none */
  mAP: number;
  perClass: VocClassResult[];
}

function iou(a: number[], b: number[]): number {
  const iw = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  if (iw <= 0) return 0;
  const ih = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (ih <= 0) return 0;
  const inter = iw * ih;
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

/** VOC all-point interpolated AP from cumulative precision/recall. */
export function vocApAllPoint(rec: ArrayLike<number>, prec: ArrayLike<number>): number {
  const n = rec.length;
  const mrec = new Float64Array(n + 2);
  const mpre = new Float64Array(n + 2);
  mrec[n + 1] = 1;
  for (let i = 0; i < n; i++) {
    mrec[i + 1] = rec[i];
    mpre[i + 1] = prec[i];
  }
  for (let i = n; i >= 0; i--) mpre[i] = Math.max(mpre[i], mpre[i + 1]);
  let ap = 0;
  for (let i = 0; i <= n; i++) {
    if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  }
  return ap;
}

/** VOC-style mAP at IoU 0.5 (see the file comment for the exact definition). */
export function vocMap50(gt: CocoGroundTruth, dets: CocoDetection[], opts: { iouThr?: number } = {}): VocResult {
  validateGroundTruth(gt);
  validateDetections(gt, dets);
  const thr = opts.iouThr ?? 0.5;
  const imgSet = new Set(gt.images.map((im) => im.id));
  const names = new Map<number, string>();
  for (const c of gt.categories) names.set(c.id, c.name);
  const catIds = [...names.keys()].sort((a, b) => a - b);

  // GT per "category image" key, dets per category
  const gtByCat = new Map<number, Map<number, { bbox: number[]; crowd: boolean }[]>>();
  const npos = new Map<number, number>();
  for (const a of gt.annotations) {
    if (!imgSet.has(a.image_id) || !names.has(a.category_id)) continue;
    let byImg = gtByCat.get(a.category_id);
    if (!byImg) gtByCat.set(a.category_id, (byImg = new Map()));
    let list = byImg.get(a.image_id);
    if (!list) byImg.set(a.image_id, (list = []));
    const crowd = a.iscrowd === true || (typeof a.iscrowd === 'number' && a.iscrowd !== 0);
    list.push({ bbox: a.bbox, crowd });
    if (!crowd) npos.set(a.category_id, (npos.get(a.category_id) ?? 0) + 1);
  }
  const detsByCat = new Map<number, number[]>();
  dets.forEach((d, i) => {
    let l = detsByCat.get(d.category_id);
    if (!l) detsByCat.set(d.category_id, (l = []));
    l.push(i);
  });

  const perClass: VocClassResult[] = [];
  let sum = 0;
  let counted = 0;
  for (const cid of catIds) {
    const nGt = npos.get(cid) ?? 0;
    const idx = detsByCat.get(cid) ?? [];
    const res: VocClassResult = { id: cid, name: names.get(cid)!, AP: -1, numGt: nGt, numDets: idx.length };
    perClass.push(res);
    if (nGt === 0) continue;
    const scores = new Float64Array(idx.length);
    idx.forEach((di, j) => (scores[j] = dets[di].score));
    const order = iota(idx.length);
    stableSortDesc(scores, order, idx.length, new Int32Array(idx.length));
    const byImg = gtByCat.get(cid) ?? new Map();
    const taken = new Map<number, Uint8Array>();
    const rec: number[] = [];
    const prec: number[] = [];
    let tp = 0;
    let fp = 0;
    for (let j = 0; j < order.length; j++) {
      const d = dets[idx[order[j]]];
      const gts = byImg.get(d.image_id) ?? [];
      let best = -Infinity;
      let bi = -1;
      for (let g = 0; g < gts.length; g++) {
        const o = iou(d.bbox, gts[g].bbox);
        if (o > best) {
          best = o;
          bi = g;
        }
      }
      if (bi >= 0 && best > thr) {
        if (gts[bi].crowd) continue; // "difficult": neither TP nor FP
        let t = taken.get(d.image_id);
        if (!t) taken.set(d.image_id, (t = new Uint8Array(gts.length)));
        if (!t[bi]) {
          t[bi] = 1;
          tp++;
        } else fp++;
      } else fp++;
      rec.push(tp / nGt);
      prec.push(tp / Math.max(tp + fp, Number.EPSILON));
    }
    res.AP = vocApAllPoint(rec, prec);
    sum += res.AP;
    counted++;
  }
  return { mAP: counted ? sum / counted : -1, perClass };
}
