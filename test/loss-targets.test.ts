import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { bestAnchor, buildTargets, headTargetsToTensors, shapeIou } from '../src/train/targets.ts';

const ANCHORS: [number, number][] = [[12, 16], [19, 36], [40, 28], [36, 75], [76, 55], [72, 146], [142, 110], [192, 243], [459, 401]];
const MASK = [[6, 7, 8], [3, 4, 5], [0, 1, 2]];
const opts416 = { anchors: ANCHORS, anchorMask: MASK, numClasses: 80, inputSize: [416, 416] as [number, number] };
const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('a 0.3 x 0.3 box at 416 (124.8 px square) goes to anchor 6 (142x110): head 0, slot 0', () => {
  // Shape IoUs by hand, box 124.8 x 124.8 (area 15575.04) centred with each anchor:
  //   anchor 6 142x110: inter 124.8*110 = 13728, union 15575.04 + 15620 - 13728 = 17467.04 -> 0.78594
  //   anchor 5  72x146: inter 72*124.8 = 8985.6, union 15575.04 + 10512 - 8985.6 = 17101.44 -> 0.52543
  //   anchor 7 192x243: inter 15575.04, union 46656 -> 0.33383
  //   anchor 4  76x55:  inter 4180, union 15575.04 -> 0.26838
  //   anchor 3  36x75:  2700 / 15575.04 = 0.17335;  anchor 8 459x401: 15575.04 / 184059 = 0.08462
  //   anchors 0-2 are smaller still (0.0123, 0.0439, 0.0719).
  // So the best is anchor 6, the FIRST of mask[0] = [6,7,8] (not 7, which is 192x243).
  close(shapeIou(124.8, 124.8, 142, 110), 13728 / 17467.04);
  close(shapeIou(124.8, 124.8, 72, 146), 8985.6 / 17101.44);
  assert.is(bestAnchor(124.8, 124.8, ANCHORS), 6);

  const heads = buildTargets([Float32Array.from([0.55, 0.31, 0.3, 0.3, 17])], opts416);
  assert.equal(heads.map((h) => [h.gridH, h.gridW]), [[13, 13], [26, 26], [52, 52]]);
  assert.equal(heads.map((h) => h.positives.length), [1, 0, 0]);
  const h0 = heads[0];
  // cell i = floor(0.55 * 13) = floor(7.15) = 7, j = floor(0.31 * 13) = floor(4.03) = 4, slot 0
  const k = ((0 * 13 + 4) * 13 + 7) * 3 + 0;
  assert.is(h0.positives[0], k);
  assert.is(h0.objMask[k], 1);
  assert.is(h0.noobjMask[k], 0);
  assert.is(h0.objMask.reduce((s, v) => s + v, 0), 1);
  assert.is(h0.noobjMask.reduce((s, v) => s + v, 0), 13 * 13 * 3 - 1);
  [7.15, 4.03, 3.9, 3.9].forEach((v, c) => close(h0.boxTarget[k * 4 + c], v, 1e-5));
  assert.is(h0.clsTarget[k * 80 + 17], 1);
  assert.is(h0.clsTarget.reduce((s, v) => s + v, 0), 1);
  close(h0.boxLossScale[k], 2 - 0.09, 1e-6);
});

test('small and medium boxes go to heads 2 and 1', () => {
  // 20x20 px: anchor 0 (12x16) 192/400 = 0.48; anchor 1 (19x36) inter 380, union 400 + 684 - 380 = 704 -> 0.540;
  //           anchor 2 (40x28) 400/1120 = 0.357 -> anchor 1 = head 2 (mask [0,1,2]) slot 1.
  assert.is(bestAnchor(20, 20, ANCHORS), 1);
  // 60x50 px: anchor 4 (76x55) 3000/4180 = 0.718; anchor 3 (36x75) 1800/3900 = 0.462 -> anchor 4 = head 1 slot 1.
  assert.is(bestAnchor(60, 50, ANCHORS), 4);
  const heads = buildTargets([
    Float32Array.from([]),
    Float32Array.from([0.1, 0.9, 20 / 416, 20 / 416, 3, 0.5, 0.5, 60 / 416, 50 / 416, 5]),
  ], opts416);
  assert.equal(heads.map((h) => h.positives.length), [0, 1, 1]);
  // image 1, head 2 (52x52): i = floor(5.2) = 5, j = floor(46.8) = 46, slot 1
  assert.is(heads[2].positives[0], ((1 * 52 + 46) * 52 + 5) * 3 + 1);
  // image 1, head 1 (26x26): i = j = 13, slot 1
  assert.is(heads[1].positives[0], ((1 * 26 + 13) * 26 + 13) * 3 + 1);
});

test('anchorIouThreshold (darknet iou_thresh) adds every anchor whose shape IoU is above it', () => {
  // 20x20 px: IoU with anchors 0..4 = 0.48, 0.540 (best), 0.357, 400/2700 = 0.148, 400/4180 = 0.096.
  // 60x50 px: anchor 4 0.718 (best), 3 1800/3900 = 0.462, 2 1120/3000 = 0.373, 5 3000/10512 = 0.285,
  //           1 684/3000 = 0.228, 6 3000/15620 = 0.192, 0 192/3000 = 0.064.
  const rows = [Float32Array.from([0.1, 0.9, 20 / 416, 20 / 416, 3, 0.5, 0.5, 60 / 416, 50 / 416, 5])];
  const at = (thr: number | undefined) => buildTargets(rows, { ...opts416, anchorIouThreshold: thr });
  const cell52 = (46 * 52 + 5) * 3; // box 1 on head 2: i 5, j 46
  const cell52b = (26 * 52 + 26) * 3; // box 2 on head 2: i = j = 26
  const cell26 = (13 * 26 + 13) * 3; // box 2 on head 1
  // 0.213 (yolov4.cfg): box 1 -> anchors 0, 1, 2 (head 2, slots 0-2); box 2 -> anchors 1, 2 (head 2 slots 1, 2), 3, 4, 5 (head 1).
  let h = at(0.213);
  assert.equal(Array.from(h[0].positives), []);
  assert.equal(Array.from(h[1].positives), [cell26, cell26 + 1, cell26 + 2]);
  assert.equal(Array.from(h[2].positives), [cell52b + 1, cell52b + 2, cell52, cell52 + 1, cell52 + 2]);
  // Every positive of a box carries that box's class and the same box target.
  assert.equal(Array.from(h[2].clsTarget.subarray((cell52b + 2) * 80, (cell52b + 2) * 80 + 80)).indexOf(1), 5);
  assert.equal(Array.from(h[1].boxTarget.subarray(cell26 * 4, cell26 * 4 + 4)), Array.from(h[1].boxTarget.subarray((cell26 + 2) * 4, (cell26 + 2) * 4 + 4)));
  // 0.4: box 1 -> anchors 0, 1; box 2 -> anchors 4, 3.
  h = at(0.4);
  assert.equal(Array.from(h[1].positives), [cell26, cell26 + 1]);
  assert.equal(Array.from(h[2].positives), [cell52, cell52 + 1]);
  // Unset: the best anchor only, as before.
  h = at(undefined);
  assert.equal(h.map((x) => x.positives.length), [0, 1, 1]);
  assert.throws(() => at(1), /anchorIouThreshold/);
});

test('non-square input: column from cx*W, row from cy*H', () => {
  // 64 high x 96 wide: heads 2x3, 4x6, 8x12. Box 0.3 x 0.3 is 28.8 x 19.2 px: best anchor 2 (40x28): head 2.
  const heads = buildTargets([Float32Array.from([0.8, 0.3, 0.3, 0.3, 0])], {
    anchors: ANCHORS, anchorMask: MASK, numClasses: 1, inputSize: [64, 96],
  });
  assert.equal(heads.map((h) => [h.gridH, h.gridW]), [[2, 3], [4, 6], [8, 12]]);
  assert.is(bestAnchor(0.3 * 96, 0.3 * 64, ANCHORS), 2);
  const t = heads[2];
  // i = floor(0.8 * 12) = 9, j = floor(0.3 * 8) = 2, slot 2
  const k = ((0 * 8 + 2) * 12 + 9) * 3 + 2;
  assert.equal(Array.from(t.positives), [k]);
  [9.6, 2.4, 3.6, 2.4].forEach((v, c) => close(t.boxTarget[k * 4 + c], v, 1e-5));
});

test('collisions: the later box takes the box target, classes accumulate (reference behaviour)', () => {
  const heads = buildTargets([Float32Array.from([
    0.51, 0.51, 0.3, 0.3, 2,
    0.52, 0.53, 0.31, 0.29, 7,
  ])], opts416);
  const t = heads[0];
  assert.is(t.positives.length, 1);
  const k = t.positives[0];
  close(t.boxTarget[k * 4], 0.52 * 13, 1e-5);
  close(t.boxTarget[k * 4 + 2], 0.31 * 13, 1e-5);
  assert.is(t.clsTarget[k * 80 + 2], 1);
  assert.is(t.clsTarget[k * 80 + 7], 1);
});

test('edge rows: cx = 1 clamps to the last cell, empty / invalid boxes skipped, bad class throws', () => {
  const heads = buildTargets([Float32Array.from([
    1, 1, 0.3, 0.3, 0,
    0.5, 0.5, 0, 0.2, 0,
    0.5, 0.5, NaN, 0.2, 0,
  ])], opts416);
  assert.equal(heads.map((h) => h.positives.length), [1, 0, 0]);
  assert.is(heads[0].positives[0], ((0 * 13 + 12) * 13 + 12) * 3 + 0);
  assert.throws(() => buildTargets([Float32Array.from([0.5, 0.5, 0.1, 0.1, 80])], opts416), /class 80/);
  assert.throws(() => buildTargets([Float32Array.from([0.5, 0.5, 0.1, 0.1])], opts416), /multiple of 5/);
});

test('headTargetsToTensors gathers the positives and leaks nothing', () => {
  const before = tf.memory().numTensors;
  const heads = buildTargets([Float32Array.from([0.55, 0.31, 0.3, 0.3, 17])], opts416);
  const out = tf.tidy(() => {
    const tt = headTargetsToTensors(heads[0]);
    return {
      shape: tt.objMask.shape, box: Array.from(tt.boxTarget.dataSync()), cls: tt.clsTarget.shape,
      pos: Array.from(tt.positives.dataSync()), objSum: tt.objMask.sum().dataSync()[0],
      empty: headTargetsToTensors(heads[1]).boxTarget.shape,
    };
  });
  assert.equal(out.shape, [1, 13, 13, 3]);
  assert.equal(out.cls, [1, 80]);
  assert.equal(out.pos, [((4 * 13) + 7) * 3]);
  assert.is(out.objSum, 1);
  assert.equal(out.empty, [0, 4]);
  [7.15, 4.03, 3.9, 3.9].forEach((v, c) => close(out.box[c], v, 1e-5));
  assert.is(tf.memory().numTensors, before);
});

test.run();
