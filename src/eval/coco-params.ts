/** COCOeval's Params for bbox evaluation: thresholds, maxDets, sorted unique image and category ids. */
import {
  DEFAULT_AREA_LBL,
  DEFAULT_AREA_RNG,
  DEFAULT_IOU_THRS,
  DEFAULT_MAX_DETS,
  DEFAULT_REC_THRS,
  type CocoEvalOptions,
  type CocoEvalParams,
  type CocoGroundTruth,
} from './coco-types.ts';

export function buildParams(gt: CocoGroundTruth, opts: CocoEvalOptions): CocoEvalParams {
  const iouThrs = opts.iouThrs ? [...opts.iouThrs] : [...DEFAULT_IOU_THRS];
  if (iouThrs.length === 0 || iouThrs.some((t) => !Number.isFinite(t))) {
    throw new RangeError(`evaluateCoco: iouThrs must be a non-empty list of finite numbers, got [${iouThrs.join(', ')}]`);
  }
  // p.maxDets = sorted(p.maxDets)
  const maxDets = [...(opts.maxDets ?? DEFAULT_MAX_DETS)].sort((a, b) => a - b);
  if (maxDets.length === 0 || maxDets.some((m) => !Number.isInteger(m) || m < 0)) {
    throw new RangeError(`evaluateCoco: maxDets must be a non-empty list of non-negative integers, got [${maxDets.join(', ')}]`);
  }
  // p.imgIds = list(np.unique(p.imgIds)); p.catIds = list(np.unique(p.catIds))
  const imgIds = [...new Set(gt.images.map((im) => im.id))].sort((a, b) => a - b);
  const names = new Map<number, string>();
  for (const c of gt.categories) names.set(c.id, c.name);
  const catIds = [...names.keys()].sort((a, b) => a - b);
  return {
    imgIds,
    catIds,
    catNames: catIds.map((id) => names.get(id)!),
    iouThrs,
    recThrs: [...DEFAULT_REC_THRS],
    maxDets,
    areaRng: DEFAULT_AREA_RNG.map(([lo, hi]) => [lo, hi] as [number, number]),
    areaRngLbl: [...DEFAULT_AREA_LBL],
    useCats: opts.useCats ?? true,
  };
}
