import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { decodeOptionsFromConfig, type DecodeOptions } from '../src/predict/decode.ts';
import { detectBatch, type Predictor } from '../src/predict/detect.ts';
import { classColor, detectionsSvg, drawDetections, drawMetrics, textColorOn } from '../src/predict/draw.ts';
import { letterboxImage } from '../src/image/letterbox.ts';
import type { Detection } from '../src/predict/nms.ts';
import { expandImageSources, predictImages, type ImagePrediction, type PredictProgress } from '../src/predict/predict-images.ts';

// A fake network with a known output, so the whole chain (letterbox -> decode -> NMS -> undo) can be checked
// by hand. 64x64 input, heads 2x2 / 4x4 / 8x8, 3 anchors per head, 3 classes.
const C = 3;
const A = 3;
const K = 5 + C;
const ANCHORS: [number, number][] = [[8, 8], [16, 16], [24, 24], [32, 32], [40, 40], [48, 48], [56, 56], [64, 64], [72, 72]];
const MASK = [[6, 7, 8], [3, 4, 5], [0, 1, 2]];
const CONFIG = { anchors: ANCHORS, anchorMask: MASK, numClasses: C, inputSize: 64, classNames: ['cat', 'dog', 'bird'] };
const OFF = -20;

interface Cell { head: number; y: number; x: number; a: number; v: number[] }

/** predict() returns fresh head tensors with the given cells set (the same for every image of the batch). */
function fakeModel(cells: Cell[]): Predictor & { calls: number } {
  return {
    calls: 0,
    predict(x: tf.Tensor) {
      this.calls++;
      const [b, h, w] = x.shape;
      return [32, 16, 8].map((s, head) => {
        const gh = h / s, gw = w / s;
        const d = new Float32Array(b * gh * gw * A * K);
        for (let i = 0; i < d.length; i++) d[i] = i % K >= 4 ? OFF : 0;
        for (const c of cells.filter((c) => c.head === head)) {
          for (let bi = 0; bi < b; bi++) c.v.forEach((v, k) => { d[((bi * gh + c.y) * gw + c.x) * A * K + c.a * K + k] = v; });
        }
        return tf.tensor4d(d, [b, gh, gw, A * K]);
      });
    },
  };
}

// Head 2 (stride 8), cell gy=5 gx=3, anchor 0 = [8, 8]: tx=ty=0 -> centre (3.5*8, 5.5*8) = (28, 44);
// tw = ln 2 -> w = 16, th = 0 -> h = 8: input box [20, 40, 36, 48]. obj ~1, class 2 ("bird") ~1.
// Same cell, anchor 1 ([16, 16]), tw=0 th=ln(1/2): the same box [20, 40, 36, 48] with class 2 at 0.6 -> suppressed.
// Same cell, anchor 2 ([24, 24]) tw=th=ln(1/3): box [24, 40, 32, 48] (8 x 8) class 0 at 0.7 (obj 1 x cls 0.7): kept per class.
const ln = Math.log;
const logit = (p: number) => ln(p / (1 - p));
const CELLS: Cell[] = [
  { head: 2, y: 5, x: 3, a: 0, v: [0, 0, ln(2), 0, 20, OFF, OFF, 20] },
  { head: 2, y: 5, x: 3, a: 1, v: [0, 0, 0, ln(0.5), 20, OFF, OFF, logit(0.6)] },
  { head: 2, y: 5, x: 3, a: 2, v: [0, 0, ln(1 / 3), ln(1 / 3), 20, logit(0.7), OFF, OFF] },
];

/** A w x h PNG filled with one colour. */
const flatPng = (w: number, h: number, rgb = { r: 90, g: 90, b: 90 }) =>
  sharp({ create: { width: w, height: h, channels: 3, background: rgb } }).png().toBuffer();

const closeBox = (got: number[], want: number[], tol = 1e-3) =>
  assert.ok(got.every((v, i) => Math.abs(v - want[i]) <= tol), `box ${got} != ${want}`);

test('detectBatch: decode + NMS + undo-letterbox land on the hand-computed box in original pixels', async () => {
  // A 128 x 64 image letterboxed to 64: scale 0.5, nw 64, nh 32, padY 16.
  // Input box [20, 40, 36, 48] -> original [20/0.5, (40-16)/0.5, 36/0.5, (48-16)/0.5] = [40, 48, 72, 64].
  // The 8x8 class-0 box [24, 40, 32, 48] -> [48, 48, 64, 64].
  const lb = await letterboxImage(await flatPng(128, 64), 64);
  assert.equal([lb.info.scaleX, lb.info.padY], [0.5, 16]);
  const model = fakeModel(CELLS);
  const decodeOpts: DecodeOptions = decodeOptionsFromConfig(CONFIG);
  const before = tf.memory().numTensors;

  const [dets] = await detectBatch(model, [lb], decodeOpts, { confThreshold: 0.25, iouThreshold: 0.45 });
  assert.is(tf.memory().numTensors, before, 'no tensors left behind');
  assert.is(dets.length, 2);
  assert.is(dets[0].classId, 2);
  assert.ok(dets[0].score > 0.9999);
  closeBox(dets[0].box, [40, 48, 72, 64]);
  assert.is(dets[1].classId, 0);
  assert.ok(Math.abs(dets[1].score - 0.7) < 1e-4);
  closeBox(dets[1].box, [48, 48, 64, 64]);

  // Class-agnostic: the class-0 box overlaps the bird by IoU 64/128 = 0.5 > 0.45 -> gone.
  const [agn] = await detectBatch(model, [lb], decodeOpts, { classAgnostic: true });
  assert.equal(agn.map((d) => d.classId), [2]);
  // Raising the threshold above 0.7 leaves only the bird; nothing overlaps by more than IoU 1, so at 1 the
  // duplicate bird (IoU 1 with the first) comes through.
  assert.is((await detectBatch(model, [lb], decodeOpts, { confThreshold: 0.75 }))[0].length, 1);
  const all = (await detectBatch(model, [lb], decodeOpts, { confThreshold: 0.5, iouThreshold: 1 }))[0];
  assert.equal(all.map((d) => d.classId), [2, 0, 2]);
  closeBox(all[2].box, [40, 48, 72, 64]);

  // A tensor input without infos gives input pixels; with infos, original pixels; the tensor is not disposed.
  const x = tf.tensor4d(lb.tensorData, [1, 64, 64, 3]);
  const [inInput] = await detectBatch(model, x, decodeOpts);
  closeBox(inInput[0].box, [20, 40, 36, 48]);
  const [withInfo] = await detectBatch(model, x, decodeOpts, {}, { infos: [lb.info] });
  closeBox(withInfo[0].box, [40, 48, 72, 64]);
  assert.ok(!x.isDisposed);
  x.dispose();
  assert.is(tf.memory().numTensors, before);
});

test('detectBatch with a real (tiny) YOLOv4: batches of mixed images, memory flat, boxes inside each image', async () => {
  const model = buildYolov4({ widthMultiplier: 1 / 16, depthMultiplier: 0.1, numClasses: C });
  const decodeOpts = decodeOptionsFromConfig({ ...CONFIG, inputSize: 64 });
  const imgs = await Promise.all([
    letterboxImage('test/fixtures/images/dog.jpg', 64),
    letterboxImage(await flatPng(50, 120, { r: 200, g: 30, b: 30 }), 64),
    letterboxImage(await flatPng(300, 20), 64, { mode: 'resize' }),
  ]);
  const nms = { confThreshold: 0.05, maxDetections: 50 };
  await detectBatch(model, imgs, decodeOpts, nms); // warm-up (kernels may cache state)
  const before = tf.memory().numTensors;
  const batched = await detectBatch(model, imgs, decodeOpts, nms);
  for (let i = 0; i < 3; i++) await detectBatch(model, imgs, decodeOpts, nms);
  assert.is(tf.memory().numTensors, before, 'numTensors flat over repeated batches');
  assert.is(batched.length, 3);
  batched.forEach((dets, i) => {
    const { origW, origH } = imgs[i].info;
    assert.ok(dets.length > 0 && dets.length <= 50, `image ${i}: ${dets.length} detections`);
    for (const d of dets) {
      assert.ok(d.box[0] >= 0 && d.box[1] >= 0 && d.box[2] <= origW && d.box[3] <= origH, `box ${d.box} inside ${origW}x${origH}`);
      assert.ok(d.score >= 0.05 && d.score <= 1 && Number.isInteger(d.classId) && d.classId < C);
    }
    for (let k = 1; k < dets.length; k++) assert.ok(dets[k - 1].score >= dets[k].score, 'best first');
  });
  // Batch entries are independent: each image alone gives the same top detections.
  for (let i = 0; i < 3; i++) {
    const [alone] = await detectBatch(model, [imgs[i]], decodeOpts, nms);
    alone.slice(0, 5).forEach((d, k) => {
      assert.is(d.classId, batched[i][k].classId);
      assert.ok(Math.abs(d.score - batched[i][k].score) < 1e-4);
      closeBox(d.box, batched[i][k].box, 1e-2);
    });
  }
  assert.is(tf.memory().numTensors, before);
  model.dispose();
});

test('drawing: original size, box edges in the class colour, labels inside the image', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'draw-'));
  try {
    const W = 160, H = 120;
    const src = await flatPng(W, H);
    const dets: Detection[] = [
      { box: [20, 40, 100, 100], score: 0.87, classId: 2 },
      { box: [130.4, 0, 160, 30], score: 0.5, classId: 1 }, // top-right corner: label must move inside
    ];
    const out = join(dir, 'out.png');
    await drawDetections(src, dets, out, { classNames: CONFIG.classNames, lineWidth: 4 });
    const meta = await sharp(out).metadata();
    assert.equal([meta.width, meta.height, meta.format], [W, H, 'png']);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => Array.from(data.subarray((y * W + x) * info.channels, (y * W + x) * info.channels + 3));
    const bird = classColor(2);
    // The stroke is inside the box: columns 20..23 on the left edge, rows 96..99 at the bottom.
    for (const y of [60, 70, 80]) {
      assert.equal(at(20, y), bird, `left edge at y=${y}`);
      assert.equal(at(23, y), bird);
      assert.equal(at(19, y), [90, 90, 90], 'outside the box untouched');
      assert.equal(at(24, y), [90, 90, 90], 'inside the box untouched');
      assert.equal(at(99, y), bird, 'right edge');
    }
    assert.equal(at(60, 98), bird, 'bottom edge');
    // Label of the first box sits above it (rows 40 - labelH .. 39), filled with the class colour at its left end.
    const { labelH } = drawMetrics(W, H, { lineWidth: 4 });
    assert.equal(at(21, 40 - labelH + 1), bird, 'label background');
    // The corner box's label is inside the image (x + width <= W, y >= 0).
    const svg = detectionsSvg(W, H, dets, { classNames: CONFIG.classNames });
    const rects = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="#/g)].map((m) => m.slice(1).map(Number));
    assert.is(rects.length, 2, 'two label backgrounds');
    for (const [x, y, w, h] of rects) assert.ok(x >= 0 && y >= 0 && x + w <= W && y + h <= H, `label ${[x, y, w, h]} inside`);
    assert.match(svg, '>bird 0.87<');
    assert.match(svg, '>dog 0.50<');
    // Text contrasts with its background; names are XML-escaped.
    assert.equal(textColorOn([255, 255, 0]), [0, 0, 0]);
    assert.equal(textColorOn([0, 0, 160]), [255, 255, 255]);
    assert.match(detectionsSvg(W, H, [dets[0]], { classNames: ['a', 'b', '<x&y>'] }), '&lt;x&amp;y&gt;');

    // JPEG output keeps the size; the drawn edge is still close to the colour after compression.
    const jpg = join(dir, 'dog.jpg');
    await drawDetections('test/fixtures/images/dog.jpg', [{ box: [100, 100, 400, 500], score: 0.9, classId: 16 }], jpg, { lineWidth: 6 });
    const jm = await sharp(jpg).metadata();
    assert.equal([jm.width, jm.height, jm.format], [768, 576, 'jpeg']);
    const jr = await sharp(jpg).raw().toBuffer();
    const c = classColor(16);
    const p = Array.from(jr.subarray((300 * 768 + 102) * 3, (300 * 768 + 102) * 3 + 3));
    assert.ok(p.every((v, i) => Math.abs(v - c[i]) < 40), `jpeg edge ${p} ~ ${c}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('predictImages: files, folders and globs; annotated images and JSON; progress; clear errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pred-'));
  try {
    const inDir = join(dir, 'in');
    mkdirSync(join(inDir, 'sub'), { recursive: true });
    copyFileSync('test/fixtures/images/dog.jpg', join(inDir, 'dog.jpg'));
    writeFileSync(join(inDir, 'sub', 'wide.PNG'), await flatPng(128, 64));
    writeFileSync(join(inDir, 'sub', 'dog.jpg'), await sharp({ create: { width: 64, height: 64, channels: 3, background: '#fff' } }).jpeg().toBuffer());
    writeFileSync(join(inDir, 'notes.txt'), 'not an image');

    assert.equal(await expandImageSources([inDir]), [join(inDir, 'dog.jpg'), join(inDir, 'sub/dog.jpg'), join(inDir, 'sub/wide.PNG')]);
    assert.equal(await expandImageSources([join(inDir, 'sub/*.png'), join(inDir, 'sub/wide.PNG')]), [join(inDir, 'sub/wide.PNG')]);

    const outDir = join(dir, 'out');
    const progress: PredictProgress[] = [];
    const model = fakeModel(CELLS);
    const res = await predictImages(model, CONFIG, [inDir], outDir, { batch: 2, onProgress: (p) => progress.push(p) });
    assert.is(model.calls, 2, 'two batches for three images');
    assert.equal(progress.map((p) => [p.done, p.total]), [[1, 3], [2, 3], [3, 3]]);
    assert.ok(progress.every((p) => p.imagesPerSecond > 0));

    const json = JSON.parse(readFileSync(join(outDir, 'predictions.json'), 'utf8')) as ImagePrediction[];
    assert.equal(json, res);
    assert.equal(json.map((r) => r.image), [join(inDir, 'dog.jpg'), join(inDir, 'sub/dog.jpg'), join(inDir, 'sub/wide.PNG')]);
    // The wide image is the 128 x 64 case worked out above.
    const wide = json[2];
    assert.equal([wide.width, wide.height], [128, 64]);
    assert.equal(wide.detections.map((d) => [d.class, d.classId]), [['bird', 2], ['cat', 0]]);
    closeBox(wide.detections[0].box, [40, 48, 72, 64], 0.01);
    assert.ok(Math.abs(wide.detections[1].score - 0.7) < 1e-4);
    // Same base names get distinct outputs; each output has its input's size.
    assert.equal(json.map((r) => r.output), ['dog.jpg', 'dog_1.jpg', 'wide.png'].map((f) => join(outDir, f)));
    for (const r of json) {
      const m = await sharp(r.output!).metadata();
      assert.equal([m.width, m.height], [r.width, r.height]);
    }

    // Errors name the file.
    await predictImages(model, CONFIG, [join(dir, 'missing.jpg')], outDir).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, `image not found: "${join(dir, 'missing.jpg')}"`));
    await predictImages(model, CONFIG, [join(dir, 'nothing/*.jpg')], outDir).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, 'no images match'));
    const bad = join(inDir, 'bad.jpg');
    writeFileSync(bad, 'garbage');
    await predictImages(model, CONFIG, [bad, join(inDir, 'dog.jpg')], outDir).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, `cannot read image "${bad}"`));
    // ... or are skipped on request.
    const skipped: string[] = [];
    const out2 = join(dir, 'out2');
    const res2 = await predictImages(model, CONFIG, [bad, join(inDir, 'sub/wide.PNG')], out2, { onBadImage: 'skip', onError: (f) => skipped.push(f), saveImages: false });
    assert.equal(skipped, [bad]);
    assert.equal(res2.map((r) => r.image), [join(inDir, 'sub/wide.PNG')]);
    assert.ok(existsSync(join(out2, 'predictions.json')) && !existsSync(join(out2, 'wide.png')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
