/**
 * A synthetic detection dataset: coloured circles, squares and triangles (3 classes, 1-4 objects per
 * image, random sizes and colours, no overlaps) on noisy, nearly gray backgrounds, written in COCO
 * format with a dataset config. Seeded, so the same options give the same files.
 *
 * Boxes are the tight bounds of the pixels actually painted (pixel centres inside the shape), and
 * `area` is the painted pixel count. Backgrounds are low-saturation (channel spread <= ~30) and shapes
 * strongly saturated (spread >= ~100), so a shape's pixels can be told apart by colour alone.
 * `objects` and `objectSize` change how many shapes an image holds and how large they are (defaults:
 * 1-4 shapes of 8-40 % of the shorter side; the same defaults give the same files as before).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from '../image/rgb.ts';
import { mapLimit } from './pool.ts';
import { Rng } from './prng.ts';

export const SHAPE_CLASSES = ['circle', 'square', 'triangle'] as const;

export interface ShapeObject {
  /** 0 circle, 1 square, 2 triangle. */
  classId: number;
  /** Tight box of the painted pixels, [x1, y1, x2, y2) in pixels. */
  box: [number, number, number, number];
  /** Painted pixel count. */
  area: number;
  color: [number, number, number];
}

export interface ShapesImage {
  image: RgbImage;
  objects: ShapeObject[];
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const c = v * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = v - c;
  const [r, g, b] = h < 60 ? [c, x, 0] : h < 120 ? [x, c, 0] : h < 180 ? [0, c, x] : h < 240 ? [0, x, c] : h < 300 ? [x, 0, c] : [c, 0, x];
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** Point-inside test of one shape, in pixel-centre coordinates. */
type Inside = (x: number, y: number) => boolean;

function triangleInside(p: [number, number][]): Inside {
  const [[ax, ay], [bx, by], [cx, cy]] = p;
  const cross = (x1: number, y1: number, x2: number, y2: number, x: number, y: number) => (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1);
  return (x, y) => {
    const d1 = cross(ax, ay, bx, by, x, y);
    const d2 = cross(bx, by, cx, cy, x, y);
    const d3 = cross(cx, cy, ax, ay, x, y);
    const neg = d1 < 0 || d2 < 0 || d3 < 0;
    const pos = d1 > 0 || d2 > 0 || d3 > 0;
    return !(neg && pos);
  };
}

/** What a rendered image may hold (the defaults are the original generator's). */
export interface ShapesRenderOptions {
  /** Objects per image, [min, max] inclusive (default [1, 4]); fewer when no free place is found. */
  objects?: [number, number];
  /** Side of an object's square, as a fraction of the shorter image side, [lo, hi] (default [0.08, 0.4]). */
  objectSize?: [number, number];
}

/** Renders one image of `width x height`. */
export function renderShapesImage(rng: Rng, width: number, height: number, opts: ShapesRenderOptions = {}): ShapesImage {
  const [minObjects, maxObjects] = opts.objects ?? [1, 4];
  const [sizeLo, sizeHi] = opts.objectSize ?? [0.08, 0.4];
  const data = new Uint8Array(width * height * 3);
  // Background: a gray level with a soft gradient, per-pixel gray noise and a little colour noise.
  const base = rng.uniform(60, 190);
  const gx = rng.uniform(-40, 40) / width;
  const gy = rng.uniform(-40, 40) / height;
  const tint = [rng.uniform(-6, 6), rng.uniform(-6, 6), rng.uniform(-6, 6)];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const g = base + gx * (x - width / 2) + gy * (y - height / 2) + rng.uniform(-25, 25);
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) data[o + c] = clamp8(g + tint[c] + rng.uniform(-4, 4));
    }
  }

  const count = minObjects + rng.int(maxObjects - minObjects + 1);
  const taken: [number, number, number, number][] = [];
  const objects: ShapeObject[] = [];
  const minSide = Math.min(width, height);
  for (let k = 0; k < count; k++) {
    for (let tries = 0; tries < 50; tries++) {
      const classId = rng.int(3);
      const s = Math.max(8, Math.floor(minSide * rng.uniform(sizeLo, sizeHi)));
      const x0 = rng.uniform(1, width - s - 1);
      const y0 = rng.uniform(1, height - s - 1);
      // Reserved area (with a 2 px margin) must not touch another shape.
      const r: [number, number, number, number] = [x0 - 2, y0 - 2, x0 + s + 2, y0 + s + 2];
      if (taken.some((t) => r[0] < t[2] && t[0] < r[2] && r[1] < t[3] && t[1] < r[3])) continue;
      let inside: Inside;
      if (classId === 0) {
        const cx = x0 + s / 2;
        const cy = y0 + s / 2;
        const rr = (s / 2) ** 2;
        inside = (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= rr;
      } else if (classId === 1) {
        inside = (x, y) => x >= x0 && x <= x0 + s && y >= y0 && y <= y0 + s;
      } else {
        // A triangle with vertices on the reserved square's border, turned by a random angle.
        const cx = x0 + s / 2;
        const cy = y0 + s / 2;
        const a0 = rng.uniform(0, Math.PI * 2);
        const pts: [number, number][] = [0, 1, 2].map((i) => {
          const a = a0 + (i * 2 * Math.PI) / 3 + rng.uniform(-0.3, 0.3);
          return [cx + (s / 2) * Math.cos(a), cy + (s / 2) * Math.sin(a)];
        });
        inside = triangleInside(pts);
      }
      const color = hsvToRgb(rng.uniform(0, 360), rng.uniform(0.75, 1), rng.uniform(0.7, 1));
      let bx1 = Infinity;
      let by1 = Infinity;
      let bx2 = -Infinity;
      let by2 = -Infinity;
      const pixels: number[] = [];
      const ys = Math.max(0, Math.floor(y0));
      const ye = Math.min(height, Math.ceil(y0 + s) + 1);
      const xs = Math.max(0, Math.floor(x0));
      const xe = Math.min(width, Math.ceil(x0 + s) + 1);
      for (let y = ys; y < ye; y++) {
        for (let x = xs; x < xe; x++) {
          if (!inside(x + 0.5, y + 0.5)) continue;
          pixels.push(y * width + x);
          if (x < bx1) bx1 = x;
          if (y < by1) by1 = y;
          if (x + 1 > bx2) bx2 = x + 1;
          if (y + 1 > by2) by2 = y + 1;
        }
      }
      if (pixels.length < 16) continue;
      for (const p of pixels) for (let c = 0; c < 3; c++) data[p * 3 + c] = clamp8(color[c] + rng.uniform(-6, 6));
      const area = pixels.length;
      taken.push(r);
      objects.push({ classId, box: [bx1, by1, bx2, by2], area, color });
      break;
    }
  }
  return { image: { data, width, height }, objects };
}

export interface ShapesOptions {
  /** Output folder: gets `images/{train,val}/` and `annotations/instances_{train,val}.json`. */
  outDir: string;
  train: number;
  val: number;
  /** Longer image side; the other side is 75-100 % of it (random per image). */
  size: number;
  seed?: number;
  /** Image format (default 'jpg', quality 92; 'png' is lossless). */
  format?: 'jpg' | 'png';
  /** Dataset config to write (default `<outDir>.json`); null = none. */
  configPath?: string | null;
  /** Dataset name in the config (default the folder's name). */
  name?: string;
  /** Objects per image, [min, max] (default [1, 4]). */
  objects?: [number, number];
  /** Object side as a fraction of the shorter image side (default [0.08, 0.4]). */
  objectSize?: [number, number];
  onProgress?: (done: number, total: number) => void;
}

export interface ShapesResult {
  configPath: string | null;
  annotations: { train: string; val: string };
  images: { train: string; val: string };
}

interface CocoOut {
  info: Record<string, unknown>;
  licenses: unknown[];
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: { id: number; image_id: number; category_id: number; bbox: number[]; area: number; iscrowd: 0; segmentation: [] }[];
  categories: { id: number; name: string; supercategory: string }[];
}

export async function generateShapesDataset(opts: ShapesOptions): Promise<ShapesResult> {
  const out = resolve(opts.outDir);
  const fmt = opts.format ?? 'jpg';
  const seed = opts.seed ?? 0;
  const render: ShapesRenderOptions = { objects: opts.objects, objectSize: opts.objectSize };
  const [minObjects, maxObjects] = render.objects ?? [1, 4];
  if (!(Number.isInteger(minObjects) && Number.isInteger(maxObjects) && minObjects >= 1 && maxObjects >= minObjects)) {
    throw new RangeError(`objects must be [min, max] integers with 1 <= min <= max, got ${JSON.stringify(render.objects)}`);
  }
  const [sizeLo, sizeHi] = render.objectSize ?? [0.08, 0.4];
  if (!(sizeLo > 0 && sizeHi >= sizeLo && sizeHi < 1)) {
    throw new RangeError(`objectSize must be [lo, hi] with 0 < lo <= hi < 1, got ${JSON.stringify(render.objectSize)}`);
  }
  const total = opts.train + opts.val;
  let done = 0;
  const result: ShapesResult = {
    configPath: null,
    annotations: { train: join(out, 'annotations', 'instances_train.json'), val: join(out, 'annotations', 'instances_val.json') },
    images: { train: join(out, 'images', 'train'), val: join(out, 'images', 'val') },
  };
  await mkdir(join(out, 'annotations'), { recursive: true });
  let annId = 1;
  for (const [split, n, splitNo] of [['train', opts.train, 0], ['val', opts.val, 1]] as const) {
    const dir = result.images[split];
    await mkdir(dir, { recursive: true });
    const coco: CocoOut = {
      info: { description: 'synthetic shapes (yolo4-prune scripts/make-shapes-dataset.ts)', seed, split },
      licenses: [],
      images: [],
      annotations: [],
      categories: SHAPE_CLASSES.map((name, i) => ({ id: i + 1, name, supercategory: 'shape' })),
    };
    const rendered = await mapLimit(Array.from({ length: n }, (_, i) => i), 4, async (i) => {
      const rng = Rng.derive(seed, splitNo, i);
      const w = opts.size;
      const h = Math.max(8, Math.round(opts.size * rng.uniform(0.75, 1)));
      const [width, height] = rng.chance(0.5) ? [w, h] : [h, w];
      const r = renderShapesImage(rng, width, height, render);
      const fileName = `${String(i + 1).padStart(6, '0')}.${fmt}`;
      const img = sharp(Buffer.from(r.image.data.buffer, r.image.data.byteOffset, r.image.data.length), { raw: { width, height, channels: 3 } });
      await (fmt === 'png' ? img.png() : img.jpeg({ quality: 92 })).toFile(join(dir, fileName));
      opts.onProgress?.(++done, total);
      return { fileName, width, height, objects: r.objects };
    });
    rendered.forEach((r, i) => {
      const imageId = splitNo * 1_000_000 + i + 1;
      coco.images.push({ id: imageId, file_name: r.fileName, width: r.width, height: r.height });
      for (const o of r.objects) {
        const [x1, y1, x2, y2] = o.box;
        coco.annotations.push({
          id: annId++,
          image_id: imageId,
          category_id: o.classId + 1,
          bbox: [x1, y1, x2 - x1, y2 - y1],
          area: o.area,
          iscrowd: 0,
          segmentation: [],
        });
      }
    });
    await writeFile(result.annotations[split], JSON.stringify(coco));
  }
  if (opts.configPath !== null) {
    const configPath = resolve(opts.configPath ?? `${out}.json`);
    const base = dirname(configPath);
    const rel = (p: string) => relative(base, p).split('\\').join('/') || '.';
    const config = {
      name: opts.name ?? out.split(/[\\/]/).pop(),
      format: 'coco',
      train: { annotations: rel(result.annotations.train), images: rel(result.images.train) },
      val: { annotations: rel(result.annotations.val), images: rel(result.images.val) },
      classNames: [...SHAPE_CLASSES],
    };
    await mkdir(base, { recursive: true });
    await writeFile(configPath, JSON.stringify(config, null, 2) + '\n');
    result.configPath = configPath;
  }
  return result;
}
