/**
 * Dataset configs (`datasets/*.json`) and opening one split of them.
 *
 * ```json
 * { "name": "tinycoco", "format": "coco",
 *   "train": { "annotations": "tinycoco/annotations/instances_train2017.json", "images": "tinycoco/images/train2017" },
 *   "val":   { "annotations": "tinycoco/annotations/instances_val2017.json",   "images": "tinycoco/images/val2017" },
 *   "classNames": ["person", "..."] }
 * ```
 * Source fields per format: coco `{annotations, images}`; yolo `{images, labels?}`; voc
 * `{root, imageSet}` or `{annotations, images, list?}` (+ `oneBased`). Paths are relative to the config
 * file. `classNames` is a list or the path of a names file (one per line); it is required for yolo and
 * voc, optional for coco (default: the categories' names in id order).
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { readCoco, readJsonFile, type CocoSource } from './coco.ts';
import { DatasetError } from './errors.ts';
import type { Dataset, DatasetFormat, DatasetItem, ReadOptions, Split } from './types.ts';
import { readVoc, type VocSource } from './voc.ts';
import { readYolo, type YoloSource } from './yolo-txt.ts';

export type DatasetSource = CocoSource | YoloSource | VocSource;

export interface DatasetConfig {
  name: string;
  format: DatasetFormat;
  train: DatasetSource;
  val: DatasetSource;
  classNames?: string[];
  /** The config file (absolute), or '' for a config built in code (paths then relative to the cwd). */
  path: string;
}

const FORMATS: DatasetFormat[] = ['coco', 'yolo', 'voc'];
const PATH_FIELDS: Record<DatasetFormat, string[]> = {
  coco: ['annotations', 'images'],
  yolo: ['images', 'labels'],
  voc: ['root', 'annotations', 'images', 'list'],
};
const REQUIRED: Record<DatasetFormat, string[][]> = {
  coco: [['annotations', 'images']],
  yolo: [['images']],
  voc: [['root', 'imageSet'], ['annotations', 'images'], ['root']],
};

/** Reads, checks and resolves a config file. Errors name the file and the field. */
export async function loadDatasetConfig(path: string): Promise<DatasetConfig> {
  const file = resolve(path);
  const raw = await readJsonFile(file, 'dataset config');
  return resolveDatasetConfig(raw, file, dirname(file));
}

/** Checks a config object; relative paths are resolved against `baseDir`. */
export async function resolveDatasetConfig(raw: unknown, file: string, baseDir: string): Promise<DatasetConfig> {
  const bad = (msg: string): never => {
    throw new DatasetError({ file: file || '<dataset config>' }, msg);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('a dataset config must be a JSON object');
  const c = raw as Record<string, unknown>;
  const format = c.format as DatasetFormat;
  if (!FORMATS.includes(format)) bad(`"format" must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(c.format)}`);
  const name = typeof c.name === 'string' && c.name ? c.name : bad('"name" must be a non-empty string');

  let classNames: string[] | undefined;
  if (typeof c.classNames === 'string') {
    const namesFile = isAbsolute(c.classNames) ? c.classNames : resolve(baseDir, c.classNames);
    let text = '';
    try {
      text = await readFile(namesFile, 'utf8');
    } catch {
      bad(`"classNames" names file ${namesFile} cannot be read`);
    }
    classNames = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  } else if (Array.isArray(c.classNames)) {
    if (!c.classNames.every((n) => typeof n === 'string' && n)) bad('"classNames" must be a list of non-empty strings');
    classNames = c.classNames as string[];
  } else if (c.classNames !== undefined) {
    bad('"classNames" must be a list of names or the path of a names file');
  }
  if (classNames) {
    if (!classNames.length) bad('"classNames" is empty');
    const dup = classNames.find((n, i) => classNames!.indexOf(n) !== i);
    if (dup) bad(`class name "${dup}" appears twice in "classNames"`);
  } else if (format !== 'coco') {
    bad(`"classNames" is required for format "${format}"`);
  }

  const source = (split: Split): DatasetSource => {
    const s = c[split];
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return bad(`"${split}" must be an object (the ${format} source)`);
    const src = { ...(s as Record<string, unknown>) };
    if (!REQUIRED[format].some((keys) => keys.every((k) => typeof src[k] === 'string'))) {
      bad(`"${split}" needs ${REQUIRED[format].map((ks) => ks.map((k) => `"${k}"`).join(' + ')).join(' or ')}`);
    }
    for (const k of PATH_FIELDS[format]) {
      if (src[k] === undefined) continue;
      if (typeof src[k] !== 'string') bad(`"${split}.${k}" must be a path`);
      src[k] = resolve(baseDir, src[k] as string);
    }
    return src as unknown as DatasetSource;
  };
  return { name, format, train: source('train'), val: source('val'), classNames, path: file };
}

/** Reads one split. Throws `DatasetError`s naming the file (see `ReadOptions` for `skipBad`). */
export async function openDataset(config: DatasetConfig, split: Split, opts: ReadOptions = {}): Promise<Dataset> {
  const src = config[split];
  if (!src) throw new DatasetError({ file: config.path || '<dataset config>' }, `no "${split}" source`);
  let items: DatasetItem[];
  let classNames = config.classNames;
  let categoryIds: number[] | undefined;
  let sourceName: string;
  if (config.format === 'coco') {
    const s = src as CocoSource;
    const r = await readCoco(s, classNames, opts);
    items = r.items;
    classNames = r.classNames;
    categoryIds = r.categoryIds;
    sourceName = s.annotations;
  } else if (config.format === 'yolo') {
    const s = src as YoloSource;
    items = await readYolo(s, classNames!, opts);
    sourceName = s.images;
  } else {
    const s = src as VocSource;
    items = await readVoc(s, classNames!, opts);
    sourceName = s.list ?? s.annotations ?? s.root!;
  }
  if (!items.length) {
    throw new DatasetError(
      { file: sourceName },
      `the ${split} split of dataset "${config.name}" has no images${opts.skipBad ? ' (after skipping bad ones)' : ''}`,
    );
  }
  const ds: Dataset = { name: config.name, format: config.format, split, classNames: classNames!, items, source: sourceName };
  if (categoryIds) ds.categoryIds = categoryIds;
  return ds;
}
