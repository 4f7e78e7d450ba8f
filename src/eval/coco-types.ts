/**
 * Types, constants and the parameter defaults of the COCO bbox evaluation.
 *
 * The defaults reproduce pycocotools' `Params.setDetParams()` bit for bit
 * (see `linspace` below for why the thresholds are not simply `0.5 + 0.05 * i`).
 */
import { Yolo4Error } from '../util/errors.ts';
import type { CocoResult } from '../predict/detections.ts';

export interface CocoImage {
  id: number;
  width?: number;
  height?: number;
  file_name?: string;
  [extra: string]: unknown;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** [x, y, width, height] in pixels. */
  bbox: number[];
  /** Object area used for the small/medium/large split (for GT this is the annotation's own field). */
  area: number;
  /** 0/1 (or boolean). Optional: defaults to 0. */
  iscrowd?: number | boolean;
  /**
   * NOTE: pycocotools overwrites this field with `iscrowd` before evaluating
   * (`gt['ignore'] = 'iscrowd' in gt and gt['iscrowd']`), so by default it has no
   * effect here either. Pass `{ honorIgnoreFlag: true }` to evaluateCoco to use it.
   */
  ignore?: number | boolean;
  [extra: string]: unknown;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
  [extra: string]: unknown;
}

/** A COCO "instances" JSON (only the fields the evaluation reads are typed). */
export interface CocoGroundTruth {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
  [extra: string]: unknown;
}

/** One entry of a COCO results file (`[{image_id, category_id, bbox, score}]`). */
/** A detection in COCO's results format (the Detector's CocoResult), extra keys allowed. */
export interface CocoDetection extends CocoResult {
  [extra: string]: unknown;
}

export interface CocoStats {
  AP: number;
  AP50: number;
  AP75: number;
  APs: number;
  APm: number;
  APl: number;
  AR1: number;
  AR10: number;
  AR100: number;
  ARs: number;
  ARm: number;
  ARl: number;
}

/** The 12 stats in pycocotools' `COCOeval.stats` order. */
export const COCO_STAT_KEYS: (keyof CocoStats)[] = [
  'AP', 'AP50', 'AP75', 'APs', 'APm', 'APl',
  'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl',
];

export interface CocoPerClass {
  id: number;
  name: string;
  /** Mean of precision[:, :, k, area=all, largest maxDet] over entries > -1; -1 if the class has no GT. */
  AP: number;
  /** The same at IoU = 0.5; -1 if the class has no GT (or 0.5 is not among the IoU thresholds). */
  AP50: number;
}

export interface CocoEvalDims {
  T: number;
  R: number;
  K: number;
  A: number;
  M: number;
}

export interface CocoEvalResult {
  stats: CocoStats;
  /** The same numbers as `stats`, in COCO_STAT_KEYS order (= pycocotools' `COCOeval.stats`). */
  statsArray: number[];
  perClass: CocoPerClass[];
  /** [T, R, K, A, M] row-major, exactly pycocotools' `eval['precision']` (-1 where a setting has no GT). */
  precision: Float64Array;
  /** [T, K, A, M] row-major, pycocotools' `eval['recall']`. */
  recall: Float64Array;
  dims: CocoEvalDims;
  /** The parameters actually used (after sorting/deduplication, as pycocotools does). */
  params: CocoEvalParams;
}

export interface CocoEvalOptions {
  /** pycocotools `params.useCats` (default true). With false, categories are ignored (class-agnostic). */
  useCats?: boolean;
  /** IoU thresholds (default: numpy.linspace(.5, .95, 10)). */
  iouThrs?: number[];
  /** Max detections per image (and category); sorted ascending like pycocotools. Default [1, 10, 100]. */
  maxDets?: number[];
  /**
   * Also treat GT annotations whose `ignore` field is truthy as ignored.
   * Default false, because pycocotools discards that field (it only honours iscrowd).
   */
  honorIgnoreFlag?: boolean;
  /** Skip input validation (the caller has already run validateGroundTruth/validateDetections). */
  skipValidation?: boolean;
}

export interface CocoEvalParams {
  imgIds: number[];
  catIds: number[];
  catNames: string[];
  iouThrs: number[];
  recThrs: number[];
  maxDets: number[];
  areaRng: [number, number][];
  areaRngLbl: string[];
  useCats: boolean;
}

/** Bad evaluation input (ground truth, detections or a file); the message says where. */
export class CocoInputError extends Yolo4Error {
  constructor(message: string) {
    super(message);
    this.name = 'CocoInputError';
  }
}

/**
 * numpy.linspace(start, stop, num, endpoint=True) for float64, value for value:
 * step = (stop - start) / (num - 1); y[i] = i * step + start; y[num - 1] = stop.
 * (So iouThrs[8] is 0.8999999999999999, exactly as in pycocotools.)
 */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num <= 0) return [];
  if (num === 1) return [start];
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  const out = new Array<number>(num);
  for (let i = 0; i < num; i++) {
    out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
  }
  out[num - 1] = stop;
  return out;
}

/** pycocotools: np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True) */
export const DEFAULT_IOU_THRS: readonly number[] = Object.freeze(
  linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
);
/** pycocotools: np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True) */
export const DEFAULT_REC_THRS: readonly number[] = Object.freeze(
  linspace(0.0, 1.0, Math.round((1.0 - 0.0) / 0.01) + 1),
);
export const DEFAULT_MAX_DETS: readonly number[] = Object.freeze([1, 10, 100]);
/** [[0**2, 1e5**2], [0**2, 32**2], [32**2, 96**2], [96**2, 1e5**2]] */
export const DEFAULT_AREA_RNG: readonly (readonly [number, number])[] = Object.freeze([
  [0, 1e10],
  [0, 32 * 32],
  [32 * 32, 96 * 96],
  [96 * 96, 1e10],
] as const);
export const DEFAULT_AREA_LBL: readonly string[] = Object.freeze(['all', 'small', 'medium', 'large']);
