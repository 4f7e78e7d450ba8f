import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { importDarknet, OPENCV_BN_EPSILON } from '../src/io/darknet/index.ts';
import { opencvResizeImage } from '../src/image/letterbox.ts';
import { decodeOptionsFromConfig } from '../src/predict/decode.ts';
import { detectBatch } from '../src/predict/detect.ts';

// Yolo-Fastest 1.1 (COCO weights) against OpenCV 4.6's DNN module (test/fixtures/darknet/LICENSES.md).
const FASTEST = 'test/fixtures/darknet/yolo-fastest-1.1';
const REF = `${FASTEST}/opencv-reference`;
const f32 = (file: string) => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

interface RefHead { layer: string; shape: number[]; file: string; sum: number }
interface RefDet { class: string; class_index: number; score: number; bbox_xywh: number[] }
const raw = JSON.parse(readFileSync(`${REF}/dog_raw.json`, 'utf8')) as { heads: RefHead[] };
const dets = JSON.parse(readFileSync(`${REF}/darknet_images_dets.json`, 'utf8')) as {
  input_size: number[]; conf: number; nms_iou: number; images: Record<string, { width: number; height: number; detections: RefDet[] }>;
};

/** Max |ours - OpenCV| per head on dog_input.png (the exact 320x320 input OpenCV saw: RGB / 255). */
async function headDiffs(bnEpsilon?: number): Promise<number[]> {
  const { model } = await importDarknet(`${FASTEST}/yolo-fastest-1.1.cfg`, `${FASTEST}/yolo-fastest-1.1.weights`, { bnEpsilon });
  const png = await sharp(`${REF}/dog_input.png`).removeAlpha().raw().toBuffer();
  const x = tf.tidy(() => tf.div(tf.tensor4d(new Uint8Array(png), [1, 320, 320, 3], 'int32').toFloat(), 255));
  const outs = model.predict(x) as tf.Tensor[];
  const diffs = raw.heads.map((h) => {
    const out = outs.find((o) => o.shape[1] === h.shape[2] && o.shape[2] === h.shape[3])!;
    const nchw = tf.tidy(() => out.transpose([0, 3, 1, 2]).dataSync() as Float32Array);
    const want = f32(`${REF}/${h.file}`);
    assert.is(nchw.length, want.length);
    let m = 0;
    for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(nchw[i] - want[i]));
    return m;
  });
  tf.dispose([x, ...outs]);
  model.dispose();
  return diffs;
}

test('raw heads on dog_input.png equal OpenCV\'s conv_120 / conv_129 within 1e-3 (OpenCV\'s BN epsilon 1e-6)', async () => {
  const d = await headDiffs(OPENCV_BN_EPSILON);
  assert.equal(raw.heads.map((h) => h.layer), ['conv_120', 'conv_129']);
  d.forEach((m, i) => assert.ok(m < 1e-3, `${raw.heads[i].layer}: max |diff| ${m}`));
  console.log(`  OpenCV eps 1e-6: max |diff| conv_120 ${d[0].toExponential(2)}, conv_129 ${d[1].toExponential(2)}`);
});

test('with darknet\'s own BN epsilon (1e-5, the default) the heads stay within 0.05 of OpenCV\'s', async () => {
  const d = await headDiffs();
  d.forEach((m, i) => assert.ok(m < 0.05, `${raw.heads[i].layer}: max |diff| ${m}`));
  console.log(`  darknet eps 1e-5: max |diff| conv_120 ${d[0].toExponential(2)}, conv_129 ${d[1].toExponential(2)}`);
});

test('detections on the six darknet images match OpenCV\'s (plain INTER_LINEAR resize, conf 0.25, per-class multi-label NMS 0.45)', async () => {
  // The reference keeps, per class, every box whose obj * cls clears 0.25 (multi-label: dog.jpg's dog and
  // cat boxes overlap with IoU ~0.9, person.jpg's dog box is also a sheep), then NMS per class.
  const { model, config } = await importDarknet(`${FASTEST}/yolo-fastest-1.1.cfg`, `${FASTEST}/yolo-fastest-1.1.weights`, { namesFile: `${FASTEST}/coco.names` });
  const [size] = dets.input_size;
  assert.is(size, config.inputSize);
  let maxBox = 0;
  let maxScore = 0;
  let n = 0;
  for (const [name, want] of Object.entries(dets.images)) {
    const image = await opencvResizeImage(`test/fixtures/images/${name}`, size);
    assert.equal([image.info.origW, image.info.origH], [want.width, want.height]);
    const [got] = await detectBatch(model, [image], decodeOptionsFromConfig(config, size, config.scaleXY), {
      confThreshold: dets.conf, iouThreshold: dets.nms_iou, multiLabel: true, classAgnostic: false,
    });
    assert.equal(got.map((d) => config.classNames[d.classId]), want.detections.map((d) => d.class), name);
    want.detections.forEach((w, k) => {
      const g = got[k];
      const xywh = [g.box[0], g.box[1], g.box[2] - g.box[0], g.box[3] - g.box[1]];
      const box = Math.max(...xywh.map((v, i) => Math.abs(v - w.bbox_xywh[i])));
      const score = Math.abs(g.score - w.score);
      assert.ok(box <= 2, `${name} ${w.class} ${w.score}: box [${xywh.map((v) => v.toFixed(1))}] vs [${w.bbox_xywh}]`);
      assert.ok(score <= 0.01, `${name} ${w.class}: score ${g.score} vs ${w.score}`);
      maxBox = Math.max(maxBox, box);
      maxScore = Math.max(maxScore, score);
      n++;
    });
  }
  assert.is(n, 25);
  console.log(`  ${n} detections: boxes within ${maxBox.toFixed(3)} px, scores within ${maxScore.toFixed(5)}`);
  model.dispose();
});

test.run();
