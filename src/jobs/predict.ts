/**
 * The predict job: detections drawn on images (files, folders, globs) or a video (or a camera), with
 * predictions.json; or, with `fps`, the pre-process / inference / post-process benchmark.
 */
import * as path from 'node:path';
import cliProgress from 'cli-progress';
import { readClassNames } from '../io/load-weights.ts';
import { predictImages, type ImagePrediction } from '../predict/predict-images.ts';
import { predictVideo } from '../predict/video.ts';
import { measureFps } from '../predict/fps.ts';
import { Detector, type InferenceRuntime } from '../predict/detector.ts';
import { JobOptionError } from './errors.ts';

export interface PredictJobOptions {
  weights: string; source?: string[]; video?: string; out?: string; fps: boolean; runs: number; conf: number; iou: number; classesFile?: string; saveJson: boolean;
  imgSize?: number; resize: boolean; batch: number; agnostic: boolean; multiLabel?: boolean; maxDet: number; maxFrames?: number; skipBad: boolean;
  /** What runs the model (default tfjs); threads: ONNX Runtime's intra-op threads. */
  runtime?: InferenceRuntime; threads?: number;
}

/** "0" means the first camera, as in OpenCV-based tools. */
function cameraPath(source: string): string | undefined {
  if (/^\d+$/.test(source)) return `/dev/video${source}`;
  if (source.startsWith('/dev/video')) return source;
  return undefined;
}

export async function predictJob(o: PredictJobOptions): Promise<void> {
  // The FPS benchmark keeps its own thresholds (conf and iou only), as before the Detector.
  const detectorOptions = o.fps ? { inputSize: o.imgSize, conf: o.conf, iou: o.iou } : {
    conf: o.conf, iou: o.iou, maxDetections: o.maxDet, classAgnostic: o.agnostic, inputSize: o.imgSize,
    ...(o.resize ? { mode: 'resize' as const } : {}),
    multiLabel: o.multiLabel,
  };
  const detector = await Detector.load(o.weights, { ...detectorOptions, runtime: o.runtime, threads: o.threads });
  const { config } = detector;
  const classNames = o.classesFile ? await readClassNames(o.classesFile) : config.classNames;
  if (classNames.length !== config.numClasses) {
    detector.dispose();
    throw new JobOptionError(`${o.classesFile} has ${classNames.length} names, the model ${config.numClasses} classes`);
  }
  const common = { classNames, batch: o.batch };
  if (o.fps) {
    const image = o.source?.[0] ?? { data: new Uint8Array(640 * 480 * 3).fill(128), width: 640, height: 480, channels: 3 as const };
    const r = await measureFps(detector, config, image, { runs: o.runs });
    detector.dispose();
    console.log(`runtime ${r.runtime}, backend ${r.backend}, input ${r.inputSize}, median of ${r.runs} runs: pre-process ${r.preprocessMs.toFixed(1)} ms, inference ${r.inferenceMs.toFixed(1)} ms, post-process ${r.postprocessMs.toFixed(1)} ms, total ${r.totalMs.toFixed(1)} ms = ${r.fps.toFixed(2)} FPS`);
    return;
  }
  const camera = o.source?.length === 1 ? cameraPath(o.source[0]) : undefined;
  const video = o.video ?? camera;
  try {
    if (video) {
      const bar = new cliProgress.SingleBar({ format: 'video |{bar}| {value}/{total} frames {fps} frames/s ETA {eta_formatted}', hideCursor: true }, cliProgress.Presets.shades_classic);
      let started = false;
      const r = await predictVideo(detector, config, video, o.out!, {
        ...common, maxFrames: o.maxFrames, saveJson: o.saveJson,
        onProgress: (p) => {
          if (!started) {
            bar.start(p.totalFrames ?? 0, 0, { fps: '-' });
            started = true;
          }
          bar.update(p.frames, { fps: p.fps.toFixed(2) });
        },
      });
      bar.stop();
      console.log(`${r.frames} frames (${r.width}x${r.height} at ${r.fps} fps), ${r.detections} detections in ${r.seconds.toFixed(1)} s -> ${o.out}${r.json ? ` and ${r.json}` : ''}`);
      return;
    }
    const bar = new cliProgress.SingleBar({ format: 'predict |{bar}| {value}/{total} images {ips} img/s', hideCursor: true }, cliProgress.Presets.shades_classic);
    let started = false;
    const results = await predictImages(detector, config, o.source!, o.out!, {
      ...common, saveJson: o.saveJson, onBadImage: o.skipBad ? 'skip' : 'throw',
      onError: (file, e) => console.error(`skipping ${file}: ${e.message}`),
      onProgress: (p) => {
        if (!started) {
          bar.start(p.total, 0, { ips: '-' });
          started = true;
        }
        bar.update(p.done, { ips: p.imagesPerSecond.toFixed(2) });
      },
    });
    bar.stop();
    const n = results.reduce((a, r) => a + r.detections.length, 0);
    results.slice(0, LISTED_IMAGES).forEach((r) => console.log(describePrediction(r)));
    if (results.length > LISTED_IMAGES) console.log(`… ${results.length - LISTED_IMAGES} more images (every detection is in predictions.json)`);
    console.log(`${results.length} images, ${n} detections -> ${path.resolve(o.out!)}`);
  } finally {
    detector.dispose();
  }
}

/** Images listed one line each after a run; the rest are only counted. */
const LISTED_IMAGES = 20;

/** `dog.jpg: 3 detections: dog 0.93, bicycle 0.87, truck 0.62`, the best few by score. */
function describePrediction(r: ImagePrediction, shown = 6): string {
  const best = [...r.detections].sort((a, b) => b.score - a.score);
  const list = best.slice(0, shown).map((d) => `${d.class} ${d.score.toFixed(2)}`).join(', ');
  const more = best.length > shown ? `, … ${best.length - shown} more` : '';
  return `${path.basename(r.image)}: ${best.length} detection${best.length === 1 ? '' : 's'}${best.length ? `: ${list}${more}` : ''}`;
}
