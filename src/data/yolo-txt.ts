/**
 * YOLO txt reader: `images/**` plus `labels/**` with the same relative path and a `.txt` extension.
 * Each label line is `class cx cy w h`, the last four normalized to the image size. An image without a
 * label file is a background image (no boxes); a dataset where no label file exists is an error.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, sep } from 'node:path';
import fg from 'fast-glob';
import { checkBox, EmptyBoxError } from './box-check.ts';
import { DatasetError } from './errors.ts';
import { checkImages } from './image-check.ts';
import { mapLimit } from './pool.ts';
import { DroppedBoxes, reportBad } from './skip-bad.ts';
import type { Box, DatasetItem, ReadOptions } from './types.ts';

export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff', 'gif', 'avif'];

export interface YoloSource {
  /** Folder of images (searched recursively). */
  images: string;
  /** Folder of label files. Default: `images` with its last `images` path component replaced by `labels`. */
  labels?: string;
}

export function defaultLabelDir(images: string): string {
  const parts = images.split(sep);
  const k = parts.lastIndexOf('images');
  if (k < 0) throw new DatasetError({ file: images }, 'give "labels": the image folder has no "images" component to replace');
  parts[k] = 'labels';
  return parts.join(sep);
}

/**
 * Parses one label file's text into boxes in pixels of a `width` x `height` image. Zero-size boxes go
 * to `onEmpty` when given (and are left out), else they throw like any other bad line.
 */
export function parseYoloLabels(
  text: string,
  file: string,
  width: number,
  height: number,
  numClasses: number,
  onEmpty?: (e: EmptyBoxError) => void,
): Box[] {
  const boxes: Box[] = [];
  const lines = text.split(/\r?\n/);
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k].trim();
    if (!line) continue;
    const where = { file, line: k + 1 };
    const f = line.split(/\s+/);
    if (f.length !== 5) {
      throw new DatasetError(where, `expected 5 fields "class cx cy w h", got ${f.length}: "${line}"`);
    }
    const v = f.map(Number);
    if (!v.every(Number.isFinite)) throw new DatasetError(where, `not a number in "${line}"`);
    const [cls, cx, cy, w, h] = v;
    if (w < 0 || h < 0) throw new DatasetError(where, `negative box width or height in "${line}"`);
    const raw = { x1: (cx - w / 2) * width, y1: (cy - h / 2) * height, x2: (cx + w / 2) * width, y2: (cy + h / 2) * height, classId: cls };
    try {
      boxes.push(checkBox(raw, width, height, numClasses, where));
    } catch (e) {
      if (!(e instanceof EmptyBoxError) || !onEmpty) throw e;
      onEmpty(e);
    }
  }
  return boxes;
}

export async function readYolo(src: YoloSource, classNames: string[], opts: ReadOptions = {}): Promise<DatasetItem[]> {
  const labelDir = src.labels ?? defaultLabelDir(src.images);
  const pattern = `**/*.{${IMAGE_EXTENSIONS.join(',')}}`;
  const files = (await fg(pattern, { cwd: src.images, caseSensitiveMatch: false, onlyFiles: true })).sort();
  if (!files.length) throw new DatasetError({ file: src.images }, `no images (${IMAGE_EXTENSIONS.join(', ')}) in this folder`);

  const items: DatasetItem[] = files.map((rel) => ({ id: rel, file: join(src.images, rel), boxes: [] }));
  const present = await checkImages(items, { ...opts, checkImages: 'header' }); // sizes are needed
  let labelFiles = 0;
  const dropped = new DroppedBoxes();
  const ok = await mapLimit(present, opts.concurrency ?? 16, async (item) => {
    const rel = relative(src.images, item.file);
    const labelFile = join(labelDir, dirname(rel), basename(rel, extname(rel)) + '.txt');
    let text: string;
    try {
      text = await readFile(labelFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true; // background image
      reportBad(new DatasetError({ file: labelFile }, `cannot read label file: ${(e as Error).message}`), opts);
      return false;
    }
    labelFiles++;
    try {
      item.boxes = parseYoloLabels(text, labelFile, item.width!, item.height!, classNames.length, dropped.add);
      return true;
    } catch (e) {
      reportBad(e, opts);
      return false;
    }
  });
  dropped.report(opts);
  if (labelFiles === 0) {
    throw new DatasetError({ file: labelDir }, `no label files for the ${files.length} images of ${src.images}`);
  }
  return present.filter((_, i) => ok[i]);
}
