/**
 * evaluateCoco: pycocotools' COCOeval(iouType='bbox') evaluate() + accumulate() + summarize(),
 * reimplemented on typed arrays and processed one category at a time.
 *
 * What is reproduced from pycocotools (2.0.x), including its quirks:
 * - imgIds = sorted unique GT image ids, catIds = sorted unique GT category ids; GT annotations on
 *   other images/categories are left out; detections on unknown images/categories are an error here
 *   (pycocotools asserts on the image ids only).
 * - detection area = w * h, detection iscrowd = 0 (loadRes); GT area = the annotation's `area`.
 * - GT ignore = iscrowd (the `ignore` field is overwritten by pycocotools; see honorIgnoreFlag),
 *   or area outside the range (inclusive bounds: area == 32**2 is both small and medium).
 * - per image and category: detections sorted by score (stable) and cut to max(maxDets); the matching
 *   is done once with that cut and the smaller maxDets take per-image prefixes of it.
 * - accumulate sorts all images' detections by score with a stable sort in ascending image id order.
 */
import { accumulateCategory, AccumulateScratch, type CategoryDetections } from './coco-accumulate.ts';
import { CategoryBuffers } from './coco-category-buffers.ts';
import { detectionColumns, groundTruthColumns } from './coco-columns.ts';
import { bboxIouMatrix, matchCell, MatchScratch } from './coco-match.ts';
import { buildParams } from './coco-params.ts';
import { countingSortBy, iota, stableSortDesc } from './coco-sort.ts';
import { perClassAP, summarizeStats } from './coco-summarize.ts';
import type { CocoDetection, CocoEvalDims, CocoEvalOptions, CocoEvalResult, CocoGroundTruth } from './coco-types.ts';
import { validateDetections, validateGroundTruth } from './coco-validate.ts';

/**
 * COCO bbox evaluation numerically identical to pycocotools' COCOeval (evaluate, accumulate,
 * summarize). Throws CocoInputError on malformed input (unless opts.skipValidation).
 */
export function evaluateCoco(gt: CocoGroundTruth, dets: CocoDetection[], opts: CocoEvalOptions = {}): CocoEvalResult {
  if (!opts.skipValidation) {
    validateGroundTruth(gt);
    validateDetections(gt, dets);
  }
  const params = buildParams(gt, opts);
  const { imgIds, catIds, iouThrs, recThrs, maxDets, areaRng, useCats } = params;
  const nImg = imgIds.length;
  const nCat = catIds.length;
  const T = iouThrs.length;
  const R = recThrs.length;
  const K = useCats ? nCat : 1;
  const A = areaRng.length;
  const M = maxDets.length;
  const dims: CocoEvalDims = { T, R, K, A, M };
  const maxDetLast = maxDets[M - 1];
  const honorIgnore = opts.honorIgnoreFlag ?? false;

  const imgIndex = new Map<number, number>();
  imgIds.forEach((id, i) => imgIndex.set(id, i));
  const catIndex = new Map<number, number>();
  catIds.forEach((id, i) => catIndex.set(id, i));

  // ---- ground truth (only annotations on evaluated images and categories) and detections ----
  const { n: nG, box: gBox, area: gArea, crowd: gCrowd, ignore: gIgn, idNonZero: gIdNZ, img: gImg, cat: gCat } =
    groundTruthColumns(gt, imgIndex, catIndex, honorIgnore);
  const { n: nD, box: dBox, area: dArea, score: dScore, img: dImg, cat: dCat } = detectionColumns(dets, imgIndex, catIndex);

  // ---- group into (category, image) cells, keeping file order inside a cell ----
  // useCats: order by (cat, img); otherwise by (img, cat) with one cell per image, so that a cell
  // lists its boxes category by category like pycocotools' `[_ for cId in catIds for _ in _gts[img, cId]]`.
  let gOrder: Int32Array, dOrder: Int32Array;
  let gKey: Int32Array, dKey: Int32Array;
  if (useCats) {
    gOrder = countingSortBy(countingSortBy(iota(nG), gImg, nImg), gCat, nCat);
    dOrder = countingSortBy(countingSortBy(iota(nD), dImg, nImg), dCat, nCat);
    gKey = gCat;
    dKey = dCat;
  } else {
    gOrder = countingSortBy(countingSortBy(iota(nG), gCat, nCat), gImg, nImg);
    dOrder = countingSortBy(countingSortBy(iota(nD), dCat, nCat), dImg, nImg);
    gKey = new Int32Array(nG);
    dKey = new Int32Array(nD);
  }

  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const buf = new CategoryBuffers();
  const matchScratch = new MatchScratch();
  const accScratch = new AccumulateScratch();
  let sortTmp = new Int32Array(64);
  // cells of the current category: image, GT range, det range (in gOrder / dOrder)
  let cellG0 = new Int32Array(64), cellG1 = new Int32Array(64);
  let cellD0 = new Int32Array(64), cellD1 = new Int32Array(64);

  let gp = 0;
  let dp = 0;
  for (let k = 0; k < K; k++) {
    let gEnd = gp;
    while (gEnd < nG && gKey[gOrder[gEnd]] === k) gEnd++;
    let dEnd = dp;
    while (dEnd < nD && dKey[dOrder[dEnd]] === k) dEnd++;

    // ---- cells: the images having GT or detections of this category, ascending image id ----
    let nCells = 0;
    let N = 0;
    let gi = gp;
    let di = dp;
    while (gi < gEnd || di < dEnd) {
      const img = Math.min(gi < gEnd ? gImg[gOrder[gi]] : nImg, di < dEnd ? dImg[dOrder[di]] : nImg);
      const g0 = gi;
      while (gi < gEnd && gImg[gOrder[gi]] === img) gi++;
      const d0 = di;
      while (di < dEnd && dImg[dOrder[di]] === img) di++;
      if (nCells === cellG0.length) {
        const grow = (a: Int32Array) => { const b = new Int32Array(a.length * 2); b.set(a); return b; };
        cellG0 = grow(cellG0); cellG1 = grow(cellG1); cellD0 = grow(cellD0); cellD1 = grow(cellD1);
      }
      cellG0[nCells] = g0; cellG1[nCells] = gi;
      cellD0[nCells] = d0; cellD1[nCells] = di;
      nCells++;
      // sort this image's detections by score (np.argsort(-score, kind='mergesort'))
      const D0 = di - d0;
      if (D0 > 1) {
        if (sortTmp.length < D0) sortTmp = new Int32Array(Math.max(D0, sortTmp.length * 2));
        stableSortDesc(dScore, dOrder, D0, sortTmp, d0);
      }
      N += Math.min(D0, maxDetLast);
    }

    buf.ensureDets(N, A * T * N);
    const npig = new Int32Array(A);
    let c0 = 0;
    for (let c = 0; c < nCells; c++) {
      const g0 = cellG0[c];
      const G = cellG1[c] - g0;
      const d0 = cellD0[c];
      const D = Math.min(cellD1[c] - d0, maxDetLast);
      buf.ensureCell(D, G);
      for (let d = 0; d < D; d++) {
        const id = dOrder[d0 + d];
        buf.scores[c0 + d] = dScore[id];
        buf.rank[c0 + d] = d;
        buf.dArea[d] = dArea[id];
      }
      for (let g = 0; g < G; g++) {
        const ig = gOrder[g0 + g];
        buf.gIgnoreBase[g] = gIgn[ig];
        buf.gCrowd[g] = gCrowd[ig];
        buf.gIdNZ[g] = gIdNZ[ig];
        buf.gArea[g] = gArea[ig];
      }
      if (D > 0 && G > 0) bboxIouMatrix(dBox, dOrder, d0, D, gBox, gOrder, g0, G, gCrowd, buf.ious);
      for (let a = 0; a < A; a++) {
        const lo = areaRng[a][0];
        const hi = areaRng[a][1];
        let nonIgnored = 0;
        for (let g = 0; g < G; g++) {
          const ar = buf.gArea[g];
          const ig = buf.gIgnoreBase[g] || ar < lo || ar > hi ? 1 : 0;
          buf.gIgnore[g] = ig;
          if (!ig) nonIgnored++;
        }
        npig[a] += nonIgnored;
        for (let d = 0; d < D; d++) {
          const ar = buf.dArea[d];
          buf.dOutside[d] = ar < lo || ar > hi ? 1 : 0;
        }
        matchCell(
          D, G, buf.ious, buf.gIgnore, buf.gCrowd, buf.gIdNZ, buf.dOutside, iouThrs,
          buf.state, a * T * N + c0, N, matchScratch,
        );
      }
      c0 += D;
    }

    const cd: CategoryDetections = {
      n: N,
      scores: buf.scores,
      rank: buf.rank,
      state: buf.state,
      npig,
      present: nCells > 0,
    };
    accumulateCategory(k, cd, dims, maxDets, recThrs, precision, recall, accScratch);
    gp = gEnd;
    dp = dEnd;
  }

  const { stats, statsArray } = summarizeStats(precision, recall, dims, params);
  const perClass = perClassAP(precision, dims, params);
  return { stats, statsArray, perClass, precision, recall, dims, params };
}
