// The detections of one image (predict/detections.ts): JSON, COCO results and drawing from one type.
import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import { Detections } from '../src/predict/detections.ts';

const dets = Detections.create(
  [
    { box: [10.123456, 20.5, 50.987654, 60.25], score: 0.9876543, classId: 1 },
    { box: [0, 0, 8, 4], score: 0.3, classId: 7 },
  ],
  { width: 64, height: 80 },
  ['cat', 'dog'],
);

test('toJSON (and JSON.stringify): class names, scores to 5 decimals, boxes to 2; unknown ids named classN', () => {
  const want = [
    { class: 'dog', classId: 1, score: 0.98765, box: [10.12, 20.5, 50.99, 60.25] },
    { class: 'class7', classId: 7, score: 0.3, box: [0, 0, 8, 4] },
  ];
  assert.equal(dets.toJSON(), want);
  assert.equal(JSON.parse(JSON.stringify({ detections: dets })).detections, want);
});

test('toCoco: [x, y, w, h] boxes (3 decimals), category ids mapped, a filter applied', () => {
  assert.equal(dets.toCoco(42, (c) => c + 100), [
    { image_id: 42, category_id: 101, bbox: [10.123, 20.5, 40.864, 39.75], score: 0.98765 },
    { image_id: 42, category_id: 107, bbox: [0, 0, 8, 4], score: 0.3 },
  ]);
  assert.is(dets.toCoco(1, (c) => c, (d) => d.classId < 2).length, 1);
});

test('still an array of detections: index, length, and map/filter give plain arrays', () => {
  assert.is(dets.length, 2);
  assert.is(dets[0].classId, 1);
  const scores = dets.map((d) => d.score);
  assert.ok(Array.isArray(scores) && !(scores instanceof Detections));
});

test('render draws the boxes onto the image at its size', async () => {
  const gray = { data: new Uint8Array(64 * 80 * 3).fill(128), width: 64, height: 80, channels: 3 as const };
  const { data, info } = await (await dets.render(gray)).raw().toBuffer({ resolveWithObject: true });
  assert.equal([info.width, info.height, info.channels], [64, 80, 3]);
  // A pixel on the first box's left edge changed; one far from both boxes did not.
  const at = (x: number, y: number) => Array.from(data.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3));
  assert.not.equal(at(10, 40), [128, 128, 128]);
  assert.equal(at(60, 75), [128, 128, 128]);
});

test.run();
