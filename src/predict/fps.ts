/**
 * FPS benchmark of the detection path, split the way users tune it: pre-process (decode + letterbox),
 * inference (forward pass, waited for), post-process (decode heads + NMS + boxes back to the image).
 * Medians over `runs` after `warmup` runs, on whatever backend is active.
 */
import * as tf from '@tensorflow/tfjs';
import type { Yolov4Config } from '../model/config.ts';
import { decodeHeads } from './decode.ts';
import { undoLetterboxBox } from '../image/letterbox.ts';
import type { ImageInput } from '../image/rgb.ts';
import { nmsDecoded } from './nms.ts';
import { predictHeads, type Predictor } from './detect.ts';
import { Detector } from './detector.ts';

export interface FpsOptions {
  runs?: number;
  warmup?: number;
  inputSize?: number;
  conf?: number;
  iou?: number;
}

export interface FpsReport {
  backend: string;
  /** What ran the model: 'tfjs', or 'onnx' with its execution providers. */
  runtime: string;
  inputSize: number;
  runs: number;
  preprocessMs: number;
  inferenceMs: number;
  postprocessMs: number;
  totalMs: number;
  fps: number;
  detections: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** inputSize, conf and iou apply when a bare model is given; a Detector brings its own. */
export async function measureFps(model: Predictor | Detector, config: Yolov4Config, image: ImageInput, o: FpsOptions = {}): Promise<FpsReport> {
  const runs = o.runs ?? 100;
  const warmup = o.warmup ?? 3;
  const detector = model instanceof Detector ? model : Detector.wrap(model, config, { inputSize: o.inputSize, conf: o.conf, iou: o.iou });
  const size = detector.inputSize;
  const pre: number[] = [];
  const inf: number[] = [];
  const post: number[] = [];
  let detections = 0;
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    const lb = await detector.prepare(image);
    const x = tf.tensor4d(lb.tensorData, [1, size, size, 3]);
    const t1 = performance.now();
    const outs = await predictHeads(detector.model, x);
    await Promise.all(outs.map((t) => t.data()));
    const t2 = performance.now();
    const decoded = tf.tidy(() => decodeHeads(outs, detector.decodeOptions));
    const data = (await decoded.data()) as Float32Array;
    const [, rows, cols] = decoded.shape;
    const dets = nmsDecoded(data, rows, cols - 5, detector.nmsOptions);
    for (const det of dets) det.box = undoLetterboxBox(det.box, lb.info);
    const t3 = performance.now();
    tf.dispose([x, ...outs, decoded]);
    if (i >= warmup) {
      pre.push(t1 - t0);
      inf.push(t2 - t1);
      post.push(t3 - t2);
      detections = dets.length;
    }
  }
  const preprocessMs = median(pre);
  const inferenceMs = median(inf);
  const postprocessMs = median(post);
  const totalMs = preprocessMs + inferenceMs + postprocessMs;
  return { backend: tf.getBackend(), runtime: detector.runtime, inputSize: size, runs, preprocessMs, inferenceMs, postprocessMs, totalMs, fps: 1000 / totalMs, detections };
}
