/**
 * Pascal VOC reader: one XML file per image (`<filename>`, `<size>`, `<object>` with `<name>`,
 * `<difficult>`, `<bndbox>`), either a VOC root (`Annotations/`, `JPEGImages/`,
 * `ImageSets/Main/<set>.txt`) or explicit folders.
 *
 * VOC coordinates are 1-based inclusive pixel indices, so `xmin..xmax` covers the continuous range
 * `[xmin - 1, xmax]` (set `oneBased: false` for files written with 0-based corners). `difficult`
 * objects go to `ignored` (the reference implementation does not train on them).
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import fg from 'fast-glob';
import { checkBox, EmptyBoxError } from './box-check.ts';
import { DataError, DatasetError } from './errors.ts';
import { checkImages } from './image-check.ts';
import { probeImage } from './image-files.ts';
import { mapLimit } from './pool.ts';
import { DroppedBoxes, reportBad } from './skip-bad.ts';
import type { Box, DatasetItem, ReadOptions } from './types.ts';
import { child, childrenNamed, parseXml, XmlError, type XmlElement } from './xml.ts';

export interface VocSource {
  /** A VOC year folder (e.g. `VOCdevkit/VOC2007`): sets the three defaults below. */
  root?: string;
  /** Image-set name under `root/ImageSets/Main/` (e.g. `trainval`). */
  imageSet?: string;
  /** Folder of XML files. Default `root/Annotations`. */
  annotations?: string;
  /** Folder of images. Default `root/JPEGImages`. */
  images?: string;
  /** File listing the ids (one per line; only the first word counts). Default: the image set, or every XML file. */
  list?: string;
  /** Coordinates are 1-based (the VOC convention). Default true. */
  oneBased?: boolean;
}

export interface VocAnnotation {
  filename?: string;
  width?: number;
  height?: number;
  boxes: Box[];
  ignored: Box[];
}

function num(el: XmlElement | undefined, file: string, what: string, line: number): number {
  if (!el) throw new DatasetError({ file, line }, `missing <${what}>`);
  const v = Number(el.text);
  if (el.text === '' || !Number.isFinite(v)) throw new DatasetError({ file, line: el.line }, `<${what}> is not a number: "${el.text}"`);
  return v;
}

function parseVocDocument(text: string, file: string): XmlElement {
  try {
    return parseXml(text);
  } catch (e) {
    if (e instanceof XmlError) throw new DatasetError({ file, line: e.line }, `bad XML: ${e.message}`);
    throw e;
  }
}

/** Parses one VOC XML document. Unknown class names and bad boxes throw with the file and line. */
export function parseVocXml(
  text: string,
  file: string,
  classNames: string[],
  oneBased = true,
  /** The image's size when the file has no <size> (probed from the image by `readVoc`). */
  fallbackSize?: { width: number; height: number },
  /** Receives zero-size boxes (which are then left out); without it they throw. */
  onEmpty?: (e: EmptyBoxError) => void,
): VocAnnotation {
  return vocFromXml(parseVocDocument(text, file), file, classNames, oneBased, fallbackSize, onEmpty);
}

function vocFromXml(
  root: XmlElement,
  file: string,
  classNames: string[],
  oneBased: boolean,
  fallbackSize?: { width: number; height: number },
  onEmpty?: (e: EmptyBoxError) => void,
): VocAnnotation {
  if (root.name !== 'annotation') throw new DatasetError({ file, line: root.line }, `root element is <${root.name}>, not <annotation>`);
  const out: VocAnnotation = { boxes: [], ignored: [] };
  const fn = child(root, 'filename');
  if (fn?.text) out.filename = fn.text;
  const size = child(root, 'size');
  if (size) {
    const w = Number(child(size, 'width')?.text);
    const h = Number(child(size, 'height')?.text);
    if (w > 0 && h > 0) {
      out.width = w;
      out.height = h;
    }
  }
  if (out.width === undefined && fallbackSize) {
    out.width = fallbackSize.width;
    out.height = fallbackSize.height;
  }
  const objects = childrenNamed(root, 'object');
  if (objects.length && out.width === undefined) {
    throw new DatasetError({ file, line: size?.line ?? root.line }, 'objects need the image size: <size><width>/<height> missing or 0');
  }
  const shift = oneBased ? 1 : 0;
  objects.forEach((obj, k) => {
    const nameEl = child(obj, 'name');
    const name = nameEl?.text ?? '';
    const classId = classNames.indexOf(name);
    if (classId < 0) {
      throw new DatasetError({ file, line: nameEl?.line ?? obj.line, annotationId: `object ${k}` }, `unknown class name "${name}"`);
    }
    const bb = child(obj, 'bndbox');
    if (!bb) throw new DatasetError({ file, line: obj.line, annotationId: `object ${k}` }, 'object has no <bndbox>');
    const x1 = num(child(bb, 'xmin'), file, 'xmin', bb.line) - shift;
    const y1 = num(child(bb, 'ymin'), file, 'ymin', bb.line) - shift;
    const x2 = num(child(bb, 'xmax'), file, 'xmax', bb.line);
    const y2 = num(child(bb, 'ymax'), file, 'ymax', bb.line);
    let box;
    try {
      box = checkBox({ x1, y1, x2, y2, classId }, out.width!, out.height!, classNames.length, {
        file,
        line: bb.line,
        annotationId: `object ${k}`,
      });
    } catch (e) {
      if (!(e instanceof EmptyBoxError) || !onEmpty) throw e;
      onEmpty(e);
      return;
    }
    const difficult = child(obj, 'difficult')?.text === '1';
    (difficult ? out.ignored : out.boxes).push(box);
  });
  return out;
}

export async function readVoc(src: VocSource, classNames: string[], opts: ReadOptions = {}): Promise<DatasetItem[]> {
  const annDir = src.annotations ?? (src.root ? join(src.root, 'Annotations') : undefined);
  const imgDir = src.images ?? (src.root ? join(src.root, 'JPEGImages') : undefined);
  if (!annDir || !imgDir) throw new DataError('a VOC source needs "root", or both "annotations" and "images"');
  const listFile = src.list ?? (src.root && src.imageSet ? join(src.root, 'ImageSets', 'Main', `${src.imageSet}.txt`) : undefined);
  let ids: string[];
  if (listFile) {
    let text: string;
    try {
      text = await readFile(listFile, 'utf8');
    } catch (e) {
      throw new DatasetError({ file: listFile }, `cannot read the image list: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    ids = text.split(/\r?\n/).map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
  } else {
    ids = (await fg('*.xml', { cwd: annDir })).sort().map((f) => basename(f, '.xml'));
  }

  const dropped = new DroppedBoxes();
  const parsed = await mapLimit(ids, opts.concurrency ?? 16, async (id) => {
    const file = join(annDir, `${id}.xml`);
    try {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (e) {
        throw new DatasetError({ file }, `cannot read annotation file: ${(e as NodeJS.ErrnoException).code ?? e}`);
      }
      const root = parseVocDocument(text, file);
      const size = child(root, 'size');
      let fallback: { width: number; height: number } | undefined;
      if (!size || !(Number(child(size, 'width')?.text) > 0 && Number(child(size, 'height')?.text) > 0)) {
        // No usable <size>: take it from the image.
        fallback = await probeImage(join(imgDir, child(root, 'filename')?.text || `${id}.jpg`));
      }
      const a = vocFromXml(root, file, classNames, src.oneBased ?? true, fallback, dropped.add);
      const item: DatasetItem = { id, file: join(imgDir, a.filename ?? `${id}.jpg`), boxes: a.boxes, ignored: a.ignored };
      if (a.width !== undefined) {
        item.width = a.width;
        item.height = a.height;
      }
      return item;
    } catch (e) {
      reportBad(e, opts);
      return undefined;
    }
  });
  dropped.report(opts);
  return checkImages(parsed.filter((x): x is DatasetItem => !!x), opts);
}
