/**
 * Runs a model over a dataset's images (letterboxed, batched), writes COCO-format detections and
 * scores them with our pycocotools-identical evaluation. Used by `yolo4 eval` and by training's
 * periodic validation.
 */
import { hasPlaceholderClassNames, type Yolov4Config } from '../model/config.ts';
import type { Dataset } from '../data/types.ts';
import type { Predictor } from '../predict/detect.ts';
import { Detector, type DetectorOptions } from '../predict/detector.ts';
import type { ResizeMode } from '../image/geometry.ts';
import type { Detection } from '../predict/nms.ts';
import { ClassMappingError, describeClassMapping, mapClassesByName } from '../data/class-map.ts';
import { evaluateCoco } from './coco.ts';
import type { CocoDetection, CocoEvalResult, CocoGroundTruth } from './coco-types.ts';
import { Yolo4Error } from '../util/errors.ts';
import { quoteList } from '../util/quote-list.ts';

export interface EvaluateModelOptions {
  inputSize?: number;
  /** Score threshold; mAP runs keep nearly everything (default 0.001). */
  conf?: number;
  /** NMS IoU (default 0.65, the COCO setting of the reference). */
  iou?: number;
  batchSize?: number;
  maxDetections?: number;
  /** Let a box count for every class above the threshold; default: darknet models yes, YOLOv4 no (its best class, as the reference). */
  multiLabel?: boolean;
  resizeMode?: ResizeMode;
  /** The dataset's own COCO annotation JSON (only the evaluated images' part counts); without it the ground truth is built from the dataset. */
  groundTruth?: CocoGroundTruth;
  /** Evaluate only the first n images (quick checks). */
  limit?: number;
  onProgress?: (done: number, total: number) => void;
  /** An image that cannot be read is skipped with a warning and left out of the ground truth too; without it the error names the file. */
  skipBad?: boolean;
  /** Where skip warnings (and the class-matching note) go; default console.warn. */
  warn?: (message: string) => void;
}

/** An image of the evaluated dataset could not be decoded. */
export class EvalImageError extends Yolo4Error {
  constructor(readonly file: string, cause: unknown) {
    const detail = (cause as Error)?.message ?? String(cause);
    // The decoder's own message usually names the file already.
    super(detail.includes(file) ? detail : `cannot read image "${file}": ${detail}`);
    this.name = 'EvalImageError';
  }
}

export interface ModelEvaluation {
  result: CocoEvalResult;
  detections: CocoDetection[];
  groundTruth: CocoGroundTruth;
  /** Images evaluated (unreadable ones skipped with skipBad are not counted). */
  images: number;
  /** Images skipped as unreadable (skipBad). */
  skipped: number;
  seconds: number;
}

/** COCO image id of a dataset item: its own for COCO datasets, else its 1-based position. */
function imageIdOf(dataset: Dataset, i: number): number {
  return dataset.items[i].cocoImageId ?? i + 1;
}

function categoryIdOf(dataset: Dataset, classId: number): number {
  return dataset.categoryIds?.[classId] ?? classId + 1;
}

/** Ground truth in COCO form from a dataset's boxes (area = box area; crowd/difficult boxes as iscrowd). */
export function groundTruthFromDataset(dataset: Dataset, count = dataset.items.length, skip: ReadonlySet<number> = new Set()): CocoGroundTruth {
  const gt: CocoGroundTruth = {
    images: [],
    annotations: [],
    categories: dataset.classNames.map((name, k) => ({ id: categoryIdOf(dataset, k), name })),
  };
  let annId = 1;
  for (let i = 0; i < count; i++) {
    if (skip.has(i)) continue;
    const item = dataset.items[i];
    const image_id = imageIdOf(dataset, i);
    gt.images.push({ id: image_id, width: item.width, height: item.height });
    const add = (b: Dataset['items'][number]['boxes'][number], iscrowd: number) => {
      const w = b.x2 - b.x1;
      const h = b.y2 - b.y1;
      gt.annotations.push({ id: annId++, image_id, category_id: categoryIdOf(dataset, b.classId), bbox: [b.x1, b.y1, w, h], area: w * h, iscrowd });
    };
    item.boxes.forEach((b) => add(b, 0));
    (item.ignored ?? []).forEach((b) => add(b, 1));
  }
  return gt;
}

/**
 * `modelToDataset[k]`: the dataset class of model class k (-1: the dataset lacks it), matched by name.
 * Says in one line what does not match; refuses when no class is in common.
 */
function matchClasses(modelNames: readonly string[], datasetNames: readonly string[], warn: (m: string) => void): number[] {
  const mapping = mapClassesByName(modelNames, datasetNames);
  if (mapping.datasetToModel.every((k) => k < 0)) {
    // Without real names (a config that gave none) position is all there is, as before.
    if (hasPlaceholderClassNames(modelNames) && modelNames.length === datasetNames.length) {
      warn(`the model's classes have no names (class0, class1, ...): matched to the dataset's ${datasetNames.length} classes by position`);
      return modelNames.map((_, k) => k);
    }
    const show = (names: readonly string[]) => quoteList(names, 5);
    throw new ClassMappingError(
      `no class of the model (${modelNames.length}: ${show(modelNames)}) is in the dataset (${datasetNames.length}: ${show(datasetNames)}); nothing to evaluate`,
    );
  }
  const note = describeClassMapping(mapping);
  const missed = mapping.missingInModel.length ? ' (objects of classes the model lacks count as missed)' : '';
  if (note) warn(`eval: ${note}${missed}`);
  return mapping.modelToDataset;
}

/** The ground truth of just these images (the same object when it has no others). */
function onlyImages(gt: CocoGroundTruth, imageIds: ReadonlySet<number>): CocoGroundTruth {
  if (gt.images.length === imageIds.size && gt.images.every((im) => imageIds.has(im.id))) return gt;
  return {
    ...gt,
    images: gt.images.filter((im) => imageIds.has(im.id)),
    annotations: gt.annotations.filter((a) => imageIds.has(a.image_id)),
  };
}

/** Detector options with the mAP defaults: keep nearly every box (conf 0.001), the reference's COCO NMS (IoU 0.65, 100 per image). */
export function evalDetectorOptions(opts: Pick<EvaluateModelOptions, 'inputSize' | 'conf' | 'iou' | 'maxDetections' | 'multiLabel' | 'resizeMode'>): DetectorOptions {
  return {
    inputSize: opts.inputSize, conf: opts.conf ?? 0.001, iou: opts.iou ?? 0.65, maxDetections: opts.maxDetections ?? 100,
    multiLabel: opts.multiLabel, mode: opts.resizeMode,
  };
}

/** The parts of a model config the evaluation reads. */
export type EvalModelConfig = Pick<Yolov4Config, 'anchors' | 'anchorMask' | 'numClasses' | 'inputSize' | 'classNames' | 'architecture' | 'resizeMode' | 'scaleXY'>;

/** The threshold options (inputSize, conf, iou, maxDetections, multiLabel, resizeMode) apply when a bare model is given; a Detector brings its own. */
export async function evaluateModelOnDataset(
  model: Predictor | Detector,
  config: EvalModelConfig,
  dataset: Dataset,
  opts: EvaluateModelOptions = {},
): Promise<ModelEvaluation> {
  const t0 = performance.now();
  const detector = model instanceof Detector ? model : Detector.wrap(model, config, evalDetectorOptions(opts));
  const batchSize = opts.batchSize ?? 4;
  const count = Math.min(opts.limit ?? Infinity, dataset.items.length);
  const detections: CocoDetection[] = [];
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const modelToDataset = matchClasses(config.classNames, dataset.classNames, warn);
  // A detection of model class k is one of the dataset's class modelToDataset[k]; classes the dataset lacks are dropped.
  const categoryOf = (k: number) => categoryIdOf(dataset, modelToDataset[k]);
  const known = (det: Detection) => modelToDataset[det.classId] >= 0;
  /** Dataset indices of unreadable images (skipBad): they count neither as detections nor as ground truth. */
  const skipped = new Set<number>();
  const loadOne = async (i: number) => {
    const file = dataset.items[i].file;
    try {
      return await detector.prepare(file);
    } catch (e) {
      const err = new EvalImageError(file, e);
      if (!opts.skipBad) throw err;
      warn(`skipping image: ${err.message}`);
      skipped.add(i);
      return undefined;
    }
  };
  // Decode the next batch while the current one runs through the model.
  const load = async (start: number) => {
    const indices = Array.from({ length: Math.min(start + batchSize, count) - start }, (_, j) => start + j);
    const images = await Promise.all(indices.map(loadOne));
    return indices.flatMap((i, j) => (images[j] ? [{ index: i, image: images[j] }] : []));
  };
  let pending = count > 0 ? load(0) : undefined;
  for (let start = 0; start < count; start += batchSize) {
    const batch = await pending!;
    // A failed prefetch must not leave an unhandled rejection behind: it is awaited in the next turn.
    pending = start + batchSize < count ? load(start + batchSize) : undefined;
    pending?.catch(() => undefined);
    if (batch.length) {
      const perImage = await detector.detectPrepared(batch.map((b) => b.image));
      perImage.forEach((dets, j) => detections.push(...dets.toCoco(imageIdOf(dataset, batch[j].index), categoryOf, known)));
    }
    opts.onProgress?.(Math.min(start + batchSize, count), count);
  }
  // The annotation file's ground truth (its own areas and crowd flags), restricted to the images evaluated:
  // --limit, images the reader skipped and unreadable ones count neither way.
  const evaluatedIds = new Set(Array.from({ length: count }, (_, i) => i).filter((i) => !skipped.has(i)).map((i) => imageIdOf(dataset, i)));
  const groundTruth = opts.groundTruth ? onlyImages(opts.groundTruth, evaluatedIds) : groundTruthFromDataset(dataset, count, skipped);
  const result = evaluateCoco(groundTruth, detections);
  return { result, detections, groundTruth, images: count - skipped.size, skipped: skipped.size, seconds: (performance.now() - t0) / 1000 };
}
