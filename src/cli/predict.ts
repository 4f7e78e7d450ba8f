import * as path from 'node:path';
import type { Argv, ArgumentsCamelCase } from 'yargs';
import cliProgress from 'cli-progress';
import { readClassNames } from '../io/load-weights.ts';
import { predictImages, type ImagePrediction } from '../predict/predict-images.ts';
import { predictVideo } from '../predict/video.ts';
import { measureFps } from '../predict/fps.ts';
import { Detector } from '../predict/detector.ts';
import { useBackend } from './common.ts';
import { defineVerb, type GlobalFlags } from './verb.ts';

interface PredictArgs extends GlobalFlags {
  weights: string; source?: string[]; video?: string; out?: string; fps: boolean; runs: number; conf: number; iou: number; classesFile?: string; saveJson: boolean;
  imgSize?: number; resize: boolean; batch: number; agnostic: boolean; multiLabel?: boolean; maxDet: number; maxFrames?: number; skipBad: boolean;
}

const command = 'predict';
const describe = 'Detect objects in images (files, folders, globs) or a video, and draw them';

function builder(y: Argv) {
  return y
    .option('weights', { type: 'string', demandOption: true, describe: 'checkpoint directory or .pth' })
    .option('source', { type: 'string', array: true, describe: 'images: files, folders or globs (repeatable); "0" or /dev/videoN reads a camera where ffmpeg supports it (Linux v4l2)' })
    .option('video', { type: 'string', describe: 'a video file to process (ffmpeg: the packaged @ffmpeg-installer binary or the system one)' })
    .option('out', { type: 'string', describe: 'output folder for images, or output video file (.mp4) with --video' })
    .option('conf', { type: 'number', default: 0.25, describe: 'score threshold (objectness x class)' })
    .option('iou', { type: 'number', default: 0.45, describe: 'NMS IoU threshold' })
    .option('max-det', { type: 'number', default: 300, describe: 'detections kept per image' })
    .option('multi-label', { type: 'boolean', describe: 'a box may count for every class above --conf (default: yes for darknet models, as darknet/OpenCV; no for YOLOv4)' })
    .option('agnostic', { type: 'boolean', default: false, describe: 'class-agnostic NMS' })
    .option('classes-file', { type: 'string', describe: 'class names, one per line (default: the checkpoint\'s)' })
    .option('save-json', { type: 'boolean', default: true, describe: 'write predictions.json (images) or <out>.json beside the video (--no-save-json to skip)' })
    .option('img-size', { type: 'number', describe: 'input size, a multiple of 32 (default: the model\'s)' })
    .option('resize', { type: 'boolean', default: false, describe: 'plain resize instead of letterbox, as darknet/OpenCV do (default: the checkpoint\'s setting, letterbox for YOLOv4)' })
    .option('batch', { type: 'number', default: 1, describe: 'images or frames per forward pass' })
    .option('max-frames', { type: 'number', describe: 'video: stop after n frames' })
    .option('fps', { type: 'boolean', default: false, describe: 'FPS benchmark instead: pre-process, inference and post-process times on --source (one image; default: a gray test image)' })
    .option('runs', { type: 'number', default: 100, describe: 'with --fps: timed runs (after 3 warm-up runs)' })
    .option('skip-bad', { type: 'boolean', default: false, describe: 'skip unreadable images with a warning' })
    .check((a) => {
      if (a.fps) return true;
      if (!a.source && !a.video) throw new Error('give --source <images> or --video <file>');
      if (a.source && a.video) throw new Error('give --source or --video, not both');
      if (!a.out) throw new Error('give --out <dir> (images) or --out <file.mp4> (video)');
      return true;
    })
    .example('$0 predict --weights ckpt --source datasets/tinycoco/images/val2017 --out runs/predict', 'annotated images + predictions.json')
    .example('$0 predict --weights ckpt --video clip.mp4 --out runs/clip.mp4', 'same fps and size as the input')
    .example('$0 predict --fps --weights ckpt --source dog.jpg --runs 50', 'pre-process / inference / post-process times');
}

/** "0" means the first camera, as in OpenCV-based tools. */
function cameraPath(source: string): string | undefined {
  if (/^\d+$/.test(source)) return `/dev/video${source}`;
  if (source.startsWith('/dev/video')) return source;
  return undefined;
}

async function handler(argv: ArgumentsCamelCase<PredictArgs>): Promise<void> {
  await useBackend(argv.backend, argv.threads);
  // The FPS benchmark keeps its own thresholds (conf and iou only), as before the Detector.
  const detectorOptions = argv.fps ? { inputSize: argv.imgSize, conf: argv.conf, iou: argv.iou } : {
    conf: argv.conf, iou: argv.iou, maxDetections: argv.maxDet, classAgnostic: argv.agnostic, inputSize: argv.imgSize,
    ...(argv.resize ? { mode: 'resize' as const } : {}),
    multiLabel: argv.multiLabel,
  };
  const detector = await Detector.load(argv.weights, detectorOptions);
  const { config } = detector;
  const classNames = argv.classesFile ? await readClassNames(argv.classesFile) : config.classNames;
  if (classNames.length !== config.numClasses) {
    detector.dispose();
    throw new Error(`${argv.classesFile} has ${classNames.length} names, the model ${config.numClasses} classes`);
  }
  const common = { classNames, batch: argv.batch };
  if (argv.fps) {
    const image = argv.source?.[0] ?? { data: new Uint8Array(640 * 480 * 3).fill(128), width: 640, height: 480, channels: 3 as const };
    const r = await measureFps(detector, config, image, { runs: argv.runs });
    detector.dispose();
    console.log(`backend ${r.backend}, input ${r.inputSize}, median of ${r.runs} runs: pre-process ${r.preprocessMs.toFixed(1)} ms, inference ${r.inferenceMs.toFixed(1)} ms, post-process ${r.postprocessMs.toFixed(1)} ms, total ${r.totalMs.toFixed(1)} ms = ${r.fps.toFixed(2)} FPS`);
    return;
  }
  const camera = argv.source?.length === 1 ? cameraPath(argv.source[0]) : undefined;
  const video = argv.video ?? camera;
  try {
    if (video) {
      const bar = new cliProgress.SingleBar({ format: 'video |{bar}| {value}/{total} frames {fps} frames/s ETA {eta_formatted}', hideCursor: true }, cliProgress.Presets.shades_classic);
      let started = false;
      const r = await predictVideo(detector, config, video, argv.out!, {
        ...common, maxFrames: argv.maxFrames, saveJson: argv.saveJson,
        onProgress: (p) => {
          if (!started) {
            bar.start(p.totalFrames ?? 0, 0, { fps: '-' });
            started = true;
          }
          bar.update(p.frames, { fps: p.fps.toFixed(2) });
        },
      });
      bar.stop();
      console.log(`${r.frames} frames (${r.width}x${r.height} at ${r.fps} fps), ${r.detections} detections in ${r.seconds.toFixed(1)} s -> ${argv.out}${r.json ? ` and ${r.json}` : ''}`);
      return;
    }
    const bar = new cliProgress.SingleBar({ format: 'predict |{bar}| {value}/{total} images {ips} img/s', hideCursor: true }, cliProgress.Presets.shades_classic);
    let started = false;
    const results = await predictImages(detector, config, argv.source!, argv.out!, {
      ...common, saveJson: argv.saveJson, onBadImage: argv.skipBad ? 'skip' : 'throw',
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
    console.log(`${results.length} images, ${n} detections -> ${path.resolve(argv.out!)}`);
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

export default defineVerb({ command, describe, builder, handler });
