import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import { generateShapesDataset, SHAPE_CLASSES } from '../src/data/shapes.ts';
import { loadDatasetConfig, openDataset } from '../src/data/dataset-config.ts';

const root = mkdtempSync(join(tmpdir(), 'data-shapes-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

interface Coco {
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: { id: number; image_id: number; category_id: number; bbox: number[]; area: number }[];
  categories: { id: number; name: string }[];
}

test('the boxes enclose exactly the drawn shapes (checked on the decoded PNG pixels)', async () => {
  const r = await generateShapesDataset({ outDir: join(root, 'a'), train: 12, val: 3, size: 96, seed: 1, format: 'png' });
  const coco = JSON.parse(readFileSync(r.annotations.train, 'utf8')) as Coco;
  assert.equal(coco.categories.map((c) => c.name), [...SHAPE_CLASSES]);
  assert.is(coco.images.length, 12);
  const perImage = new Map<number, number>();
  for (const im of coco.images) {
    const { data, info } = await sharp(join(r.images.train, im.file_name)).raw().toBuffer({ resolveWithObject: true });
    assert.equal([info.width, info.height], [im.width, im.height]);
    // Shapes are saturated colours on a nearly gray background: classify pixels by channel spread.
    const shape = (x: number, y: number) => {
      const o = (y * info.width + x) * info.channels;
      return Math.max(data[o], data[o + 1], data[o + 2]) - Math.min(data[o], data[o + 1], data[o + 2]) > 60;
    };
    const anns = coco.annotations.filter((a) => a.image_id === im.id);
    perImage.set(im.id, anns.length);
    let inBoxes = 0;
    for (const a of anns) {
      const [x, y, w, h] = a.bbox;
      let count = 0;
      let [minX, minY, maxX, maxY] = [Infinity, Infinity, -1, -1];
      // Scan the box plus a 2 px ring: shape pixels only inside, and touching all four sides.
      for (let yy = Math.max(0, y - 2); yy < Math.min(im.height, y + h + 2); yy++) {
        for (let xx = Math.max(0, x - 2); xx < Math.min(im.width, x + w + 2); xx++) {
          if (!shape(xx, yy)) continue;
          count++;
          minX = Math.min(minX, xx);
          minY = Math.min(minY, yy);
          maxX = Math.max(maxX, xx);
          maxY = Math.max(maxY, yy);
        }
      }
      assert.equal([minX, minY, maxX + 1, maxY + 1], [x, y, x + w, y + h], `annotation ${a.id} is the tight box of its shape`);
      assert.is(count, a.area, `annotation ${a.id} area = painted pixels`);
      inBoxes += count;
      // The fill ratio tells the class apart: circle ~pi/4, square 1, triangle <= ~0.5.
      const fill = count / (w * h);
      const cls = SHAPE_CLASSES[a.category_id - 1];
      if (cls === 'circle') assert.ok(fill > 0.7 && fill < 0.86, `circle fill ${fill}`);
      if (cls === 'square') assert.ok(fill > 0.95, `square fill ${fill}`);
      if (cls === 'triangle') assert.ok(fill < 0.62, `triangle fill ${fill}`);
    }
    // No shape pixel outside the annotated boxes.
    let total = 0;
    for (let yy = 0; yy < im.height; yy++) for (let xx = 0; xx < im.width; xx++) if (shape(xx, yy)) total++;
    assert.is(total, inBoxes, `image ${im.file_name}: every shape pixel is inside an annotated box`);
  }
  assert.ok([...perImage.values()].every((n) => n >= 1 && n <= 4));
  assert.ok(new Set(coco.annotations.map((a) => a.category_id)).size === 3);
});

test('seeded: the same seed gives the same annotations; the config opens', async () => {
  const a = await generateShapesDataset({ outDir: join(root, 's1'), train: 4, val: 2, size: 64, seed: 9 });
  const b = await generateShapesDataset({ outDir: join(root, 's2'), train: 4, val: 2, size: 64, seed: 9 });
  const c = await generateShapesDataset({ outDir: join(root, 's3'), train: 4, val: 2, size: 64, seed: 10 });
  const ann = (p: string) => JSON.parse(readFileSync(p, 'utf8')).annotations;
  assert.equal(ann(a.annotations.train), ann(b.annotations.train));
  assert.not.equal(ann(a.annotations.train), ann(c.annotations.train));
  assert.ok(readFileSync(join(a.images.train, '000001.jpg')).equals(readFileSync(join(b.images.train, '000001.jpg'))));
  assert.is(a.configPath, join(root, 's1.json'));
  const cfg = await loadDatasetConfig(a.configPath!);
  const val = await openDataset(cfg, 'val', { checkImages: 'header' });
  assert.is(val.items.length, 2);
  assert.equal(val.classNames, [...SHAPE_CLASSES]);
  assert.equal(val.categoryIds, [1, 2, 3]);
});

test('the script writes a dataset with its config', () => {
  const out = join(root, 'cli', 'shapes');
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/make-shapes-dataset.ts', '--out', out, '--train', '3', '--val', '1', '--size', '64'], { stdio: 'pipe' });
  const cfg = JSON.parse(readFileSync(join(root, 'cli', 'shapes.json'), 'utf8'));
  assert.equal(cfg.train, { annotations: 'shapes/annotations/instances_train.json', images: 'shapes/images/train' });
  assert.ok(existsSync(join(out, 'images', 'val', '000001.jpg')));
});

test.run();
