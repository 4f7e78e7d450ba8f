/**
 * evaluateCoco against pycocotools 2.0.11 on 100 COCO val2014 images (830 GT boxes, 734 detections);
 * see test/fixtures/coco-eval/LICENSES.md.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import {
  COCO_STAT_KEYS,
  evaluateCoco,
  formatStatsTable,
  loadDetections,
  loadGroundTruth,
  type CocoDetection,
  type CocoGroundTruth,
} from '../src/eval/coco.ts';
import { loadCocoJson } from '../src/eval/coco.ts';

const dir = fileURLToPath(new URL('./fixtures/coco-eval/', import.meta.url));

interface Reference {
  num_images: number;
  num_gt: number;
  num_dets: number;
  stats: number[];
  named: Record<string, number>;
  per_class: Record<string, { id: number; AP: number; AP50: number }>;
}

let gt: CocoGroundTruth;
let dets: CocoDetection[];
let ref: Reference;

test.before(async () => {
  gt = await loadGroundTruth(dir + 'sampled_gts_bbox_area.json');
  dets = await loadDetections(dir + 'sampled_bbox_results.json', gt);
  ref = await loadCocoJson<Reference>(dir + 'pycocotools_stats.json');
});

test('fixture sizes are the ones pycocotools evaluated', () => {
  assert.is(gt.images.length, ref.num_images);
  assert.is(gt.annotations.length, ref.num_gt);
  assert.is(dets.length, ref.num_dets);
});

test('the 12 stats equal pycocotools to 1e-6 (and in fact bit for bit)', () => {
  const r = evaluateCoco(gt, dets);
  assert.is(r.statsArray.length, 12);
  COCO_STAT_KEYS.forEach((key, i) => {
    assert.is(r.stats[key], r.statsArray[i]);
    assert.ok(Math.abs(r.statsArray[i] - ref.stats[i]) <= 1e-6, `${key}: ${r.statsArray[i]} vs pycocotools ${ref.stats[i]}`);
    assert.ok(Math.abs(r.stats[key] - ref.named[key]) <= 1e-6, `${key} (named)`);
  });
  // not required by the 1e-6 contract, but true today: same float operations in the same order
  assert.equal(r.statsArray, ref.stats);
});

test('per-class AP and AP50 equal pycocotools to 1e-6', () => {
  const r = evaluateCoco(gt, dets);
  assert.is(r.perClass.length, Object.keys(ref.per_class).length);
  for (const c of r.perClass) {
    const want = ref.per_class[c.name];
    assert.ok(want, `class ${c.name} missing from the reference`);
    assert.is(c.id, want.id);
    assert.ok(Math.abs(c.AP - want.AP) <= 1e-6, `${c.name} AP ${c.AP} vs ${want.AP}`);
    assert.ok(Math.abs(c.AP50 - want.AP50) <= 1e-6, `${c.name} AP50 ${c.AP50} vs ${want.AP50}`);
  }
});

test('precision array has pycocotools layout [T,R,K,A,M]', () => {
  const r = evaluateCoco(gt, dets);
  assert.equal(r.dims, { T: 10, R: 101, K: 80, A: 4, M: 3 });
  assert.is(r.precision.length, 10 * 101 * 80 * 4 * 3);
  assert.is(r.recall.length, 10 * 80 * 4 * 3);
  assert.is(r.params.iouThrs[8], 0.8999999999999999); // numpy.linspace value, not 0.9
  // AP50 recomputed from the raw array: mean over precision[t=0, :, :, area all, maxDet 100] > -1
  const { R, K, A, M } = r.dims;
  let s = 0;
  let n = 0;
  for (let rr = 0; rr < R; rr++) for (let k = 0; k < K; k++) {
    const v = r.precision[((rr * K + k) * A + 0) * M + 2];
    if (v > -1) { s += v; n++; }
  }
  assert.ok(Math.abs(s / n - ref.named.AP50) < 1e-12);
});

test('formatStatsTable prints pycocotools lines', () => {
  const r = evaluateCoco(gt, dets);
  const lines = formatStatsTable(r.stats).split('\n');
  assert.is(lines.length, 12);
  assert.is(lines[0], ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.504');
  assert.is(lines[1], ' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.697');
  assert.is(lines[4], ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.558');
  assert.is(lines[6], ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.387');
  assert.is(lines[11], ' Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.554');
});

test('input objects are not modified', () => {
  const before = JSON.stringify([gt, dets]);
  evaluateCoco(gt, dets);
  assert.is(JSON.stringify([gt, dets]), before);
});

test.run();
