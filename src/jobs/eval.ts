/**
 * The eval job: COCO mAP (12 pycocotools statistics) of a model on a dataset split, or of an existing
 * detections file against its ground truth; prints the table (or one JSON object), optionally
 * per class, VOC mAP@0.5, the detections file and a precision-recall plot.
 */
import { promises as fs } from 'node:fs';
import cliProgress from 'cli-progress';
import { evaluateCoco, formatPerClassTable, formatStatsTable, loadDetections, loadGroundTruth, vocMap50 } from '../eval/coco.ts';
import type { CocoDetection, CocoEvalResult, CocoGroundTruth } from '../eval/coco-types.ts';
import { evalDetectorOptions, evaluateModelOnDataset } from '../eval/evaluate-model.ts';
import { openSplit } from '../eval/open-split.ts';
import { writePrCurvePng } from '../eval/plot-pr.ts';
import { Detector } from '../predict/detector.ts';

export interface EvalJobOptions {
  coco: boolean; weights?: string; data?: string; split: 'val' | 'train'; gt?: string; dets?: string; imgSize?: number; conf: number; iou: number;
  batch: number; maxDet: number; multiLabel?: boolean; json: boolean; saveDets?: string; limit?: number; perClass: boolean; prPlot?: string;
  voc: boolean; resize: boolean; skipBad: boolean;
}

export async function evaluateJob(argv: EvalJobOptions): Promise<void> {
  let result: CocoEvalResult;
  let gt: CocoGroundTruth;
  let dets: CocoDetection[];
  let extra = '';
  if (argv.gt && argv.dets) {
    gt = await loadGroundTruth(argv.gt);
    dets = await loadDetections(argv.dets, gt);
    result = evaluateCoco(gt, dets);
  } else {
    const detector = await Detector.load(argv.weights!, evalDetectorOptions({
      inputSize: argv.imgSize, conf: argv.conf, iou: argv.iou, maxDetections: argv.maxDet, multiLabel: argv.multiLabel, resizeMode: argv.resize ? 'resize' : undefined,
    }));
    const { config } = detector;
    // Notes (class matching, skipped images) wait until the progress bar is gone; stderr keeps --json clean.
    const notes: string[] = [];
    const { dataset, groundTruth } = await openSplit(argv.data!, argv.split, { skipBad: argv.skipBad, warn: (m) => notes.push(m) });
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
