/**
 * Input checks for the COCO evaluation. Every error is a CocoInputError whose message
 * names the offending entry (`annotations[12]`, `detections[3]`) and field.
 *
 * Ground-truth annotations whose image_id or category_id is not listed in `images` /
 * `categories` are not errors: pycocotools silently leaves them out of the evaluation,
 * and so does evaluateCoco.
 */
import {
  CocoInputError,
  type CocoDetection,
  type CocoGroundTruth,
} from './coco-types.ts';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`;
  if (typeof v === 'number') return String(v);
  return typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Returns an error text for a malformed [x, y, w, h], or null when it is fine. */
function bboxProblem(b: unknown): string | null {
  if (!Array.isArray(b)) return `bbox must be an array [x, y, width, height], got ${describe(b)}`;
  if (b.length !== 4) return `bbox must have 4 numbers [x, y, width, height], got ${b.length}`;
  for (let j = 0; j < 4; j++) {
    if (!isFiniteNumber(b[j])) return `bbox[${j}] must be a finite number, got ${describe(b[j])}`;
  }
  if ((b[2] as number) < 0 || (b[3] as number) < 0) {
    return `bbox width/height must be >= 0, got [${b.join(', ')}]`;
  }
  return null;
}

/** Checks the fields of a COCO instances JSON that the evaluation reads. */
export function validateGroundTruth(gt: unknown): asserts gt is CocoGroundTruth {
  if (!isObject(gt)) throw new CocoInputError(`ground truth: expected a COCO instances object, got ${describe(gt)}`);
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(gt[key])) {
      throw new CocoInputError(`ground truth: missing or non-array field "${key}" (got ${describe(gt[key])})`);
    }
  }
  const images = gt.images as unknown[];
  for (let i = 0; i < images.length; i++) {
    const im = images[i];
    if (!isObject(im)) throw new CocoInputError(`ground truth images[${i}]: expected an object, got ${describe(im)}`);
    if (!isFiniteNumber(im.id)) throw new CocoInputError(`ground truth images[${i}]: missing or non-numeric "id" (got ${describe(im.id)})`);
  }
  const cats = gt.categories as unknown[];
  for (let i = 0; i < cats.length; i++) {
    const c = cats[i];
    if (!isObject(c)) throw new CocoInputError(`ground truth categories[${i}]: expected an object, got ${describe(c)}`);
    if (!isFiniteNumber(c.id)) throw new CocoInputError(`ground truth categories[${i}]: missing or non-numeric "id" (got ${describe(c.id)})`);
    if (typeof c.name !== 'string') throw new CocoInputError(`ground truth categories[${i}] (id ${c.id}): missing or non-string "name" (got ${describe(c.name)})`);
  }
  const anns = gt.annotations as unknown[];
  // pycocotools indexes annotations by id: with one id used twice it silently scores one of them twice.
  const firstAt = new Map<number, number>();
  for (let i = 0; i < anns.length; i++) {
    const a = anns[i];
    const where = `ground truth annotations[${i}]`;
    if (!isObject(a)) throw new CocoInputError(`${where}: expected an object, got ${describe(a)}`);
    for (const f of ['id', 'image_id', 'category_id', 'area'] as const) {
      if (!isFiniteNumber(a[f])) throw new CocoInputError(`${where}: missing or non-numeric "${f}" (got ${describe(a[f])})`);
    }
    const seenAt = firstAt.get(a.id as number);
    if (seenAt !== undefined) {
      throw new CocoInputError(`${where}: annotation id ${a.id} appears twice: annotations[${seenAt}] and annotations[${i}]`);
    }
    firstAt.set(a.id as number, i);
    const p = bboxProblem(a.bbox);
    if (p) throw new CocoInputError(`${where} (id ${a.id}): ${p}`);
    for (const f of ['iscrowd', 'ignore'] as const) {
      const v = a[f];
      if (v !== undefined && typeof v !== 'boolean' && !isFiniteNumber(v)) {
        throw new CocoInputError(`${where} (id ${a.id}): "${f}" must be 0/1 or a boolean, got ${describe(v)}`);
      }
    }
  }
}

/**
 * Checks a COCO results list against the ground truth: every entry must be an object with a
 * known image_id and category_id, a bbox of 4 finite numbers with width/height >= 0 and a
 * finite numeric score. (pycocotools asserts on unknown image ids; it does not check the rest.)
 */
export function validateDetections(gt: CocoGroundTruth, dets: unknown): asserts dets is CocoDetection[] {
  if (!Array.isArray(dets)) {
    throw new CocoInputError(`detections: expected an array of {image_id, category_id, bbox, score}, got ${describe(dets)}`);
  }
  const imgIds = new Set<number>();
  for (const im of gt.images) imgIds.add(im.id);
  const catIds = new Set<number>();
  for (const c of gt.categories) catIds.add(c.id);
  for (let i = 0; i < dets.length; i++) {
    const d: unknown = dets[i];
    const where = `detections[${i}]`;
    if (!isObject(d)) throw new CocoInputError(`${where}: expected an object {image_id, category_id, bbox, score}, got ${describe(d)}`);
    if (!isFiniteNumber(d.image_id)) throw new CocoInputError(`${where}: missing or non-numeric "image_id" (got ${describe(d.image_id)})`);
    if (!imgIds.has(d.image_id)) throw new CocoInputError(`${where}: unknown image_id ${d.image_id} (not in the ground-truth images)`);
    if (!isFiniteNumber(d.category_id)) throw new CocoInputError(`${where}: missing or non-numeric "category_id" (got ${describe(d.category_id)})`);
    if (!catIds.has(d.category_id)) throw new CocoInputError(`${where}: unknown category_id ${d.category_id} (not in the ground-truth categories)`);
    const p = bboxProblem(d.bbox);
    if (p) throw new CocoInputError(`${where}: malformed bbox: ${p}`);
    if (d.score === undefined) throw new CocoInputError(`${where}: missing "score"`);
    if (!isFiniteNumber(d.score)) throw new CocoInputError(`${where}: "score" must be a finite number, got ${describe(d.score)}`);
  }
}
