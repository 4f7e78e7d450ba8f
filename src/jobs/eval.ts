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
import { Detector, type InferenceRuntime } from '../predict/detector.ts';

export interface EvalJobOptions {
  coco: boolean; weights?: string; data?: string; split: 'val' | 'train'; gt?: string; dets?: string; imgSize?: number; conf: number; iou: number;
  batch: number; maxDet: number; multiLabel?: boolean; json: boolean; saveDets?: string; limit?: number; perClass: boolean; prPlot?: string;
  voc: boolean; resize: boolean; skipBad: boolean;
  /** What runs the model (default tfjs); threads: ONNX Runtime's intra-op threads. */
  runtime?: InferenceRuntime; threads?: number;
}

export async function evaluateJob(o: EvalJobOptions): Promise<void> {
  let result: CocoEvalResult;
  let gt: CocoGroundTruth;
  let dets: CocoDetection[];
  let extra = '';
  if (o.gt && o.dets) {
    gt = await loadGroundTruth(o.gt);
    dets = await loadDetections(o.dets, gt);
    result = evaluateCoco(gt, dets);
  } else {
    const detector = await Detector.load(o.weights!, { ...evalDetectorOptions({
      inputSize: o.imgSize, conf: o.conf, iou: o.iou, maxDetections: o.maxDet, multiLabel: o.multiLabel, resizeMode: o.resize ? 'resize' : undefined,
    }), runtime: o.runtime, threads: o.threads });
    const { config } = detector;
    // Notes (class matching, skipped images) wait until the progress bar is gone; stderr keeps --json clean.
    const notes: string[] = [];
    const bar = new cliProgress.SingleBar({ format: 'eval |{bar}| {value}/{total} images {speed} img/s ETA {eta_formatted}', hideCursor: true }, cliProgress.Presets.shades_classic);
    let ev: Awaited<ReturnType<typeof evaluateModelOnDataset>>;
    try {
      const { dataset, groundTruth } = await openSplit(o.data!, o.split, { skipBad: o.skipBad, warn: (m) => notes.push(m) });
      const total = Math.min(o.limit ?? Infinity, dataset.items.length);
      bar.start(total, 0, { speed: '-' });
      const t0 = performance.now();
      ev = await evaluateModelOnDataset(detector, config, dataset, {
        batchSize: o.batch, groundTruth, limit: o.limit, skipBad: o.skipBad, warn: (m) => notes.push(m),
        onProgress: (done) => bar.update(done, { speed: (done / ((performance.now() - t0) / 1000)).toFixed(2) }),
      });
    } finally {
      // The model (and an ONNX Runtime session) is released whether evaluation finished or failed.
      bar.stop();
      detector.dispose();
    }
    for (const note of notes) console.warn(note);
    ({ result, groundTruth: gt, detections: dets } = ev);
    extra = `${ev.images} images in ${ev.seconds.toFixed(1)} s (${(ev.images / ev.seconds).toFixed(2)} img/s), ${dets.length} detections${ev.skipped ? `, ${ev.skipped} unreadable images skipped` : ''}`;
  }
  if (o.saveDets) await fs.writeFile(o.saveDets, JSON.stringify(dets));
  if (o.prPlot) await writePrCurvePng(result, o.prPlot);
  const voc = o.voc ? vocMap50(gt, dets) : undefined;
  if (o.json) {
    console.log(JSON.stringify({ ...result.stats, ...(voc ? { vocMap50: voc.mAP } : {}), ...(o.perClass ? { perClass: result.perClass } : {}) }));
    return;
  }
  if (extra) console.log(extra);
  console.log(formatStatsTable(result.stats));
  if (voc) console.log(`VOC mAP@0.5 (all-point): ${voc.mAP.toFixed(4)}`);
  if (o.perClass) console.log(formatPerClassTable(result.perClass));
}
