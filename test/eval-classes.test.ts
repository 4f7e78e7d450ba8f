import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { loadDatasetConfig, openDataset, resolveDatasetConfig } from '../src/data/dataset-config.ts';
import type { Dataset } from '../src/data/types.ts';
import { loadGroundTruth } from '../src/eval/coco-io.ts';
import type { CocoGroundTruth } from '../src/eval/coco-types.ts';
import { evaluateModelOnDataset, type EvalModelConfig } from '../src/eval/evaluate-model.ts';
import { importDarknet } from '../src/io/darknet/index.ts';
import { DEMO_DATA, DEMO_MODEL } from '../src/jobs/demo.ts';
import type { Predictor } from '../src/predict/detect.ts';
import { testIf } from './_needs.ts';

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

test('no class in common: a clear error naming both class lists', async () => {
  await withDir(async (dir) => {
    const good = join(dir, 'good.png');
    await writeImage(good);
    const dataset: Dataset = {
      name: 'tiny', format: 'yolo', split: 'val', classNames: ['apple', 'pear'], source: dir,
      items: [{ id: 'good', file: good, width: 64, height: 64, boxes: [{ ...BOX, classId: 1 }] }],
    };
    await evaluateModelOnDataset(fakeModel, CONFIG, dataset, { warn: () => {} }).then(
      () => assert.unreachable('must refuse'),
      (e: Error) => {
        assert.is(e.name, 'ClassMappingError');
        assert.match(e.message, 'no class of the model');
        assert.match(e.message, '"bird"');
        assert.match(e.message, '"pear"');
      },
    );
  });
});

test('a dataset with a class the model lacks: its objects count as missed, and the note says so', async () => {
  await withDir(async (dir) => {
    const good = join(dir, 'good.png');
    await writeImage(good);
    // Dataset order differs from the model's too: "bird" is class 0 here, class 2 in the model.
    const dataset: Dataset = {
      name: 'tiny', format: 'yolo', split: 'val', classNames: ['bird', 'fish'], source: dir,
      items: [{ id: 'good', file: good, width: 64, height: 64, boxes: [{ ...BOX, classId: 0 }, { x1: 2, y1: 2, x2: 12, y2: 12, classId: 1 }] }],
    };
    const notes: string[] = [];
    const ev = await evaluateModelOnDataset(fakeModel, CONFIG, dataset, { warn: (m) => notes.push(m) });
    assert.is(notes.length, 1);
    assert.match(notes[0], 'not in the model: "fish"');
    assert.match(notes[0], 'not in the dataset: "cat", "dog"');
    assert.match(notes[0], 'count as missed');
    assert.equal(ev.detections.map((d) => d.category_id), [1], 'the bird is written with the dataset\'s category (1), not the model\'s index');
    // bird: AP 1; fish: AP 0 (no detection) -> mean 0.5.
    assert.equal(ev.result.perClass.map((c) => [c.name, Math.round(c.AP * 1e9) / 1e9]), [['bird', 1], ['fish', 0]]);
    assert.ok(Math.abs(ev.result.stats.AP - 0.5) < 1e-12, `AP ${ev.result.stats.AP}`);
  });
});

// The shipped Yolo-Fastest (darknet spellings: "motorbike", "tvmonitor", ...) on tinycoco val (COCO spellings).
const haveRealModel = [DEMO_MODEL.cfg, DEMO_MODEL.weights, DEMO_MODEL.names, DEMO_DATA].every((f) => existsSync(f));

/** tinycoco val with its categories renumbered by `newId` and only those `keep` accepts; same images. */
async function rewrittenVal(dir: string, keep: (name: string) => boolean, newId: (id: number) => number) {
  const base = await loadDatasetConfig(DEMO_DATA);
  const src = base.val as { annotations: string; images: string };
  const gt = JSON.parse(readFileSync(src.annotations, 'utf8')) as CocoGroundTruth;
  const kept = new Set(gt.categories.filter((c) => keep(c.name)).map((c) => c.id));
  const json = {
    ...gt,
    categories: gt.categories.filter((c) => kept.has(c.id)).map((c) => ({ ...c, id: newId(c.id) })).reverse(),
    annotations: gt.annotations.filter((a) => kept.has(a.category_id)).map((a) => ({ ...a, category_id: newId(a.category_id) })),
  };
  const annotations = join(dir, 'instances_val.json');
  writeFileSync(annotations, JSON.stringify(json));
  const config = await resolveDatasetConfig({ name: 'rewritten', format: 'coco', train: { annotations, images: src.images }, val: { annotations, images: src.images } }, join(dir, 'data.json'), dir);
  return { dataset: await openDataset(config, 'val'), groundTruth: await loadGroundTruth(annotations) };
}

{ // needs the demo model and data (downloaded): without them reported as skipped
  testIf(haveRealModel, 'real model: a dataset with the classes in another order gives the same AP; a subset gives its classes\' AP and says what is missing', async () => {
    const { model, config } = await importDarknet(DEMO_MODEL.cfg, DEMO_MODEL.weights, { namesFile: DEMO_MODEL.names });
    try {
      const opts = { inputSize: 320, batchSize: 6 };
      const dc = await loadDatasetConfig(DEMO_DATA);
      const val = await openDataset(dc, 'val');
      const notes: string[] = [];
      const original = await evaluateModelOnDataset(model, config, val, { ...opts, groundTruth: await loadGroundTruth((dc.val as { annotations: string }).annotations), warn: (m) => notes.push(m) });
      assert.equal(notes, [], 'same classes in the same order (aliased spellings): nothing to say');
      assert.ok(original.result.stats.AP > 0.01, `AP ${original.result.stats.AP}`);

      await withDir(async (dir) => {
        // (a) Same classes, category ids reversed (so the dataset's class order is the model's reversed).
        const permuted = await rewrittenVal(dir, () => true, (id) => 1000 - id);
        assert.is(permuted.dataset.classNames[0], 'toothbrush');
        const pNotes: string[] = [];
        const p = await evaluateModelOnDataset(model, config, permuted.dataset, { ...opts, groundTruth: permuted.groundTruth, warn: (m) => pNotes.push(m) });
        assert.ok(Math.abs(p.result.stats.AP - original.result.stats.AP) < 1e-12, `AP ${p.result.stats.AP} vs ${original.result.stats.AP}`);
        assert.ok(Math.abs(p.result.stats.AP50 - original.result.stats.AP50) < 1e-12, `AP50 ${p.result.stats.AP50} vs ${original.result.stats.AP50}`);
        assert.is(pNotes.length, 1);
        assert.match(pNotes[0], 'in another order');

        // (b) A subset (with two darknet/COCO spelling pairs): each class keeps its AP from the full run.
        const subsetNames = ['person', 'car', 'motorcycle', 'tv', 'dining table', 'cup'];
        const subset = await rewrittenVal(dir, (n) => subsetNames.includes(n), (id) => id + 500);
        const sNotes: string[] = [];
        const s = await evaluateModelOnDataset(model, config, subset.dataset, { ...opts, groundTruth: subset.groundTruth, warn: (m) => sNotes.push(m) });
        assert.is(sNotes.length, 1);
        assert.match(sNotes[0], 'not in the dataset: "bicycle"');
        assert.match(sNotes[0], '(74 in all)');
        const fullPerClass = original.result.perClass.filter((c) => subsetNames.includes(c.name) && c.AP >= 0);
        assert.ok(fullPerClass.length >= 2, `classes with ground truth: ${fullPerClass.map((c) => c.name)}`);
        const expected = fullPerClass.reduce((a, c) => a + c.AP, 0) / fullPerClass.length;
        assert.ok(Math.abs(s.result.stats.AP - expected) < 1e-12, `subset AP ${s.result.stats.AP} vs mean of its classes' AP ${expected}`);
        assert.ok(s.detections.every((d) => d.category_id > 500), 'only the subset\'s categories are written');
      });
    } finally {
      model.dispose();
    }
  }, `${DEMO_MODEL.weights} or ${DEMO_DATA} is absent`);
}

test.run();
