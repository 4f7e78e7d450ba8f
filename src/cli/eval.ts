import { promises as fs } from 'node:fs';
import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs';
import cliProgress from 'cli-progress';
import { loadDatasetConfig, openDataset } from '../data/dataset-config.ts';
import { evaluateCoco, formatPerClassTable, formatStatsTable, loadDetections, loadGroundTruth, vocMap50 } from '../eval/coco.ts';
import type { CocoDetection, CocoEvalResult, CocoGroundTruth } from '../eval/coco-types.ts';
import { evalDetectorOptions, evaluateModelOnDataset } from '../eval/evaluate-model.ts';
import { writePrCurvePng } from '../eval/plot-pr.ts';
import { Detector } from '../predict/detector.ts';
import { useBackend } from './common.ts';

interface EvalArgs {
  coco: boolean; weights?: string; data?: string; split: 'val' | 'train'; gt?: string; dets?: string; imgSize?: number; conf: number; iou: number;
  batch: number; maxDet: number; multiLabel?: boolean; json: boolean; saveDets?: string; limit?: number; perClass: boolean; prPlot?: string;
  voc: boolean; resize: boolean; skipBad: boolean; backend: string; threads: number;
}

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
    .option('skip-bad', { type: 'boolean', default: false, describe: 'skip unreadable images (with a warning; left out of the ground truth too) instead of failing' })
    .option('limit', { type: 'number', describe: 'only the first n images' })
    .option('save-dets', { type: 'string', describe: 'write the detections (COCO results JSON) here' })
    .option('per-class', { type: 'boolean', default: false, describe: 'also print AP and AP50 per class' })
    .option('pr-plot', { type: 'string', describe: 'write a precision-recall curve PNG here' })
    .option('voc', { type: 'boolean', default: false, describe: 'also report VOC-style mAP@0.5 (all-point interpolation)' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl' })
    .check((a) => {
      const fromFiles = a.gt !== undefined || a.dets !== undefined;
      if (fromFiles && !(a.gt && a.dets)) throw new Error('--gt and --dets go together');
      if (!fromFiles && !(a.weights && a.data)) throw new Error('give --weights and --data, or --gt and --dets');
      return true;
    })
    .example('$0 eval --coco --weights checkpoints/pruned --data datasets/tinycoco.json', 'run the model and score it')
    .example('$0 eval --coco --gt instances_val2017.json --dets dets.json --json', 'score an existing detections file');
}

async function handler(argv: ArgumentsCamelCase<EvalArgs>): Promise<void> {
  let result: CocoEvalResult;
  let gt: CocoGroundTruth;
  let dets: CocoDetection[];
  let extra = '';
  if (argv.gt && argv.dets) {
    gt = await loadGroundTruth(argv.gt);
    dets = await loadDetections(argv.dets, gt);
    result = evaluateCoco(gt, dets);
  } else {
    await useBackend(argv.backend, argv.threads);
    const detector = await Detector.load(argv.weights!, evalDetectorOptions({
      inputSize: argv.imgSize, conf: argv.conf, iou: argv.iou, maxDetections: argv.maxDet, multiLabel: argv.multiLabel, resizeMode: argv.resize ? 'resize' : undefined,
    }));
    const { config } = detector;
    const dataConfig = await loadDatasetConfig(argv.data!);
    // Notes (class matching, skipped images) wait until the progress bar is gone; stderr keeps --json clean.
    const notes: string[] = [];
    const dataset = await openDataset(dataConfig, argv.split, { skipBad: argv.skipBad, warn: (m) => notes.push(m) });
    const source = dataConfig[argv.split] as { annotations?: string };
    const groundTruth = dataConfig.format === 'coco' && source.annotations ? await loadGroundTruth(source.annotations) : undefined;
    const bar = new cliProgress.SingleBar({ format: 'eval |{bar}| {value}/{total} images {speed} img/s ETA {eta_formatted}', hideCursor: true }, cliProgress.Presets.shades_classic);
    const total = Math.min(argv.limit ?? Infinity, dataset.items.length);
    bar.start(total, 0, { speed: '-' });
    const t0 = performance.now();
    const ev = await evaluateModelOnDataset(detector, config, dataset, {
      batchSize: argv.batch, groundTruth, limit: argv.limit, skipBad: argv.skipBad, warn: (m) => notes.push(m),
      onProgress: (done) => bar.update(done, { speed: (done / ((performance.now() - t0) / 1000)).toFixed(2) }),
    });
    bar.stop();
    detector.dispose();
    for (const note of notes) console.warn(note);
    ({ result, groundTruth: gt, detections: dets } = ev);
    extra = `${ev.images} images in ${ev.seconds.toFixed(1)} s (${(ev.images / ev.seconds).toFixed(2)} img/s), ${dets.length} detections${ev.skipped ? `, ${ev.skipped} unreadable images skipped` : ''}`;
  }
  if (argv.saveDets) await fs.writeFile(argv.saveDets, JSON.stringify(dets));
  if (argv.prPlot) await writePrCurvePng(result, argv.prPlot);
  const voc = argv.voc ? vocMap50(gt, dets) : undefined;
  if (argv.json) {
    console.log(JSON.stringify({ ...result.stats, ...(voc ? { vocMap50: voc.mAP } : {}), ...(argv.perClass ? { perClass: result.perClass } : {}) }));
    return;
  }
  if (extra) console.log(extra);
  console.log(formatStatsTable(result.stats));
  if (voc) console.log(`VOC mAP@0.5 (all-point): ${voc.mAP.toFixed(4)}`);
  if (argv.perClass) console.log(formatPerClassTable(result.perClass));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export default { command, describe, builder, handler } as CommandModule<any, any>;
