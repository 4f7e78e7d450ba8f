/** Bad input to the COCO evaluation: clear CocoInputErrors naming the entry and the field. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CocoInputError,
  evaluateCoco,
  loadCocoJson,
  loadDetections,
  loadGroundTruth,
  validateDetections,
  validateGroundTruth,
  type CocoGroundTruth,
} from '../src/eval/coco.ts';

const dir = fileURLToPath(new URL('./fixtures/coco-eval/', import.meta.url));

const gt: CocoGroundTruth = {
  images: [{ id: 1 }, { id: 2 }],
  categories: [{ id: 1, name: 'person' }, { id: 3, name: 'car' }],
  annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 }],
};
const good = { image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], score: 0.5 };

function throwsInput(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, CocoInputError);
    const msg = (e as Error).message;
    for (const p of parts) {
      assert.ok(typeof p === 'string' ? msg.includes(p) : p.test(msg), `message "${msg}" lacks ${p}`);
    }
    return;
  }
  assert.unreachable('expected a CocoInputError');
}

async function rejectsInput(p: Promise<unknown>, ...parts: string[]): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, CocoInputError);
    for (const s of parts) assert.ok((e as Error).message.includes(s), `message "${(e as Error).message}" lacks ${s}`);
    return;
  }
  assert.unreachable('expected a CocoInputError');
}

test('unknown image id names the entry index', () => {
  const dets = [good, good, { ...good, image_id: 99 }];
  throwsInput(() => validateDetections(gt, dets), 'detections[2]', 'unknown image_id 99');
  throwsInput(() => evaluateCoco(gt, dets), 'detections[2]', 'image_id');
});

test('unknown category id names the entry index', () => {
  throwsInput(() => evaluateCoco(gt, [good, { ...good, category_id: 2 }]), 'detections[1]', 'unknown category_id 2');
});

test('bbox with 3 numbers', () => {
  throwsInput(() => evaluateCoco(gt, [{ ...good, bbox: [0, 0, 10] }]), 'detections[0]', 'bbox', '4 numbers');
});

test('other malformed boxes: non-array, NaN, string, negative width', () => {
  throwsInput(() => validateDetections(gt, [good, { ...good, bbox: 'x' }]), 'detections[1]', 'bbox');
  throwsInput(() => validateDetections(gt, [{ ...good, bbox: [0, 0, NaN, 1] }]), 'detections[0]', 'bbox[2]');
  throwsInput(() => validateDetections(gt, [{ ...good, bbox: [0, '1', 3, 1] }]), 'detections[0]', 'bbox[1]');
  throwsInput(() => validateDetections(gt, [{ ...good, bbox: [0, 0, -3, 1] }]), 'detections[0]', '>= 0');
});

test('missing or non-numeric score', () => {
  const { score: _drop, ...noScore } = good;
  throwsInput(() => evaluateCoco(gt, [good, good, good, noScore as typeof good]), 'detections[3]', 'missing "score"');
  throwsInput(() => validateDetections(gt, [{ ...good, score: '0.5' }]), 'detections[0]', 'score');
  throwsInput(() => validateDetections(gt, [{ ...good, score: Infinity }]), 'detections[0]', 'score');
});

test('non-object entries and non-array input', () => {
  throwsInput(() => validateDetections(gt, [good, null]), 'detections[1]', 'expected an object');
  throwsInput(() => validateDetections(gt, [[1, 1, [0, 0, 1, 1], 0.5]]), 'detections[0]', 'expected an object');
  throwsInput(() => validateDetections(gt, { annotations: [] }), 'expected an array');
});

test('ground truth: missing fields', () => {
  throwsInput(() => validateGroundTruth(null), 'ground truth');
  throwsInput(() => validateGroundTruth({ images: [], annotations: [] }), '"categories"');
  throwsInput(() => validateGroundTruth({ ...gt, images: [{ file_name: 'a.jpg' }] }), 'images[0]', '"id"');
  throwsInput(() => validateGroundTruth({ ...gt, categories: [{ id: 1 }] }), 'categories[0]', '"name"');
  const ann = gt.annotations[0];
  const { area: _a, ...noArea } = ann;
  throwsInput(() => validateGroundTruth({ ...gt, annotations: [ann, noArea] }), 'annotations[1]', '"area"');
  throwsInput(() => validateGroundTruth({ ...gt, annotations: [{ ...ann, bbox: [1, 2] }] }), 'annotations[0]', 'bbox');
  throwsInput(() => validateGroundTruth({ ...gt, annotations: [{ ...ann, image_id: '1' }] }), 'annotations[0]', '"image_id"');
  throwsInput(() => validateGroundTruth({ ...gt, annotations: [{ ...ann, iscrowd: 'no' }] }), 'annotations[0]', 'iscrowd');
  throwsInput(() => evaluateCoco({ ...gt, annotations: [{ ...ann, category_id: undefined }] } as unknown as CocoGroundTruth, []), '"category_id"');
});

test('ground truth: an annotation id used twice is refused, naming the id and both positions', () => {
  const ann = gt.annotations[0];
  const other = { ...ann, id: 2, image_id: 2, bbox: [5, 5, 10, 10] };
  // Unique ids are fine; the same id at positions 0 and 2 is not (pycocotools would score annotations[2] twice).
  validateGroundTruth({ ...gt, annotations: [ann, other] });
  throwsInput(() => validateGroundTruth({ ...gt, annotations: [ann, other, { ...other, id: 1 }] }), 'annotations[2]', 'annotation id 1 appears twice', 'annotations[0] and annotations[2]');
  throwsInput(() => evaluateCoco({ ...gt, annotations: [ann, { ...ann }] }, [good]), 'annotation id 1 appears twice');
});

test('iscrowd is optional (defaults to 0)', () => {
  const { iscrowd: _c, ...ann } = gt.annotations[0];
  const r = evaluateCoco({ ...gt, annotations: [ann] }, [good]);
  assert.ok(Math.abs(r.stats.AP - 1) < 1e-12);
});

test('bad options are RangeErrors', () => {
  assert.throws(() => evaluateCoco(gt, [good], { maxDets: [] }), RangeError);
  assert.throws(() => evaluateCoco(gt, [good], { maxDets: [1.5] }), RangeError);
  assert.throws(() => evaluateCoco(gt, [good], { iouThrs: [] }), RangeError);
});

test('loadCocoJson: missing file and invalid JSON name the file', async () => {
  await rejectsInput(loadCocoJson(dir + 'does-not-exist.json'), 'does-not-exist.json', 'not found');
  const tmp = mkdtempSync(join(tmpdir(), 'coco-input-'));
  try {
    const bad = join(tmp, 'broken.json');
    writeFileSync(bad, '{"images": [1, 2,\n');
    await rejectsInput(loadCocoJson(bad), 'broken.json', 'invalid JSON');
    const notCoco = join(tmp, 'list.json');
    writeFileSync(notCoco, '[1, 2]');
    await rejectsInput(loadGroundTruth(notCoco), 'list.json', 'ground truth');
    await rejectsInput(loadDetections(notCoco, gt), 'list.json', 'detections[0]');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('loadDetections accepts a plain list and a {annotations: [...]} object', async () => {
  const fixGt = await loadGroundTruth(dir + 'sampled_gts_bbox_area.json');
  const dets = await loadDetections(dir + 'sampled_bbox_results.json', fixGt);
  assert.is(dets.length, 734);
  const tmp = mkdtempSync(join(tmpdir(), 'coco-input-'));
  try {
    const p = join(tmp, 'results.json');
    writeFileSync(p, JSON.stringify(dets));
    assert.equal(await loadDetections(p, fixGt), dets);
    // detection image not in this GT -> the file name is in the message
    await rejectsInput(loadDetections(p, gt), 'results.json', 'unknown image_id');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
