/**
 * COCO bbox evaluation, our own code, numerically identical to pycocotools' COCOeval
 * (evaluate + accumulate + summarize; checked against pycocotools 2.0.11 output in
 * test/coco-eval.test.ts). Entry point; the pieces live in the coco-*.ts files beside this one:
 *
 *   coco-types.ts      types, COCO_STAT_KEYS, default parameters (numpy.linspace values), CocoInputError
 *   coco-validate.ts   validateGroundTruth / validateDetections
 *   coco-io.ts         loadCocoJson / loadGroundTruth / loadDetections
 *   coco-evaluate.ts   evaluateCoco: grouping per category and image, orchestration
 *   coco-params.ts     buildParams: thresholds, maxDets, sorted image and category ids
 *   coco-columns.ts    ground truth and detections as typed-array columns
 *   coco-category-buffers.ts  scratch arrays reused from category to category
 *   coco-match.ts      box IoU (with crowd) and the greedy per-image matching (evaluateImg)
 *   coco-accumulate.ts precision/recall accumulation per category (accumulate)
 *   coco-summarize.ts  the 12 stats and per-class AP with numpy's summation order (summarize)
 *   coco-sort.ts       stable sorts with np.argsort(kind='mergesort') tie order
 *   coco-format.ts     formatStatsTable (pycocotools' printout), formatPerClassTable
 *   coco-voc.ts        vocMap50: VOC-style all-point mAP@0.5
 *
 * Usage:
 *   const gt = await loadGroundTruth('instances_val2017.json');
 *   const dets = await loadDetections('results.json', gt);
 *   const r = evaluateCoco(gt, dets);
 *   console.log(formatStatsTable(r.stats));
 */
export {
  COCO_STAT_KEYS,
  CocoInputError,
  DEFAULT_AREA_LBL,
  DEFAULT_AREA_RNG,
  DEFAULT_IOU_THRS,
  DEFAULT_MAX_DETS,
  DEFAULT_REC_THRS,
  linspace,
} from './coco-types.ts';
export type {
  CocoAnnotation,
  CocoCategory,
  CocoDetection,
  CocoEvalDims,
  CocoEvalOptions,
  CocoEvalParams,
  CocoEvalResult,
  CocoGroundTruth,
  CocoImage,
  CocoPerClass,
  CocoStats,
} from './coco-types.ts';
export { validateDetections, validateGroundTruth } from './coco-validate.ts';
export { loadCocoJson, loadDetections, loadGroundTruth } from './coco-io.ts';
export { evaluateCoco } from './coco-evaluate.ts';
export { formatPerClassTable, formatStatsTable, pyFixed } from './coco-format.ts';
export { vocApAllPoint, vocMap50 } from './coco-voc.ts';
export type { VocClassResult, VocResult } from './coco-voc.ts';
export { bboxIouMatrix } from './coco-match.ts';
export { numpyMean, pairwiseSum } from './coco-summarize.ts';
