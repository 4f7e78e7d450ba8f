/** `yolo4 predict`: its flags; the work is jobs/predict.ts' predictJob. */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { predictJob, type PredictJobOptions } from '../jobs/predict.ts';
import { UsageError } from '../util/errors.ts';
import { INFERENCE_RUNTIMES, type InferenceRuntime } from '../predict/detector.ts';
import { useBackend } from './common.ts';
import { defineVerb, type GlobalFlags } from './verb.ts';

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
    .option('runtime', { choices: INFERENCE_RUNTIMES, default: 'tfjs' as InferenceRuntime, describe: 'what runs the model: tfjs (the --backend), or onnx: ONNX Runtime on the checkpoint exported to ONNX in memory (needs the optional package onnxruntime-node; --threads sets its threads; CUDA when its provider is installed, else CPU)' })
    .option('skip-bad', { type: 'boolean', default: false, describe: 'skip unreadable images with a warning' })
    .check((a) => {
      if (a.fps) return true;
      if (!a.source && !a.video) throw new UsageError('give --source <images> or --video <file>');
      if (a.source && a.video) throw new UsageError('give --source or --video, not both');
      if (!a.out) throw new UsageError('give --out <dir> (images) or --out <file.mp4> (video)');
      return true;
    })
    .example('$0 predict --weights ckpt --source datasets/tinycoco/images/val2017 --out runs/predict', 'annotated images + predictions.json')
    .example('$0 predict --weights ckpt --video clip.mp4 --out runs/clip.mp4', 'same fps and size as the input')
    .example('$0 predict --fps --weights ckpt --source dog.jpg --runs 50', 'pre-process / inference / post-process times')
    .example('$0 predict --fps --weights ckpt --runtime onnx --threads 2', 'the same on ONNX Runtime (npm install onnxruntime-node)');
}

async function handler(argv: ArgumentsCamelCase<PredictJobOptions & GlobalFlags>): Promise<void> {
  await useBackend(argv.backend, argv.threads);
  await predictJob(argv);
}

export default defineVerb({ command, describe, builder, handler });
