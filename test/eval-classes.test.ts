import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import type { Dataset } from '../src/data/types.ts';
import { evaluateModelOnDataset, type EvalModelConfig } from '../src/eval/evaluate-model.ts';
import type { Predictor } from '../src/predict/detect.ts';

// A fake network with a known output: on every 64x64 image it finds exactly one box, [20, 40, 36, 48]
// (head 2, cell y=5 x=3, anchor [8, 8], tw = ln 2), of class 2 ("bird") with score ~1. So a dataset whose
// ground truth is that box scores AP 1, and every change of the ground truth moves the AP in a known way.
const A = 3;
const C = 3;
const K = 5 + C;
const OFF = -20;
const CONFIG: EvalModelConfig = {
  anchors: [[8, 8], [16, 16], [24, 24], [32, 32], [40, 40], [48, 48], [56, 56], [64, 64], [72, 72]],
  anchorMask: [[6, 7, 8], [3, 4, 5], [0, 1, 2]],
  numClasses: C,
  inputSize: 64,
  classNames: ['cat', 'dog', 'bird'],
  architecture: 'yolov4',
} as EvalModelConfig;
const BOX = { x1: 20, y1: 40, x2: 36, y2: 48 };

const fakeModel: Predictor = {
  predict(x: tf.Tensor) {
    const [b, h, w] = x.shape;
    return [32, 16, 8].map((s, head) => {
      const gh = h / s, gw = w / s;
      const d = new Float32Array(b * gh * gw * A * K);
      for (let i = 0; i < d.length; i++) d[i] = i % K >= 4 ? OFF : 0;
      if (head === 2) {
        const v = [0, 0, Math.log(2), 0, 20, OFF, OFF, 20];
        for (let bi = 0; bi < b; bi++) v.forEach((val, k) => { d[((bi * gh + 5) * gw + 3) * A * K + k] = val; });
      }
      return tf.tensor4d(d, [b, gh, gw, A * K]);
    });
  },
};

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'eval-classes-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function writeImage(file: string): Promise<void> {
  await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 90, g: 120, b: 150 } } }).png().toFile(file);
}

test('skipBad: an unreadable image is skipped with a warning and counts neither as detections nor as ground truth', async () => {
  await withDir(async (dir) => {
    const good = join(dir, 'good.png');
    const bad = join(dir, 'bad.png');
    await writeImage(good);
    writeFileSync(bad, 'this is not a PNG');
    // The bad image holds a "bird" too: were its ground truth kept, the bird recall (and AP) would be 1/2.
    const dataset: Dataset = {
      name: 'tiny', format: 'yolo', split: 'val', classNames: ['cat', 'dog', 'bird'], source: dir,
      items: [
        { id: 'bad', file: bad, width: 64, height: 64, boxes: [{ ...BOX, classId: 2 }] },
        { id: 'good', file: good, width: 64, height: 64, boxes: [{ ...BOX, classId: 2 }] },
      ],
    };
    const warnings: string[] = [];
    const ev = await evaluateModelOnDataset(fakeModel, CONFIG, dataset, { skipBad: true, warn: (m) => warnings.push(m), batchSize: 2 });
    assert.is(warnings.length, 1);
    assert.match(warnings[0], bad);
    assert.is(ev.images, 1);
    assert.is(ev.skipped, 1);
    assert.equal(ev.groundTruth.images.map((im) => im.id), [2]);
    assert.ok(ev.detections.every((d) => d.image_id === 2));
    assert.ok(Math.abs(ev.result.stats.AP - 1) < 1e-9, `AP ${ev.result.stats.AP}`);

    // The same with the dataset's own COCO ground truth: the bad image's annotation leaves too.
    const gt = {
      images: [{ id: 1, width: 64, height: 64 }, { id: 2, width: 64, height: 64 }],
      annotations: [1, 2].map((id) => ({ id, image_id: id, category_id: 3, bbox: [20, 40, 16, 8], area: 128, iscrowd: 0 })),
      categories: [{ id: 1, name: 'cat' }, { id: 2, name: 'dog' }, { id: 3, name: 'bird' }],
    };
    const ev2 = await evaluateModelOnDataset(fakeModel, CONFIG, dataset, { skipBad: true, warn: () => {}, groundTruth: gt });
    assert.equal(ev2.groundTruth.annotations.map((a) => a.image_id), [2]);
    assert.ok(Math.abs(ev2.result.stats.AP - 1) < 1e-9, `AP ${ev2.result.stats.AP}`);

    // Without skipBad the error names the file.
    await evaluateModelOnDataset(fakeModel, CONFIG, dataset).then(
      () => assert.unreachable('an unreadable image must fail the evaluation'),
      (e: Error) => {
        assert.is(e.name, 'EvalImageError');
        assert.match(e.message, bad);
      },
    );
  });
});

test.run();
