import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadDatasetConfig, openDataset, resolveDatasetConfig, type DatasetConfig } from '../src/data/dataset-config.ts';
import { readCoco } from '../src/data/coco.ts';
import { parseYoloLabels } from '../src/data/yolo-txt.ts';
import { parseVocXml } from '../src/data/voc.ts';
import { parseXml } from '../src/data/xml.ts';
import { cocoCategoryMap, categoryIdOf } from '../src/data/coco-categories.ts';
import { DatasetError } from '../src/data/errors.ts';
import type { Box, Dataset } from '../src/data/types.ts';

// A tiny dataset written three times, once per format. Two images:
//   a.png 100x80: dog (10,20)-(40,60), cat (50,5)-(100,80) (touches the right and bottom edges)
//   b.png  60x50: bird (0,0)-(30,25)
// Classes: cat, dog, bird. In COCO their category ids are 3, 7, 12 (sparse, like COCO's own).
const CLASSES = ['cat', 'dog', 'bird'];
const EXPECTED: Record<string, Box[]> = {
  a: [
    { x1: 10, y1: 20, x2: 40, y2: 60, classId: 1 },
    { x1: 50, y1: 5, x2: 100, y2: 80, classId: 0 },
  ],
  b: [{ x1: 0, y1: 0, x2: 30, y2: 25, classId: 2 }],
};

const root = mkdtempSync(join(tmpdir(), 'data-readers-'));
const w = (rel: string, text: string | Buffer) => {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
};
const png = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 90, g: 120, b: 150 } } }).png().toBuffer();

const cocoJson = (over: Partial<Record<'images' | 'annotations' | 'categories', unknown[]>> = {}) =>
  JSON.stringify({
    images: [
      { id: 1, file_name: 'a.png', width: 100, height: 80 },
      { id: 2, file_name: 'b.png', width: 60, height: 50 },
    ],
    annotations: [
      { id: 11, image_id: 1, category_id: 7, bbox: [10, 20, 30, 40], iscrowd: 0 },
      { id: 12, image_id: 1, category_id: 3, bbox: [50, 5, 50, 75], iscrowd: 0 },
      { id: 13, image_id: 2, category_id: 12, bbox: [0, 0, 30, 25], iscrowd: 0 },
    ],
    categories: [
      { id: 12, name: 'bird' },
      { id: 3, name: 'cat' },
      { id: 7, name: 'dog' },
    ],
    ...over,
  });

const vocXml = (file: string, w: number, h: number, objs: [string, number, number, number, number][]) =>
  `<?xml version="1.0"?>
<annotation>
  <folder>VOC</folder>
  <filename>${file}</filename>
  <size><width>${w}</width><height>${h}</height><depth>3</depth></size>
${objs
  .map(
    ([n, x1, y1, x2, y2]) => `  <object>
    <name>${n}</name>
    <difficult>0</difficult>
    <bndbox><xmin>${x1}</xmin><ymin>${y1}</ymin><xmax>${x2}</xmax><ymax>${y2}</ymax></bndbox>
  </object>`,
  )
  .join('\n')}
</annotation>
`;

test.before(async () => {
  const a = await png(100, 80);
  const b = await png(60, 50);
  for (const dir of ['coco/images', 'yolo/images', 'voc/JPEGImages']) {
    w(`${dir}/a.png`, a);
    w(`${dir}/b.png`, b);
  }
  w('coco/instances.json', cocoJson());
  // YOLO: class cx cy w h, normalized. (10,20)-(40,60) in 100x80: cx 25/100, cy 40/80, w 30/100, h 40/80.
  w('yolo/labels/a.txt', '1 0.25 0.5 0.3 0.5\n0 0.75 0.53125 0.5 0.9375\n');
  w('yolo/labels/b.txt', '2 0.25 0.25 0.5 0.5\n');
  // VOC: 1-based inclusive pixel indices, so (10,20)-(40,60) is xmin 11, ymin 21, xmax 40, ymax 60.
  w('voc/Annotations/a.xml', vocXml('a.png', 100, 80, [['dog', 11, 21, 40, 60], ['cat', 51, 6, 100, 80]]));
  w('voc/Annotations/b.xml', vocXml('b.png', 60, 50, [['bird', 1, 1, 30, 25]]));
  w('voc/ImageSets/Main/train.txt', 'a\nb\n');
  w(
    'cfg/coco.json',
    JSON.stringify({ name: 'c', format: 'coco', train: { annotations: '../coco/instances.json', images: '../coco/images' }, val: { annotations: '../coco/instances.json', images: '../coco/images' } }),
  );
  w('cfg/yolo.json', JSON.stringify({ name: 'y', format: 'yolo', train: { images: '../yolo/images' }, val: { images: '../yolo/images' }, classNames: CLASSES }));
  w('cfg/names.txt', 'cat\ndog\nbird\n');
  w('cfg/voc.json', JSON.stringify({ name: 'v', format: 'voc', train: { root: '../voc', imageSet: 'train' }, val: { root: '../voc', imageSet: 'train' }, classNames: 'names.txt' }));
});

test.after(() => rmSync(root, { recursive: true, force: true }));

const byStem = (ds: Dataset) => Object.fromEntries(ds.items.map((it) => [it.file.replace(/^.*[\\/]/, '').replace(/\.\w+$/, ''), it]));
const close = (got: Box[], want: Box[], what: string) => {
  assert.is(got.length, want.length, `${what}: box count`);
  got.forEach((g, i) => {
    for (const k of ['x1', 'y1', 'x2', 'y2'] as const) assert.ok(Math.abs(g[k] - want[i][k]) < 1e-9, `${what} box ${i} ${k}: ${g[k]} vs ${want[i][k]}`);
    assert.is(g.classId, want[i].classId, `${what} box ${i} class`);
  });
};

test('COCO, YOLO txt and VOC readers give the same boxes for the same annotations', async () => {
  for (const fmt of ['coco', 'yolo', 'voc']) {
    const cfg = await loadDatasetConfig(join(root, 'cfg', `${fmt}.json`));
    const ds = await openDataset(cfg, 'train');
    assert.equal(ds.classNames, CLASSES, `${fmt} class names`);
    const items = byStem(ds);
    assert.equal(Object.keys(items).sort(), ['a', 'b'], `${fmt} images`);
    close(items.a.boxes, EXPECTED.a, `${fmt} a`);
    close(items.b.boxes, EXPECTED.b, `${fmt} b`);
    assert.is(items.a.width, 100);
    assert.is(items.a.height, 80);
    assert.is(items.b.width, 60);
  }
});

test('COCO keeps the category id <-> class index map and the image ids', async () => {
  const ds = await openDataset(await loadDatasetConfig(join(root, 'cfg', 'coco.json')), 'val');
  // Sorted by id: cat(3)=0, dog(7)=1, bird(12)=2.
  assert.equal(ds.categoryIds, [3, 7, 12]);
  const a = byStem(ds).a;
  assert.is(a.cocoImageId, 1);
  assert.is(categoryIdOf({ categoryIds: ds.categoryIds! }, a.boxes[0].classId), 7);
});

test('cocoCategoryMap: by name (subset/reorder), positional (darknet names), or an error', () => {
  const cats = [
    { id: 12, name: 'bird' },
    { id: 3, name: 'cat' },
    { id: 7, name: 'dog' },
  ];
  const byName = cocoCategoryMap(cats, ['bird', 'cat'], 'x.json');
  assert.equal(byName.categoryIds, [12, 3]);
  assert.is(byName.indexOf.get(7), undefined);
  const positional = cocoCategoryMap(cats, ['kitty', 'doggy', 'birdie'], 'x.json');
  assert.equal(positional.categoryIds, [3, 7, 12]);
  assert.equal(positional.classNames, ['kitty', 'doggy', 'birdie']);
  assert.throws(() => cocoCategoryMap(cats, ['kitty'], 'x.json'), /x\.json.*neither match/);
});

test('the shipped tinycoco dataset loads: 80 classes from sparse ids 1..90, all boxes', async () => {
  const cfg = await loadDatasetConfig('datasets/tinycoco.json');
  const train = await openDataset(cfg, 'train', { checkImages: 'header' });
  const val = await openDataset(cfg, 'val', { checkImages: 'header' });
  assert.is(train.items.length, 32);
  assert.is(val.items.length, 6);
  const count = (ds: Dataset, k: 'boxes' | 'ignored') => ds.items.reduce((n, it) => n + (it[k]?.length ?? 0), 0);
  // 288 train / 136 val annotations, of which 4 / 1 are iscrowd (kept apart in `ignored`).
  assert.is(count(train, 'boxes') + count(train, 'ignored'), 288);
  assert.is(count(train, 'ignored'), 4);
  assert.is(count(val, 'boxes') + count(val, 'ignored'), 136);
  assert.is(train.classNames.length, 80);
  assert.is(train.classNames[0], 'person');
  assert.is(train.classNames[79], 'toothbrush');
  assert.is(train.categoryIds![0], 1);
  assert.is(train.categoryIds![11], 13); // id 12 does not exist
  assert.is(train.categoryIds![79], 90);
  const first = train.items.find((it) => it.cocoImageId === 37777)!;
  // Annotation 22328: bbox [102.49, 118.47, 7.9, 17.31], category 64 (potted plant = index 58).
  const plant = first.boxes.find((b) => Math.abs(b.x1 - 102.49) < 1e-9)!;
  assert.ok(Math.abs(plant.x2 - 110.39) < 1e-9 && Math.abs(plant.y2 - 135.78) < 1e-9);
  assert.is(train.categoryIds![plant.classId], 64);
  assert.is(train.classNames[plant.classId], 'potted plant');
});

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<DatasetError> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (e) {
    assert.instance(e, DatasetError);
    return e as DatasetError;
  }
  throw new Error('expected a DatasetError');
}

const cocoSrc = (json: string, name: string) => ({ annotations: w(`coco/${name}.json`, json), images: join(root, 'coco/images') });

test('COCO errors name the file and the annotation id', async () => {
  const out = cocoJson({ annotations: [{ id: 77, image_id: 1, category_id: 7, bbox: [90, 20, 15, 10] }] });
  let e = await errorOf(readCoco(cocoSrc(out, 'outside'), undefined));
  assert.match(e.message, /outside\.json \(annotation 77, image .*a\.png\): box .* lies outside the 100x80 image by 5 px/);
  assert.is(e.annotationId, 77);

  const cat = cocoJson({ annotations: [{ id: 78, image_id: 2, category_id: 5, bbox: [1, 1, 5, 5] }] });
  e = await errorOf(readCoco(cocoSrc(cat, 'cat'), undefined));
  assert.match(e.message, /cat\.json \(annotation 78, .*b\.png\): unknown category_id 5/);

  const img = cocoJson({ annotations: [{ id: 79, image_id: 9, category_id: 7, bbox: [1, 1, 5, 5] }] });
  e = await errorOf(readCoco(cocoSrc(img, 'img'), undefined));
  assert.match(e.message, /img\.json \(annotation 79\): image_id 9 is not in "images"/);

  const missing = cocoJson({ images: [{ id: 1, file_name: 'nope.png', width: 10, height: 10 }], annotations: [] });
  e = await errorOf(readCoco(cocoSrc(missing, 'missing'), undefined));
  assert.match(e.message, /nope\.png: image file not found/);

  e = await errorOf(readCoco(cocoSrc('{"images": [', 'broken'), undefined));
  assert.match(e.message, /broken\.json: COCO annotation file is not valid JSON/);
});

test('overshoot under 1 px is clipped; skipBad skips a bad image with a warning naming it', async () => {
  const json = cocoJson({
    annotations: [
      { id: 1, image_id: 1, category_id: 7, bbox: [-0.4, 20, 100.8, 30] }, // 0.4 px out left, 0.4 right
      { id: 2, image_id: 2, category_id: 12, bbox: [10, 10, 60, 10] }, // 10 px out right: bad
    ],
  });
  const warnings: string[] = [];
  const r = await readCoco(cocoSrc(json, 'skip'), undefined, { skipBad: true, warn: (m) => warnings.push(m) });
  assert.is(r.items.length, 1);
  assert.equal(r.items[0].boxes, [{ x1: 0, y1: 20, x2: 100, y2: 50, classId: 1 }]);
  assert.is(warnings.length, 1);
  assert.match(warnings[0], /skip\.json \(annotation 2, image .*b\.png\).*outside/);
});

test('COCO: an annotation id used twice is an error naming the id and both positions, or (skipBad) a skipped image', async () => {
  const json = cocoJson({
    annotations: [
      { id: 11, image_id: 1, category_id: 7, bbox: [10, 20, 30, 40], iscrowd: 0 },
      { id: 13, image_id: 2, category_id: 12, bbox: [0, 0, 30, 25], iscrowd: 0 },
      { id: 11, image_id: 2, category_id: 3, bbox: [5, 5, 10, 10], iscrowd: 0 },
    ],
  });
  const e = await errorOf(readCoco(cocoSrc(json, 'dup'), undefined));
  assert.match(e.message, /dup\.json \(annotation 11, image .*b\.png\): annotation id 11 appears twice: annotations\[0\] and annotations\[2\]/);
  assert.is(e.annotationId, 11);
  const warnings: string[] = [];
  const r = await readCoco(cocoSrc(json, 'dup'), undefined, { skipBad: true, warn: (m) => warnings.push(m) });
  assert.equal(r.items.map((it) => it.cocoImageId), [1]);
  assert.is(warnings.length, 1);
  assert.match(warnings[0], /annotation id 11 appears twice/);
});

test('zero-size boxes (COCO has some) are dropped with one summary warning, not an error', async () => {
  const json = cocoJson({
    annotations: [
      { id: 31, image_id: 1, category_id: 7, bbox: [10, 20, 0, 30] },
      { id: 32, image_id: 1, category_id: 7, bbox: [10, 20, 30, 40] },
      { id: 33, image_id: 2, category_id: 3, bbox: [5, 5, 10, 0] },
    ],
  });
  const warnings: string[] = [];
  const r = await readCoco(cocoSrc(json, 'zero'), undefined, { warn: (m) => warnings.push(m) });
  assert.equal(r.items.map((it) => it.boxes.length), [1, 0]);
  assert.is(warnings.length, 1);
  assert.match(warnings[0], /dropped 2 zero-size boxes: .*zero\.json \(annotation 31, .*a\.png\).*annotation 33/);
  // An inverted box is an error, though.
  const inv = cocoJson({ annotations: [{ id: 34, image_id: 1, category_id: 7, bbox: [10, 20, -5, 30] }] });
  assert.match((await errorOf(readCoco(cocoSrc(inv, 'inv'), undefined))).message, /annotation 34.*inverted box/);
});

test('VOC without <size>: the size is read from the image', async () => {
  w('voc2/Annotations/a.xml', vocXml('a.png', 100, 80, [['dog', 11, 21, 40, 60]]).replace(/<size>.*<\/size>/, ''));
  w('voc2/JPEGImages/a.png', await png(100, 80));
  const cfg = await resolveDatasetConfig({ name: 'v2', format: 'voc', train: { root: 'voc2' }, val: { root: 'voc2' }, classNames: CLASSES }, '', root);
  const ds = await openDataset(cfg, 'train');
  assert.is(ds.items[0].width, 100);
  close(ds.items[0].boxes, [EXPECTED.a[0]], 'voc without size');
});

test('unreadable images: an error naming the file, or a warning and a skip with skipBad', async () => {
  w('bad/images/a.png', await png(100, 80));
  w('bad/images/b.png', Buffer.from('this is not an image'));
  const src = { annotations: w('bad/instances.json', cocoJson()), images: join(root, 'bad/images') };
  const e = await errorOf(readCoco(src, undefined, { checkImages: 'header' }));
  assert.match(e.message, /bad[\\/]images[\\/]b\.png: cannot read image/);
  const warnings: string[] = [];
  const r = await readCoco(src, undefined, { checkImages: 'header', skipBad: true, warn: (m) => warnings.push(m) });
  assert.equal(r.items.map((it) => it.id), [1]);
  assert.match(warnings[0], /b\.png: cannot read image/);
});

test('empty dataset is an error naming the source', async () => {
  const cfg = await resolveDatasetConfig(
    { name: 'empty', format: 'coco', train: { annotations: w('coco/empty.json', cocoJson({ images: [], annotations: [] })), images: join(root, 'coco/images') }, val: { annotations: 'x', images: 'y' } },
    '',
    root,
  );
  const e = await errorOf(openDataset(cfg, 'train'));
  assert.match(e.message, /empty\.json: the train split of dataset "empty" has no images/);
});

test('YOLO txt errors name the label file and line', () => {
  let e: DatasetError;
  const f = 'labels/a.txt';
  const err = (text: string) => {
    try {
      parseYoloLabels(text, f, 100, 80, 3);
    } catch (x) {
      return x as DatasetError;
    }
    throw new Error('expected an error');
  };
  e = err('1 0.5 0.5 0.2 0.2\n\n1 0.5 0.5 0.2\n');
  assert.match(e.message, /^labels\/a\.txt:3: expected 5 fields/);
  e = err('0 0.5 0.5 0.2 0.2\n5 0.5 0.5 0.2 0.2\n');
  assert.match(e.message, /^labels\/a\.txt:2: unknown class 5 \(the dataset has 3 classes/);
  e = err('0 0.95 0.5 0.2 0.2\n');
  assert.match(e.message, /^labels\/a\.txt:1: box .* outside the 100x80 image by 5 px/);
  e = err('0 0.5 abc 0.2 0.2\n');
  assert.match(e.message, /^labels\/a\.txt:1: not a number/);
  // 0.5 px overshoot is clipped.
  assert.equal(parseYoloLabels('0 0.9 0.5 0.21 0.5', f, 100, 80, 3)[0].x2, 100);
});

test('VOC errors name the file and line; difficult objects are kept apart', () => {
  const xml = vocXml('a.png', 100, 80, [['dog', 11, 21, 40, 60], ['horse', 1, 1, 5, 5]]);
  try {
    parseVocXml(xml, 'Annotations/a.xml', CLASSES);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, DatasetError);
    // The second <object>'s <name> is on line 12.
    assert.match((e as Error).message, /^Annotations\/a\.xml:12 \(annotation object 1\): unknown class name "horse"/);
  }
  try {
    parseVocXml('<annotation>\n<size><width>5</width>\n</annotation>', 'b.xml', CLASSES);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /^b\.xml:3: bad XML: closing tag <\/annotation> does not match <size> \(line 2\)/);
  }
  const diff = parseVocXml(xml.replace('horse', 'cat').replace('<difficult>0</difficult>\n    <bndbox><xmin>1<', '<difficult>1</difficult>\n    <bndbox><xmin>1<'), 'a.xml', CLASSES);
  assert.is(diff.boxes.length, 1);
  assert.equal(diff.ignored, [{ x1: 0, y1: 0, x2: 5, y2: 5, classId: 0 }]);
});

test('the XML reader handles attributes, entities, CDATA and comments', () => {
  const doc = parseXml(
    '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE x>\n<!-- c -->\n<a k="v &amp; w" j=\'1\'>\n <b>x &lt; y &#65;&#x42;</b><c/><b><![CDATA[<raw>]]></b>\n</a>',
  );
  assert.is(doc.name, 'a');
  assert.equal(doc.attrs, { k: 'v & w', j: '1' });
  assert.equal(doc.children.map((c) => c.name), ['b', 'c', 'b']);
  assert.is(doc.children[0].text, 'x < y AB');
  assert.is(doc.children[2].text, '<raw>');
  assert.is(doc.children[0].line, 5);
});

test('dataset config errors name the config file and field', async () => {
  const bad = async (obj: unknown, re: RegExp) => {
    const p = w(`cfg/bad-${Math.random().toString(36).slice(2)}.json`, JSON.stringify(obj));
    const e = await errorOf(loadDatasetConfig(p));
    assert.match(e.message, new RegExp(`bad-\\w+\\.json: ${re.source}`));
  };
  await bad({ name: 'x', format: 'darknet', train: {}, val: {} }, /"format" must be one of coco, yolo, voc/);
  await bad({ name: 'x', format: 'yolo', train: { images: 'i' }, val: { images: 'i' } }, /"classNames" is required for format "yolo"/);
  await bad({ name: 'x', format: 'coco', train: { images: 'i' }, val: {} }, /"train" needs "annotations" \+ "images"/);
  await bad({ name: 'x', format: 'coco', classNames: ['a', 'a'], train: { annotations: 'a', images: 'i' }, val: { annotations: 'a', images: 'i' } }, /class name "a" appears twice/);
  const cfg: DatasetConfig = await loadDatasetConfig(join(root, 'cfg', 'voc.json'));
  assert.equal(cfg.classNames, CLASSES); // read from names.txt next to the config
  assert.is((cfg.train as { root: string }).root, join(root, 'voc'));
});

test.run();
