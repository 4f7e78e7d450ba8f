/** VOC-style mAP@0.5, number formatting, numpy-compatible helpers and the PR-curve PNG. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import {
  DEFAULT_IOU_THRS,
  DEFAULT_REC_THRS,
  evaluateCoco,
  formatPerClassTable,
  linspace,
  loadDetections,
  loadGroundTruth,
  numpyMean,
  pairwiseSum,
  pyFixed,
  vocApAllPoint,
  vocMap50,
  type CocoDetection,
  type CocoGroundTruth,
} from '../src/eval/coco.ts';
import { prCurves, writePrCurvePng } from '../src/eval/plot-pr.ts';

const dir = fileURLToPath(new URL('./fixtures/coco-eval/', import.meta.url));

const oneGt: CocoGroundTruth = {
  images: [{ id: 1 }, { id: 2 }],
  categories: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }],
  annotations: [
    { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 },
    { id: 2, image_id: 2, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 },
    { id: 3, image_id: 2, category_id: 1, bbox: [50, 50, 30, 30], area: 900, iscrowd: 1 },
  ],
};
const d = (img: number, cat: number, bbox: number[], score: number): CocoDetection => ({ image_id: img, category_id: cat, bbox, score });

test('numpy.linspace thresholds are reproduced value for value', () => {
  // values printed by numpy 2.4: np.linspace(.5, .95, 10), np.linspace(0, 1, 101)
  assert.equal([...DEFAULT_IOU_THRS], [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95]);
  assert.is(DEFAULT_REC_THRS.length, 101);
  assert.is(DEFAULT_REC_THRS[0], 0);
  assert.is(DEFAULT_REC_THRS[100], 1);
  assert.is(DEFAULT_REC_THRS[7], 0.07);
  assert.equal(linspace(0, 1, 1), [0]);
});

test('numpyMean uses pairwise summation in 8192-element chunks', () => {
  // 0.1 x 10: sequential summation gives 0.9999999999999999, numpy's pairwise sum 1.0 and
  // np.mean 0.1 (sequential: 0.09999999999999999)
  const tenth = new Float64Array(10).fill(0.1);
  assert.is(pairwiseSum(tenth, 0, 10), 1);
  assert.is(numpyMean(tenth, 10), 0.1);
  assert.is(numpyMean(new Float64Array(0), 0), -1);
});

test('pyFixed rounds exact ties half to even like Python, otherwise like toFixed', () => {
  assert.is(pyFixed(0.0625, 3), '0.062'); // JS toFixed gives 0.063
  assert.is(pyFixed(0.1875, 3), '0.188');
  assert.is(pyFixed(0.125, 2), '0.12');
  assert.is(pyFixed(-0.0625, 3), '-0.062');
  assert.is(pyFixed(-1, 3), '-1.000');
  assert.is(pyFixed(0.5036473243630208, 3), '0.504');
  assert.is(pyFixed(0.0005, 3), '0.001'); // 0.0005 is slightly above the tie in binary
});

test('formatPerClassTable shows classes without GT as "-"', () => {
  const r = evaluateCoco(oneGt, [d(1, 1, [0, 0, 10, 10], 0.9)]);
  const t = formatPerClassTable(r.perClass).split('\n');
  assert.is(t.length, 3);
  assert.ok(t[2].startsWith('b') && t[2].trim().endsWith('-'), t[2]);
});

test('vocApAllPoint: area under the precision envelope', () => {
  // rec [0, 1], prec [0, .5]: mrec [0, 0, 1, 1], mpre [0, 0, .5, 0] -> envelope [.5, .5, .5, 0]
  // AP = (0 - 0) * .5 + (1 - 0) * .5 + (1 - 1) * 0 = .5
  assert.is(vocApAllPoint([0, 1], [0, 0.5]), 0.5);
  // rec [.5, .5, 1], prec [1, .5, 2/3] -> .5 * 1 + .5 * 2/3 = 5/6 (COCO's 101 points give 253/303)
  assert.ok(Math.abs(vocApAllPoint([0.5, 0.5, 1], [1, 0.5, 2 / 3]) - 5 / 6) < 1e-15);
});

test('vocMap50: hand-worked example with a duplicate, a crowd ("difficult") and a class without GT', () => {
  // class a: 2 GT (crowd not counted). Dets by score: TP img1 (.9), dup of img1 (.8) -> FP,
  // inside the crowd of img2 (.7) -> its best overlap is the crowd box (IoU 1) -> ignored,
  // TP img2 (.6). tp [1, 1, 2], fp [0, 1, 1] -> rec [.5, .5, 1], prec [1, .5, 2/3] -> AP 5/6.
  // class b: no GT -> AP -1, excluded: mAP = 5/6.
  const dets = [
    d(1, 1, [0, 0, 10, 10], 0.9),
    d(1, 1, [0, 0, 10, 10], 0.8),
    d(2, 1, [50, 50, 30, 30], 0.7),
    d(2, 1, [0, 0, 10, 10], 0.6),
    d(1, 2, [0, 0, 10, 10], 0.99),
  ];
  const v = vocMap50(oneGt, dets);
  assert.ok(Math.abs(v.mAP - 5 / 6) < 1e-12, String(v.mAP));
  assert.equal(v.perClass.map((c) => [c.id, c.numGt, c.numDets]), [[1, 2, 4], [2, 0, 1]]);
  assert.is(v.perClass[1].AP, -1);
});

test('vocMap50 on the fixture: perfect detector 1, real detections between COCO AP50 bounds', async () => {
  const gt = await loadGroundTruth(dir + 'sampled_gts_bbox_area.json');
  const perfect = gt.annotations.map((a) => d(a.image_id, a.category_id, a.bbox, 1));
  assert.ok(Math.abs(vocMap50(gt, perfect).mAP - 1) < 1e-12);
  const dets = await loadDetections(dir + 'sampled_bbox_results.json', gt);
  const v = vocMap50(gt, dets);
  const coco = evaluateCoco(gt, dets);
  // Same matching family (IoU 0.5, greedy by score); all-point vs 101-point interpolation and
  // > vs >= only move it a little.
  assert.ok(Math.abs(v.mAP - coco.stats.AP50) < 0.03, `${v.mAP} vs ${coco.stats.AP50}`);
});

test('PR curve PNG: IoU .5 and .75 averaged over classes', async () => {
  const gt = await loadGroundTruth(dir + 'sampled_gts_bbox_area.json');
  const dets = await loadDetections(dir + 'sampled_bbox_results.json', gt);
  const r = evaluateCoco(gt, dets);
  const curves = prCurves(r);
  assert.equal(curves.map((c) => c.iou), [0.5, 0.75]);
  assert.is(curves[0].precision.length, 101);
  // the mean of the class-averaged curve is the AP at that IoU (same set of classes at every r)
  assert.ok(Math.abs(curves[0].ap - r.stats.AP50) < 1e-9);
  assert.ok(Math.abs(curves[1].ap - r.stats.AP75) < 1e-9);
  const tmp = mkdtempSync(join(tmpdir(), 'coco-pr-'));
  try {
    const p = join(tmp, 'pr.png');
    await writePrCurvePng(r, p);
    const meta = await sharp(p).metadata();
    assert.is(meta.format, 'png');
    assert.ok((meta.width ?? 0) > 100 && (meta.height ?? 0) > 100);
    await writePrCurvePng(r, join(tmp, 'one.png'), { iouIndex: 0, classIndex: 0 });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  assert.throws(() => prCurves(r, { iouIndex: 10 }), RangeError);
});

test.run();
