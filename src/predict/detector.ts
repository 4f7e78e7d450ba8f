/**
 * A loaded model ready to detect: the one place where a checkpoint's inference defaults (resize mode,
 * resampler, multi-label, scale_x_y) and the decode + NMS options are put together, so prediction,
 * video, the FPS benchmark and evaluation cannot disagree (a darknet model is never letterboxed by mistake).
 */
import type * as tf from '@tensorflow/tfjs';
import type { Yolov4Config } from '../model/config.ts';
import { loadWeights } from '../io/load-weights.ts';
import { foldBatchNorm } from '../speed/fold-bn.ts';
import { cacheForSyncReads, withSyncReads } from '../backend/webgpu-sync-read.ts';
import { decodeOptionsFromConfig, type DecodeOptions } from './decode.ts';
import { inferenceDefaults } from './defaults.ts';
import { detectBatch, type Predictor } from './detect.ts';
import type { ResizeMode } from '../image/geometry.ts';
import { letterboxImage, type LetterboxOptions, type LetterboxResult, type Resampler } from '../image/letterbox.ts';
import type { ImageInput } from '../image/rgb.ts';
import type { NmsOptions } from './nms.ts';
import { Detections } from './detections.ts';
import { UsageError, Yolo4Error } from '../util/errors.ts';
import { OnnxPredictor } from './onnx-predictor.ts';

/** What runs the model: tfjs (the active backend), or ONNX Runtime on an in-memory ONNX export. */
export type InferenceRuntime = 'tfjs' | 'onnx';
export const INFERENCE_RUNTIMES: readonly InferenceRuntime[] = ['tfjs', 'onnx'];

/** Detector.load's options: the detection options, and what runs the model. */
export interface DetectorLoadOptions extends DetectorOptions {
  /** Default 'tfjs'. 'onnx' needs the optional package onnxruntime-node. */
  runtime?: InferenceRuntime;
  /** ONNX Runtime's intra-op threads (default 1, as --threads); tfjs threads are the backend's. */
  threads?: number;
}

export interface DetectorOptions {
  /** Score threshold (default 0.25). */
  conf?: number;
  /** NMS IoU threshold (default 0.45). */
  iou?: number;
  maxDetections?: number;
  classAgnostic?: boolean;
  /** Default: the checkpoint's (darknet yes, YOLOv4 no). */
  multiLabel?: boolean;
  /** Default: the checkpoint's ('letterbox' for YOLOv4, 'resize' for darknet). */
  mode?: ResizeMode;
  /** Default: the checkpoint's ('pillow' for YOLOv4, 'opencv' for darknet). */
  resampler?: Resampler;
  /** Network input size, a multiple of 32 (default: the config's). */
  inputSize?: number;
  /** darknet scale_x_y per head (default: the checkpoint's). */
  scaleXY?: number[];
}

/** What a detector needs of a config; architecture/resizeMode/scaleXY pick the inference defaults. */
export type DetectorConfig = Pick<Yolov4Config, 'anchors' | 'anchorMask' | 'numClasses' | 'inputSize'>
  & Partial<Pick<Yolov4Config, 'architecture' | 'resizeMode' | 'scaleXY' | 'classNames'>>;

export class InputSizeError extends Yolo4Error {
  override name = 'InputSizeError';
}

function checkedInputSize(size: number): number {
  if (!Number.isInteger(size) || size <= 0 || size % 32 !== 0) throw new InputSizeError(`input size must be a positive multiple of 32, got ${size}`);
  return size;
}

export class Detector<C extends DetectorConfig = DetectorConfig> {
  readonly inputSize: number;
  readonly decodeOptions: DecodeOptions;
  readonly nmsOptions: NmsOptions;
  readonly letterboxOptions: LetterboxOptions;

  private constructor(
    readonly model: Predictor,
    readonly config: C,
    options: DetectorOptions,
    /** Models (or sessions) this detector created and so disposes. */
    private readonly owned: { dispose(): void }[],
  ) {
    const size = checkedInputSize(options.inputSize ?? config.inputSize);
    const d = inferenceDefaults(config);
    this.inputSize = size;
    this.decodeOptions = decodeOptionsFromConfig(config, size, options.scaleXY ?? d.scaleXY);
    this.nmsOptions = {
      confThreshold: options.conf ?? 0.25,
      iouThreshold: options.iou ?? 0.45,
      maxDetections: options.maxDetections,
      classAgnostic: options.classAgnostic,
      multiLabel: options.multiLabel ?? d.multiLabel,
    };
    this.letterboxOptions = { mode: options.mode ?? d.mode, resampler: options.resampler ?? d.resampler };
  }

  /**
   * Loads a checkpoint (path) or takes a built model, and detects on a copy with BatchNorm folded into the
   * convs (same outputs within 1e-4 relative). A model passed in stays the caller's; the folded copy is ours.
   * With runtime 'onnx' the copy is an ONNX Runtime session on the model exported in memory (BN folded
   * too); dispose() releases it.
   */
  static async load(weights: string | { model: tf.LayersModel; config: Yolov4Config }, options: DetectorLoadOptions = {}): Promise<Detector<Yolov4Config>> {
    const runtime = options.runtime ?? 'tfjs';
    if (!INFERENCE_RUNTIMES.includes(runtime)) throw new UsageError(`runtime must be one of ${INFERENCE_RUNTIMES.join(', ')}, got ${JSON.stringify(runtime)}`);
    const loaded = typeof weights === 'string' ? await loadWeights(weights) : weights;
    let predictor: Predictor & { dispose(): void };
    try {
      // Weights computed on a GPU (a model in training) become readable for the fold's sync reads.
      if (runtime !== 'onnx') await cacheForSyncReads(loaded.model.weights.map((w) => w.read()));
      predictor = runtime === 'onnx'
        ? await OnnxPredictor.create(loaded.model, loaded.config, { inputSize: checkedInputSize(options.inputSize ?? loaded.config.inputSize), threads: options.threads })
        : withSyncReads(() => foldBatchNorm(loaded.model));
    } finally {
      if (typeof weights === 'string') loaded.model.dispose();
    }
    try {
      return new Detector(predictor, loaded.config, options, [predictor]);
    } catch (e) {
      predictor.dispose();
      throw e;
    }
  }

  /** Detects with a model as it is (no folding); the model stays the caller's. */
  static wrap<C extends DetectorConfig>(model: Predictor, config: C, options: DetectorOptions = {}): Detector<C> {
    return new Detector(model, config, options, []);
  }

  /** Decodes and resizes one image the way this model expects. */
  prepare(image: ImageInput): Promise<LetterboxResult> {
    return letterboxImage(image, this.inputSize, this.letterboxOptions);
  }

  /** Detections of prepared images, boxes in original-image pixels, best score first. */
  async detectPrepared(images: LetterboxResult[]): Promise<Detections[]> {
    const perImage = await detectBatch(this.model, images, this.decodeOptions, this.nmsOptions);
    const names = this.config.classNames ?? [];
    return perImage.map((dets, i) => Detections.create(dets, { width: images[i].info.origW, height: images[i].info.origH }, names));
  }

  /** Detections of each image (paths, buffers or raw pixels) in one forward pass. */
  async detect(images: ImageInput | ImageInput[]): Promise<Detections[]> {
    const list = Array.isArray(images) ? images : [images];
    if (list.length === 0) return [];
    return this.detectPrepared(await Promise.all(list.map((im) => this.prepare(im))));
  }

  /** 'tfjs', or 'onnx' with the session's execution providers, e.g. 'onnx (cpu)'. */
  get runtime(): string {
    return this.model instanceof OnnxPredictor ? `onnx (${this.model.providers.join(', ')})` : 'tfjs';
  }

  dispose(): void {
    for (const m of this.owned.splice(0)) m.dispose();
  }
}
