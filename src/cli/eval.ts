/** `yolo4 eval`: its flags; the work is jobs/eval.ts' evaluateJob. */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { evaluateJob, type EvalJobOptions } from '../jobs/eval.ts';
import { UsageError } from '../util/errors.ts';
import { INFERENCE_RUNTIMES, type InferenceRuntime } from '../predict/detector.ts';
import { useBackend } from './common.ts';
import { defineVerb, type GlobalFlags } from './verb.ts';

const command = 'eval';
const describe = 'COCO mAP (12 pycocotools statistics) of a model on a dataset, or of an existing detections file';

function builder(y: Argv) {
  return y
    .option('coco', { type: 'boolean', default: true, describe: 'COCO bbox evaluation (the only kind; kept for clarity)' })
    .option('weights', { type: 'string', describe: 'checkpoint directory or .pth to evaluate (with --data)' })
    .option('data', { type: 'string', describe: 'dataset config JSON; its val split is evaluated' })
    .option('split', { choices: ['val', 'train'] as const, default: 'val' as const, describe: 'which split of --data' })
    .option('gt', { type: 'string', describe: 'ground-truth COCO instances JSON (with --dets)' })
    .option('dets', { type: 'string', describe: 'detections in COCO results format (with --gt): scores any detector\'s output' })
    .option('img-size', { type: 'number', describe: 'input size (default: the model\'s)' })
    .option('conf', { type: 'number', default: 0.001, describe: 'score threshold for detections' })
    .option('iou', { type: 'number', default: 0.65, describe: 'NMS IoU threshold' })
    .option('batch', { type: 'number', default: 4, describe: 'images per forward pass' })
    .option('max-det', { type: 'number', default: 100, describe: 'detections kept per image' })
    .option('multi-label', { type: 'boolean', describe: 'a box may count for every class above --conf (default: yes for darknet models, no for YOLOv4 as the reference)' })
    .option('resize', { type: 'boolean', default: false, describe: 'plain resize instead of letterbox' })
    .option('runtime', { choices: INFERENCE_RUNTIMES, default: 'tfjs' as InferenceRuntime, describe: 'what runs the model: tfjs (the --backend), or onnx: ONNX Runtime on the checkpoint exported to ONNX in memory (needs the optional package onnxruntime-node; --threads sets its threads; CUDA when its provider is installed, else CPU)' })
    .option('skip-bad', { type: 'boolean', default: false, describe: 'skip unreadable images (with a warning; left out of the ground truth too) instead of failing' })
    .option('limit', { type: 'number', describe: 'only the first n images' })
    .option('save-dets', { type: 'string', describe: 'write the detections (COCO results JSON) here' })
    .option('per-class', { type: 'boolean', default: false, describe: 'also print AP and AP50 per class' })
    .option('pr-plot', { type: 'string', describe: 'write a precision-recall curve PNG here' })
    .option('voc', { type: 'boolean', default: false, describe: 'also report VOC-style mAP@0.5 (all-point interpolation)' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl' })
    .check((a) => {
      const fromFiles = a.gt !== undefined || a.dets !== undefined;
      if (fromFiles && !(a.gt && a.dets)) throw new UsageError('--gt and --dets go together');
      if (!fromFiles && !(a.weights && a.data)) throw new UsageError('give --weights and --data, or --gt and --dets');
      return true;
    })
    .example('$0 eval --coco --weights checkpoints/pruned --data datasets/tinycoco.json', 'run the model and score it')
    .example('$0 eval --coco --gt instances_val2017.json --dets dets.json --json', 'score an existing detections file')
    .example('$0 eval --coco --weights pruned --data datasets/tinycoco.json --runtime onnx', 'the model run by ONNX Runtime');
}

async function handler(argv: ArgumentsCamelCase<EvalJobOptions & GlobalFlags>): Promise<void> {
  // Scoring a detections file needs no backend.
  if (!(argv.gt && argv.dets)) await useBackend(argv.backend, argv.threads);
  await evaluateJob(argv);
}

export default defineVerb({ command, describe, builder, handler });
