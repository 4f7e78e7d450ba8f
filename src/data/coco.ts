/**
 * COCO "instances" JSON reader: `{images, annotations, categories}` plus an image folder.
 * Boxes `[x, y, w, h]` become corners in the original pixels; `iscrowd` objects go to `ignored`;
 * `category_id` becomes a contiguous class index (see `coco-categories.ts`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkBox, EmptyBoxError } from './box-check.ts';
import { cocoCategoryMap } from './coco-categories.ts';
import { DatasetError } from './errors.ts';
import { checkImages } from './image-check.ts';
import { DroppedBoxes, reportBad } from './skip-bad.ts';
import type { Box, DatasetItem, ReadOptions } from './types.ts';

export interface CocoSource {
  /** The `instances_*.json` file. */
  annotations: string;
  /** The folder that `file_name` is relative to. */
  images: string;
}

export interface CocoRead {
  items: DatasetItem[];
  classNames: string[];
  categoryIds: number[];
}

interface RawImage {
  id: unknown;
  file_name: unknown;
  width?: unknown;
  height?: unknown;
}
interface RawAnn {
  id?: unknown;
  image_id: unknown;
  category_id: unknown;
  bbox: unknown;
  iscrowd?: unknown;
}

export async function readJsonFile(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new DatasetError({ file }, `cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DatasetError({ file }, `${what} is not valid JSON: ${(e as Error).message}`);
  }
}

export async function readCoco(src: CocoSource, classNames: string[] | undefined, opts: ReadOptions = {}): Promise<CocoRead> {
  const file = src.annotations;
  const json = (await readJsonFile(file, 'COCO annotation file')) as Record<string, unknown>;
  for (const key of ['images', 'annotations', 'categories']) {
    if (!Array.isArray(json?.[key])) throw new DatasetError({ file }, `not a COCO instances file: no "${key}" array`);
  }
  const map = cocoCategoryMap(json.categories as { id: number; name: string }[], classNames, file);
  const knownCategories = new Set((json.categories as { id: number }[]).map((c) => c.id));

  const byId = new Map<number, DatasetItem>();
  const items: DatasetItem[] = [];
  for (const [k, im] of (json.images as RawImage[]).entries()) {
    if (typeof im?.id !== 'number' || typeof im.file_name !== 'string') {
      throw new DatasetError({ file }, `images[${k}] needs a numeric "id" and a string "file_name"`);
    }
    if (byId.has(im.id)) throw new DatasetError({ file }, `image id ${im.id} appears twice in "images"`);
    const item: DatasetItem = { id: im.id, cocoImageId: im.id, file: join(src.images, im.file_name), boxes: [], ignored: [] };
    if (typeof im.width === 'number' && typeof im.height === 'number' && im.width > 0 && im.height > 0) {
      item.width = im.width;
      item.height = im.height;
    }
    byId.set(im.id, item);
    items.push(item);
  }

  // Sizes are needed to check boxes: probe the images whose size the file does not give.
  const present = new Set(await checkImages(items, opts));
  const bad = new Set<DatasetItem>(items.filter((it) => !present.has(it)));
  const numClasses = map.categoryIds.length;
  const dropped = new DroppedBoxes();
  let leftOut = 0;
  // Where each annotation id was first seen: a second use makes the file ambiguous (pycocotools keeps one of them).
  const firstAt = new Map<number | string, number>();
  for (const [k, a] of (json.annotations as RawAnn[]).entries()) {
    const hasId = typeof a?.id === 'number' || typeof a?.id === 'string';
    const annId = hasId ? (a.id as number | string) : `#${k}`;
    const item = typeof a?.image_id === 'number' ? byId.get(a.image_id) : undefined;
    if (!item) throw new DatasetError({ file, annotationId: annId }, `image_id ${JSON.stringify(a?.image_id)} is not in "images"`);
    const where = { file, annotationId: annId, image: item.file };
    const seenAt = hasId ? firstAt.get(annId) : undefined;
    if (hasId && seenAt === undefined) firstAt.set(annId, k);
    if (bad.has(item)) continue;
    try {
      if (seenAt !== undefined) throw new DatasetError(where, `annotation id ${JSON.stringify(annId)} appears twice: annotations[${seenAt}] and annotations[${k}]`);
      if (typeof a.category_id !== 'number' || !knownCategories.has(a.category_id)) {
        throw new DatasetError(where, `unknown category_id ${JSON.stringify(a.category_id)}`);
      }
      const classId = map.indexOf.get(a.category_id);
      if (classId === undefined) {
        leftOut++; // a category the config's classNames leave out
        continue;
      }
      const bb = a.bbox;
      if (!Array.isArray(bb) || bb.length !== 4 || !bb.every((v) => typeof v === 'number')) {
        throw new DatasetError(where, `bbox must be [x, y, width, height], got ${JSON.stringify(bb)}`);
      }
      const [x, y, w, h] = bb as number[];
      const box: Box = checkBox({ x1: x, y1: y, x2: x + w, y2: y + h, classId }, item.width!, item.height!, numClasses, where);
      (a.iscrowd ? item.ignored! : item.boxes).push(box);
    } catch (e) {
      if (e instanceof EmptyBoxError) {
        dropped.add(e);
        continue;
      }
      bad.add(item);
      reportBad(e, opts);
    }
  }
  dropped.report(opts);
  if (leftOut) {
    const warn = opts.warn ?? ((m: string) => console.warn(m));
    warn(`${file}: ignored ${leftOut} annotations of the ${knownCategories.size - numClasses} categories not in classNames`);
  }
  return { items: items.filter((it) => !bad.has(it)), classNames: map.classNames, categoryIds: map.categoryIds };
}
