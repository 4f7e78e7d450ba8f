/**
 * evaluateCoco on small hand-worked cases. Notation in the comments (pycocotools accumulate):
 * detections sorted by score; tp/fp = cumulative counts over non-ignored detections;
 * rc = tp / npig (npig = number of non-ignored GT); pr = tp / (fp + tp + eps), then made
 * non-increasing from the right; the 101 recall thresholds r = 0, .01, ..., 1 read
 * pr[first i with rc[i] >= r], or 0 if there is none; AP = mean of those 101 values (over
 * thresholds, IoUs and classes with GT). pr = 1/(1+eps) = 1 - 2.2e-16 for the first TP, hence the
 * 1e-12 tolerances.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import {
  evaluateCoco,
  loadDetections,
  loadGroundTruth,
  type CocoAnnotation,
  type CocoDetection,
  type CocoGroundTruth,
  type CocoStats,
} from '../src/eval/coco.ts';

const dir = fileURLToPath(new URL('./fixtures/coco-eval/', import.meta.url));

type Box = [number, number, number, number];

function makeGt(
  imageIds: number[],
  categoryIds: number[],
  anns: { img: number; cat: number; bbox: Box; area?: number; iscrowd?: number; ignore?: number; id?: number }[],
): CocoGroundTruth {
  return {
    images: imageIds.map((id) => ({ id })),
    categories: categoryIds.map((id) => ({ id, name: `cat${id}` })),
    annotations: anns.map((a, i): CocoAnnotation => ({
      id: a.id ?? i + 1,
      image_id: a.img,
      category_id: a.cat,
      bbox: a.bbox,
      area: a.area ?? a.bbox[2] * a.bbox[3],
      iscrowd: a.iscrowd ?? 0,
      ...(a.ignore !== undefined ? { ignore: a.ignore } : {}),
    })),
  };
}

const det = (img: number, cat: number, bbox: Box, score: number): CocoDetection => ({ image_id: img, category_id: cat, bbox, score });

function close(got: number, want: number, what: string, tol = 1e-12): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want}`);
}

function expectStats(s: CocoStats, want: Partial<CocoStats>): void {
  for (const [k, v] of Object.entries(want) as [keyof CocoStats, number][]) close(s[k], v, k);
}

test('no detections at all: AP/AR 0 where GT exists, -1 where a range has no GT', () => {
  // cat 1: a small GT (area 100) and a large GT (area 20000); cat 2: no GT.
  // cat 1 appears in images with GT, so pycocotools' E is not empty; nd = 0 -> recall 0 and all
  // 101 precision values 0 (the searchsorted read goes past the end). Medium: npig = 0 -> -1.
  // cat 2: no image has a GT or a detection -> -1 everywhere, left out of the means.
  // (pycocotools' loadRes itself crashes on an empty list; these are COCOeval's numbers.)
  const gt = makeGt([1, 2], [1, 2], [
    { img: 1, cat: 1, bbox: [0, 0, 10, 10] },
    { img: 2, cat: 1, bbox: [0, 0, 100, 200] },
  ]);
  const r = evaluateCoco(gt, []);
  expectStats(r.stats, { AP: 0, AP50: 0, AP75: 0, APs: 0, APm: -1, APl: 0, AR1: 0, AR10: 0, AR100: 0, ARs: 0, ARm: -1, ARl: 0 });
  assert.equal(r.perClass.map((c) => [c.id, c.AP, c.AP50]), [[1, 0, 0], [2, -1, -1]]);
});

test('a category with detections but no GT is excluded (-1), not counted as 0', () => {
  // cat 1 detected perfectly -> AP 1; cat 2 has only detections: npig = 0 in every area range,
  // so its precision stays -1 and the mean is over cat 1 alone.
  const gt = makeGt([1], [1, 2], [{ img: 1, cat: 1, bbox: [10, 10, 50, 50] }]);
  const dets = [det(1, 1, [10, 10, 50, 50], 0.9), det(1, 2, [10, 10, 50, 50], 0.95), det(1, 2, [0, 0, 5, 5], 0.5)];
  const r = evaluateCoco(gt, dets);
  close(r.stats.AP, 1, 'AP');
  close(r.stats.AR100, 1, 'AR100');
  assert.is(r.perClass[1].id, 2);
  assert.is(r.perClass[1].AP, -1);
  assert.is(r.perClass[1].AP50, -1);
  close(r.perClass[0].AP, 1, 'cat1 AP');
});

test('crowd GT: detections inside it are ignored (not FP), several can match it', () => {
  // GT: crowd [0,0,100,100] and a normal box N = [200,200,50,50] (area 2500).
  // dets (score): d1 [10,10,20,20] (.9) and d2 [50,50,20,20] (.8) lie inside the crowd:
  //   crowd IoU = intersection / det area = 400/400 = 1 -> both match the crowd -> ignored;
  // d3 = N (.7) -> TP at every IoU; d4 [400,400,10,10] (.6) -> FP.
  // Non-ignored sequence: TP, FP; npig = 1: rc = [1, 1], pr = [1/(1+eps), 1/2] -> envelope [1, .5];
  // every threshold r in [0, 1] reads index 0 -> precision 1 -> AP = 1, AR = 1.
  const anns = [
    { img: 1, cat: 1, bbox: [0, 0, 100, 100] as Box, iscrowd: 1 },
    { img: 1, cat: 1, bbox: [200, 200, 50, 50] as Box },
  ];
  const dets = [
    det(1, 1, [10, 10, 20, 20], 0.9),
    det(1, 1, [50, 50, 20, 20], 0.8),
    det(1, 1, [200, 200, 50, 50], 0.7),
    det(1, 1, [400, 400, 10, 10], 0.6),
  ];
  const r = evaluateCoco(makeGt([1], [1], anns), dets);
  close(r.stats.AP, 1, 'AP with crowd');
  close(r.stats.AR100, 1, 'AR100 with crowd');

  // Same boxes, crowd flag off: the big box is a normal GT; d1, d2 have IoU 400/10000 = .04 -> FP.
  // Sequence FP, FP, TP, FP; npig = 2: rc = [0, 0, .5, .5], pr = [0, 0, 1/3, 1/4] -> envelope
  // [1/3, 1/3, 1/3, 1/4]; r = 0 .. .50 (51 thresholds) -> 1/3, r > .5 -> none -> 0.
  // AP = 51 * (1/3) / 101 = 17/101 at every IoU (d3 is exact); AR100 = .5.
  const r2 = evaluateCoco(makeGt([1], [1], anns.map((a) => ({ ...a, iscrowd: 0 }))), dets);
  close(r2.stats.AP, 17 / 101, 'AP without crowd');
  close(r2.stats.AR100, 0.5, 'AR100 without crowd');
});

test('only the top 100 detections per image (and category) count', () => {
  // One GT [0,0,10,10]; 149 far-away FPs with scores 0.99 - i/1000 and one exact TP.
  const gt = makeGt([1], [1], [{ img: 1, cat: 1, bbox: [0, 0, 10, 10] }]);
  const fps = (n: number) => Array.from({ length: n }, (_, i) => det(1, 1, [500 + i, 500, 10, 10], 0.99 - i / 1000));
  // TP ranked 101st (score below all 100 FPs... it is cut): nothing matches -> AP 0, AR100 0.
  const cut = evaluateCoco(gt, [...fps(149), det(1, 1, [0, 0, 10, 10], 0.5)]);
  expectStats(cut.stats, { AP: 0, AP50: 0, AR100: 0 });
  // TP ranked exactly 100th (99 FPs above it): rc reaches 1 at index 99 where pr = 1/100; the envelope
  // gives .01 at every threshold -> AP = .01; AR100 = 1, AR10 = AR1 = 0 (TP not in the top 10).
  const kept = evaluateCoco(gt, [...fps(99), det(1, 1, [0, 0, 10, 10], 0.5), ...fps(149).slice(99).map((d) => ({ ...d, score: 0.1 }))]);
  expectStats(kept.stats, { AP: 0.01, AP50: 0.01, AR100: 1, AR10: 0, AR1: 0 });
  // With maxDets [1, 10, 200] the TP at rank 101 is counted again.
  const more = evaluateCoco(gt, [...fps(149), det(1, 1, [0, 0, 10, 10], 0.5)], { maxDets: [1, 10, 200] });
  close(more.statsArray[8], 1, 'AR200');
  assert.is(more.stats.AP, -1); // stats[0] asks for maxDets == 100 literally, like pycocotools
});

test('perfect detector on the fixture: AP 1 and AR 1', async () => {
  const gt = await loadGroundTruth(dir + 'sampled_gts_bbox_area.json');
  const dets = gt.annotations.map((a) => det(a.image_id, a.category_id, a.bbox as Box, 1));
  const r = evaluateCoco(gt, dets);
  // AR1/AR10 < 1 where an image holds more than 1 / 10 objects of a class
  expectStats(r.stats, { AP: 1, AP50: 1, AP75: 1, APs: 1, APm: 1, APl: 1, AR100: 1, ARs: 1, ARm: 1, ARl: 1 });
  assert.ok(r.perClass.every((c) => c.AP === -1 || Math.abs(c.AP - 1) < 1e-12));
});

test('one GT, an FP above a TP: AP 0.5 (hand-computed)', () => {
  // GT [0,0,10,10] (area 100, small). d1 [50,50,10,10] score .9 -> FP; d2 = GT, score .8 -> TP.
  // tp = [0, 1], fp = [1, 1]; rc = [0, 1]; pr = [0/(1+eps), 1/(2+eps)] = [0, .5]; envelope [.5, .5].
  // r = 0 -> index 0 -> .5; r in (0, 1] -> index 1 -> .5. All 101 values .5 -> AP = AP50 = AP75 = .5.
  // AR: maxDet 1 keeps only d1 -> recall 0; maxDet 10/100 -> recall 1.
  // Small range: same as 'all' (both boxes have area 100) -> APs .5, ARs 1.
  // Medium/large: the GT is ignored (area outside), d2 matches it -> ignored, d1 unmatched and outside
  // -> ignored; npig = 0 -> -1.
  const gt = makeGt([1], [1], [{ img: 1, cat: 1, bbox: [0, 0, 10, 10] }]);
  const r = evaluateCoco(gt, [det(1, 1, [50, 50, 10, 10], 0.9), det(1, 1, [0, 0, 10, 10], 0.8)]);
  expectStats(r.stats, { AP: 0.5, AP50: 0.5, AP75: 0.5, APs: 0.5, APm: -1, APl: -1, AR1: 0, AR10: 1, AR100: 1, ARs: 1, ARm: -1, ARl: -1 });
});

test('two GT, TP FP TP: the 101-point interpolation (hand-computed)', () => {
  // rc = [.5, .5, 1]; pr = [1/(1+eps), 1/2, 2/3] -> envelope [1, 2/3, 2/3].
  // r = 0 .. .50 (51 values) -> index 0 -> 1; r = .51 .. 1 (50 values) -> index 2 -> 2/3.
  // AP = (51 + 50 * 2/3) / 101 = 253/303.
  const gt = makeGt([1], [1], [
    { img: 1, cat: 1, bbox: [0, 0, 40, 40] },
    { img: 1, cat: 1, bbox: [100, 100, 40, 40] },
  ]);
  const dets = [det(1, 1, [0, 0, 40, 40], 0.9), det(1, 1, [300, 300, 40, 40], 0.8), det(1, 1, [100, 100, 40, 40], 0.7)];
  const r = evaluateCoco(gt, dets);
  close(r.stats.AP, 253 / 303, 'AP');
  close(r.stats.AR100, 1, 'AR100');
  close(r.stats.AR1, 0.5, 'AR1');
});

test('IoU thresholds: a det of IoU 0.6 is a TP for t <= .6 only', () => {
  // GT [0,0,100,100]; det [0,0,60,100]: IoU = 6000/10000 = .6 (exact) -> TP for t = .50, .55, .60
  // (pycocotools: continue only if iou < t) and FP for the other 7 -> AP = 3/10, AP50 = 1, AP75 = 0.
  const gt = makeGt([1], [1], [{ img: 1, cat: 1, bbox: [0, 0, 100, 100] }]);
  const r = evaluateCoco(gt, [det(1, 1, [0, 0, 60, 100], 0.9)]);
  expectStats(r.stats, { AP: 0.3, AP50: 1, AP75: 0, AR100: 0.3 });
});

test('area ranges: inclusive bounds, ignored out-of-range GT, ignored unmatched dets', () => {
  // GT A [0,0,32,32] area 1024 (= 32^2: small AND medium), B [100,100,50,100] area 5000 (medium,
  // missed), C [300,300,100,200] area 20000 (large). Dets: F [500,0,10,10] area 100 score .95 (FP),
  // A .9, C .8 (exact).
  // all:    npig 3; F, A, C = FP, TP, TP; rc [0, 1/3, 2/3], pr [0, 1/2, 2/3] -> env 2/3 everywhere;
  //         r <= .66 (67 values) -> 2/3, else 0: AP = 67 * (2/3) / 101 = 134/303; AR = 2/3.
  // small:  only A counts (npig 1); F inside the range -> FP; C matches the ignored GT C -> ignored.
  //         F, A = FP, TP: pr [0, 1/2] -> APs = .5, ARs = 1.
  // medium: A and B count (npig 2); F unmatched and outside -> ignored; C -> matched ignored GT.
  //         Only A: TP with rc .5, pr 1 -> r <= .5 (51 values) -> 1: APm = 51/101, ARm = .5.
  // large:  only C counts; F ignored (outside), A matched to ignored GT A -> ignored. APl = 1, ARl = 1.
  const gt = makeGt([1], [1], [
    { img: 1, cat: 1, bbox: [0, 0, 32, 32] },
    { img: 1, cat: 1, bbox: [100, 100, 50, 100] },
    { img: 1, cat: 1, bbox: [300, 300, 100, 200] },
  ]);
  const dets = [det(1, 1, [500, 0, 10, 10], 0.95), det(1, 1, [0, 0, 32, 32], 0.9), det(1, 1, [300, 300, 100, 200], 0.8)];
  const r = evaluateCoco(gt, dets);
  expectStats(r.stats, {
    AP: 134 / 303, APs: 0.5, APm: 51 / 101, APl: 1,
    AR100: 2 / 3, ARs: 1, ARm: 0.5, ARl: 1,
  });
});

test('GT area comes from the annotation field, not from the box', () => {
  // The same box declared with area 500 is "small": APs defined, APl -1 (and the reverse).
  const asSmall = evaluateCoco(makeGt([1], [1], [{ img: 1, cat: 1, bbox: [0, 0, 100, 100], area: 500 }]), [det(1, 1, [0, 0, 100, 100], 1)]);
  close(asSmall.stats.APs, 1, 'APs');
  assert.is(asSmall.stats.APl, -1);
});

test('ties in score keep input order (mergesort semantics)', () => {
  // Two dets with equal score: one FP, one TP. Input order decides: FP first -> AP .5; TP first -> 1.
  const gt = makeGt([1], [1], [{ img: 1, cat: 1, bbox: [0, 0, 10, 10] }]);
  const fp = det(1, 1, [50, 50, 10, 10], 0.5);
  const tp = det(1, 1, [0, 0, 10, 10], 0.5);
  close(evaluateCoco(gt, [fp, tp]).stats.AP, 0.5, 'FP first');
  close(evaluateCoco(gt, [tp, fp]).stats.AP, 1, 'TP first');
  // Across images: the stable global sort keeps ascending image id order for equal scores.
  const gt2 = makeGt([1, 2], [1], [{ img: 2, cat: 1, bbox: [0, 0, 10, 10] }]);
  close(evaluateCoco(gt2, [det(2, 1, [0, 0, 10, 10], 0.5), det(1, 1, [0, 0, 10, 10], 0.5)]).stats.AP, 0.5, 'image 1 first');
});

test('the GT "ignore" field is overwritten by iscrowd in pycocotools; honorIgnoreFlag uses it', () => {
  // GT X (ignore: 1) and Y; one det on X. pycocotools: X counts -> TP, Y missed -> AP = 51/101 (see
  // the medium case above), AR .5. With honorIgnoreFlag, X is ignored, its det too -> npig 1, no TP -> 0.
  const gt = makeGt([1], [1], [
    { img: 1, cat: 1, bbox: [0, 0, 40, 40], ignore: 1 },
    { img: 1, cat: 1, bbox: [100, 100, 40, 40] },
  ]);
  const dets = [det(1, 1, [0, 0, 40, 40], 0.9)];
  close(evaluateCoco(gt, dets).stats.AP, 51 / 101, 'default');
  close(evaluateCoco(gt, dets, { honorIgnoreFlag: true }).stats.AP, 0, 'honorIgnoreFlag');
  close(evaluateCoco(gt, dets, { honorIgnoreFlag: true }).stats.AR100, 0, 'honorIgnoreFlag AR');
});

test('useCats: false ignores the labels', () => {
  // The det has the wrong class: with categories it is an FP (AP 0 for cat 1, cat 2 has no GT);
  // class-agnostic it matches -> AP 1.
  const gt = makeGt([1], [1, 2], [{ img: 1, cat: 1, bbox: [0, 0, 40, 40] }]);
  const dets = [det(1, 2, [0, 0, 40, 40], 0.9)];
  close(evaluateCoco(gt, dets).stats.AP, 0, 'useCats');
  const agnostic = evaluateCoco(gt, dets, { useCats: false });
  close(agnostic.stats.AP, 1, 'agnostic');
  assert.is(agnostic.dims.K, 1);
});

test('GT on images or categories not listed in the GT file are left out (as pycocotools)', () => {
  const gt = makeGt([1], [1], [
    { img: 1, cat: 1, bbox: [0, 0, 40, 40] },
    { img: 9, cat: 1, bbox: [0, 0, 40, 40] },
    { img: 1, cat: 7, bbox: [100, 100, 40, 40] },
  ]);
  close(evaluateCoco(gt, [det(1, 1, [0, 0, 40, 40], 0.9)]).stats.AP, 1, 'AP');
});

test('fixture detections: evaluation is deterministic and independent of image order in the GT file', async () => {
  const gt = await loadGroundTruth(dir + 'sampled_gts_bbox_area.json');
  const dets = await loadDetections(dir + 'sampled_bbox_results.json', gt);
  const a = evaluateCoco(gt, dets);
  const shuffled = { ...gt, images: [...gt.images].reverse() };
  const b = evaluateCoco(shuffled, dets);
  assert.equal(b.statsArray, a.statsArray);
});

test.run();
