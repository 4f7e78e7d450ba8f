/**
 * Runs a model over a dataset's images (letterboxed, batched), writes COCO-format detections and
 * scores them with our pycocotools-identical evaluation. Used by `yolo4 eval` and by training's
 * periodic validation.
 */
import * as tf from '@tensorflow/tfjs';
import type { Yolov4Config } from '../model/config.ts';
import type { Dataset } from '../data/types.ts';
import { detectBatch } from '../predict/detect.ts';
import { decodeOptionsFromConfig } from '../predict/decode.ts';
import { letterboxImage, type ResizeMode } from '../predict/letterbox.ts';
import { inferenceDefaults } from '../predict/defaults.ts';
import type { Detection } from '../predict/nms.ts';
import { evaluateCoco } from './coco.ts';
import type { CocoDetection, CocoEvalResult, CocoGroundTruth } from './coco-types.ts';

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
  /** The dataset's own COCO annotation JSON; without it the ground truth is built from the dataset. */
  groundTruth?: CocoGroundTruth;
  /** Evaluate only the first n images (quick checks). */
  limit?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface ModelEvaluation {
  result: CocoEvalResult;
  detections: CocoDetection[];
  groundTruth: CocoGroundTruth;
  images: number;
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
export function groundTruthFromDataset(dataset: Dataset, count = dataset.items.length): CocoGroundTruth {
  const gt: CocoGroundTruth = {
    images: [],
    annotations: [],
    categories: dataset.classNames.map((name, k) => ({ id: categoryIdOf(dataset, k), name })),
  };
  let annId = 1;
  for (let i = 0; i < count; i++) {
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

export function toCocoDetections(dets: Detection[], imageId: number, categoryOf: (classId: number) => number): CocoDetection[] {
  return dets.map((d) => ({
    image_id: imageId,
    category_id: categoryOf(d.classId),
    bbox: [d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]].map((v) => Math.round(v * 1000) / 1000),
    score: Math.round(d.score * 1e5) / 1e5,
  }));
}

export async function evaluateModelOnDataset(
  model: tf.LayersModel,
  config: Yolov4Config,
  dataset: Dataset,
  opts: EvaluateModelOptions = {},
): Promise<ModelEvaluation> {
  const t0 = performance.now();
  const inputSize = opts.inputSize ?? config.inputSize;
  const batchSize = opts.batchSize ?? 4;
  const count = Math.min(opts.limit ?? Infinity, dataset.items.length);
  const d = inferenceDefaults(config);
  const decodeOpts = decodeOptionsFromConfig(config, inputSize, d.scaleXY);
  const nmsOpts = { confThreshold: opts.conf ?? 0.001, iouThreshold: opts.iou ?? 0.65, maxDetections: opts.maxDetections ?? 100, multiLabel: opts.multiLabel ?? d.multiLabel };
  const detections: CocoDetection[] = [];
  const categoryOf = (k: number) => categoryIdOf(dataset, k);
  // Decode the next batch while the current one runs through the model.
  const load = (start: number) => Promise.all(
    dataset.items.slice(start, Math.min(start + batchSize, count)).map((it) => letterboxImage(it.file, inputSize, { mode: opts.resizeMode ?? d.mode, resampler: d.resampler })),
  );
  let pending = count > 0 ? load(0) : undefined;
  for (let start = 0; start < count; start += batchSize) {
    const batch = await pending!;
    pending = start + batchSize < count ? load(start + batchSize) : undefined;
    const perImage = await detectBatch(model, batch, decodeOpts, nmsOpts);
    perImage.forEach((dets, j) => detections.push(...toCocoDetections(dets, imageIdOf(dataset, start + j), categoryOf)));
    opts.onProgress?.(Math.min(start + batchSize, count), count);
  }
  const groundTruth = opts.groundTruth && count === dataset.items.length ? opts.groundTruth : groundTruthFromDataset(dataset, count);
  const result = evaluateCoco(groundTruth, detections);
  return { result, detections, groundTruth, images: count, seconds: (performance.now() - t0) / 1000 };
}
