/**
 * Precision-recall curves from a COCO evaluation result, written as PNG (SVG rasterised by sharp,
 * through src/util/line-plot.ts).
 *
 * Each curve is the 101-point interpolated precision of pycocotools' eval['precision'] at one IoU
 * threshold, area 'all', the largest maxDet, averaged over the classes that have GT (entries of -1
 * are left out; pycocotools' own plotting averages them in). The mean of a curve's 101 points is the
 * AP at that IoU, shown in the legend.
 */
import { writeLinePlotPng, type Series } from '../util/line-plot.ts';
import type { CocoEvalResult } from './coco-types.ts';

export interface PrCurveOptions {
  /** Index (or indices) into result.params.iouThrs; default: the thresholds 0.5 and 0.75. */
  iouIndex?: number | number[];
  /** Plot one class (index into result.perClass / the K axis) instead of the class average. */
  classIndex?: number;
  title?: string;
  width?: number;
  height?: number;
}

export interface PrCurve {
  iou: number;
  recall: number[];
  /** NaN where no class has GT */
  precision: number[];
  /** mean of `precision` (the AP at this IoU), -1 when undefined */
  ap: number;
}

/** The curves that writePrCurvePng draws. */
export function prCurves(result: CocoEvalResult, opts: PrCurveOptions = {}): PrCurve[] {
  const { T, R, K, A, M } = result.dims;
  const { iouThrs, recThrs, areaRngLbl } = result.params;
  const a = Math.max(0, areaRngLbl.indexOf('all'));
  const m = M - 1;
  let ts: number[];
  if (opts.iouIndex === undefined) {
    ts = [0.5, 0.75].map((v) => iouThrs.indexOf(v)).filter((i) => i >= 0);
    if (ts.length === 0) ts = [0];
  } else {
    ts = Array.isArray(opts.iouIndex) ? opts.iouIndex : [opts.iouIndex];
  }
  for (const t of ts) {
    if (!Number.isInteger(t) || t < 0 || t >= T) throw new RangeError(`iouIndex ${t} out of range [0, ${T})`);
  }
  const ks = opts.classIndex === undefined ? [...Array(K).keys()] : [opts.classIndex];
  if (opts.classIndex !== undefined && (opts.classIndex < 0 || opts.classIndex >= K)) {
    throw new RangeError(`classIndex ${opts.classIndex} out of range [0, ${K})`);
  }
  return ts.map((t) => {
    const precision: number[] = [];
    for (let r = 0; r < R; r++) {
      let sum = 0;
      let n = 0;
      for (const k of ks) {
        const v = result.precision[(((t * R + r) * K + k) * A + a) * M + m];
        if (v > -1) {
          sum += v;
          n++;
        }
      }
      precision.push(n ? sum / n : NaN);
    }
    const valid = precision.filter((v) => !Number.isNaN(v));
    const ap = valid.length ? valid.reduce((s, v) => s + v, 0) / valid.length : -1;
    return { iou: iouThrs[t], recall: [...recThrs], precision, ap };
  });
}

/** Writes precision vs recall (IoU 0.5 and 0.75 by default, averaged over classes) as a PNG. */
export async function writePrCurvePng(result: CocoEvalResult, path: string, opts: PrCurveOptions = {}): Promise<void> {
  const curves = prCurves(result, opts);
  const series: Series[] = curves.map((c) => ({
    name: `IoU=${c.iou.toFixed(2)}  AP=${c.ap < 0 ? 'n/a' : c.ap.toFixed(3)}`,
    xs: c.recall,
    ys: c.precision,
  }));
  const who = opts.classIndex === undefined ? 'mean over classes' : `class ${result.perClass[opts.classIndex]?.name}`;
  await writeLinePlotPng(path, series, {
    title: opts.title ?? `Precision-recall (area=all, maxDets=${result.params.maxDets[result.params.maxDets.length - 1]}, ${who})`,
    xLabel: 'recall',
    yLabel: 'precision',
    xMin: 0,
    xMax: 1,
    yMin: 0,
    yMax: 1.01,
    width: opts.width,
    height: opts.height,
  });
}
