import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { fitPlacement, placementAffine } from '../src/image/geometry.ts';
import { sampleRandomPlacement } from '../src/data/random-placement.ts';
import { transformBoxes, invertAffineBoxes, flipBoxes, clipBoxes, boxesToTargets } from '../src/data/box-ops.ts';
import { flipHorizontal, blendInto } from '../src/data/pixels.ts';
import { mosaicLayout, mosaicBoxes } from '../src/data/mosaic.ts';
import { applyHsvGains } from '../src/data/hsv.ts';
import { resolveAugment, DEFAULT_AUGMENT } from '../src/data/augment-options.ts';
import { makeSample, type SampleContext } from '../src/data/sample.ts';
import { Rng } from '../src/data/prng.ts';
import type { RgbImage } from '../src/image/rgb.ts';
import type { Box, DatasetItem } from '../src/data/types.ts';

const root = mkdtempSync(join(tmpdir(), 'data-augment-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

type RGB = [number, number, number];
function solid(width: number, height: number, c: RGB): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(c, i * 3);
  return { data, width, height };
}
function fillRect(img: RgbImage, x1: number, y1: number, x2: number, y2: number, c: RGB) {
  for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) img.data.set(c, (y * img.width + x) * 3);
}
const px = (img: RgbImage, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
async function writePng(img: RgbImage, name: string): Promise<string> {
  const file = join(root, name);
  await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toFile(file);
  return file;
}
const near = (a: number, b: number, eps = 1e-9) => Math.abs(a - b) < eps;
const boxClose = (g: Box, w: [number, number, number, number, number], what: string) => {
  assert.ok(near(g.x1, w[0]) && near(g.y1, w[1]) && near(g.x2, w[2]) && near(g.y2, w[3]) && g.classId === w[4], `${what}: got ${JSON.stringify(g)}, want ${w}`);
};

test('letterbox box mapping, by hand', () => {
  // 640x480 into 416: s = min(416/640, 416/480) = 0.65, 416x312, centred: dx 0, dy (416-312)/2 = 52.
  const p = fitPlacement(640, 480, 416, 416);
  assert.equal(p, { nw: 416, nh: 312, dx: 0, dy: 52 });
  const [b] = transformBoxes([{ x1: 100, y1: 50, x2: 300, y2: 250, classId: 4 }], placementAffine(640, 480, p));
  // x: 100*0.65 = 65, 300*0.65 = 195; y: 50*0.65+52 = 84.5, 250*0.65+52 = 214.5
  boxClose(b, [65, 84.5, 195, 214.5, 4], '640x480');
  // Portrait 300x500 into 320: s = 0.64, 192x320, dx = (320-192)/2 = 64.
  const q = fitPlacement(300, 500, 320, 320);
  assert.equal(q, { nw: 192, nh: 320, dx: 64, dy: 0 });
  const [c] = transformBoxes([{ x1: 30, y1: 100, x2: 150, y2: 400, classId: 0 }], placementAffine(300, 500, q));
  boxClose(c, [30 * 0.64 + 64, 64, 150 * 0.64 + 64, 256, 0], '300x500'); // 83.2, 64, 160, 256
  // And back to the original pixels.
  boxClose(invertAffineBoxes([c], placementAffine(300, 500, q))[0], [30, 100, 150, 400, 0], 'inverse');
  // Odd padding rounds down: 100x37 into 64 -> 64x23 (floor 23.68), dy = floor(41/2) = 20.
  assert.equal(fitPlacement(100, 37, 64, 64), { nw: 64, nh: 23, dx: 0, dy: 20 });
});

test('letterbox pixels: gray 128 padding, the image centred', async () => {
  // 40x20: left half red, right half blue -> 32x16 at dy = 8 in a 32x32 canvas.
  const img = solid(40, 20, [255, 0, 0]);
  fillRect(img, 20, 0, 40, 20, [0, 0, 255]);
  const file = await writePng(img, 'lb.png');
  const ctx: SampleContext = { items: [{ id: 'lb', file, boxes: [] }], size: 32, augment: null, pick: () => 0 };
  const r = await makeSample(ctx, 0, new Rng(0));
  assert.equal(r.info.transform, { sx: 0.8, sy: 0.8, dx: 0, dy: 8 });
  for (const [x, y] of [[0, 0], [31, 7], [16, 24], [31, 31]]) assert.equal(px(r.image, x, y), [128, 128, 128], `pad at ${x},${y}`);
  assert.equal(px(r.image, 3, 8), [255, 0, 0]);
  assert.equal(px(r.image, 4, 23), [255, 0, 0]);
  assert.equal(px(r.image, 28, 16), [0, 0, 255]);
});

test('random placement with scale, jitter and placement off is the letterbox; ranges hold when on', () => {
  const off = { scale: null, jitter: 0, placement: false };
  for (const [w, h] of [[640, 480], [300, 500], [417, 416], [1000, 10]]) {
    assert.equal(sampleRandomPlacement(new Rng(1), w, h, 416, off), fitPlacement(w, h, 416, 416), `${w}x${h}`);
  }
  const rng = new Rng(7);
  for (let i = 0; i < 200; i++) {
    const p = sampleRandomPlacement(rng, 640, 480, 416, { scale: [0.25, 2], jitter: 0.3, placement: true });
    const longer = Math.max(p.nw, p.nh);
    assert.ok(longer >= Math.floor(0.25 * 416) - 1 && longer <= 2 * 416, `longer side ${longer}`);
    const ar = p.nw / p.nh / (640 / 480);
    assert.ok(ar > (0.7 / 1.3) * 0.95 && ar < (1.3 / 0.7) * 1.05, `aspect change ${ar}`);
    // dx = trunc(U(0, S - nw)): between 0 and S - nw whichever sign that has.
    assert.ok(p.dx >= Math.min(0, 416 - p.nw) && p.dx <= Math.max(0, 416 - p.nw));
  }
});

test('horizontal flip maps x -> W - x (boxes and pixels)', async () => {
  assert.equal(flipBoxes([{ x1: 10, y1: 3, x2: 25, y2: 9, classId: 2 }], 64), [{ x1: 39, y1: 3, x2: 54, y2: 9, classId: 2 }]);
  const img = solid(5, 1, [0, 0, 0]);
  img.data.set([1, 1, 1], 0);
  img.data.set([2, 2, 2], 3);
  flipHorizontal(img);
  assert.equal(Array.from(img.data), [0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 1, 1, 1]);

  // Through the sample pipeline: a 64x64 image with a red block at x 8..24, y 16..40, always flipped.
  const src = solid(64, 64, [40, 40, 40]);
  fillRect(src, 8, 16, 24, 40, [255, 0, 0]);
  const file = await writePng(src, 'flip.png');
  const items: DatasetItem[] = [{ id: 'f', file, width: 64, height: 64, boxes: [{ x1: 8, y1: 16, x2: 24, y2: 40, classId: 1 }] }];
  const augment = resolveAugment({ mosaic: 0, scale: null, jitter: 0, placement: false, flip: 1, hsv: null });
  const ctx: SampleContext = { items, size: 64, augment, pick: () => 0 };
  const s = await makeSample(ctx, 0, new Rng(3));
  assert.ok(s.info.flip);
  boxClose(s.boxes[0], [64 - 24, 16, 64 - 8, 40, 1], 'flipped box');
  assert.equal(px(s.image, 40, 16), [255, 0, 0]);
  assert.equal(px(s.image, 55, 39), [255, 0, 0]);
  assert.equal(px(s.image, 39, 20), [40, 40, 40]);
  assert.equal(px(s.image, 8, 20), [40, 40, 40]);
});

test('mosaic boxes by hand: placed at the centre, scaled, mirrored, cut to the quadrant', () => {
  // 100x100 canvas, centre (40, 60).
  const layout = mosaicLayout(100, 40, 60, [
    { nw: 50, nh: 25, flip: false }, // top-left, from a 200x100 image (scale 0.25)
    { nw: 10, nh: 10, flip: false },
    { nw: 10, nh: 10, flip: false },
    { nw: 80, nh: 80, flip: true }, // bottom-right, from a 100x100 image (scale 0.8), mirrored
  ]);
  assert.equal(layout.tiles[0].placement, { nw: 50, nh: 25, dx: -10, dy: 35 }); // corner at the centre
  assert.equal(layout.tiles[1].placement, { nw: 10, nh: 10, dx: 40, dy: 50 });
  assert.equal(layout.tiles[2].placement, { nw: 10, nh: 10, dx: 30, dy: 60 });
  assert.equal(layout.tiles[3].placement, { nw: 80, nh: 80, dx: 40, dy: 60 });
  const boxes = mosaicBoxes(layout, [
    // (20,10)-(120,60) * 0.25 = (5,2.5)-(30,15), + (-10,35) = (-5,37.5)-(20,50) -> cut at x 0.
    { boxes: [{ x1: 20, y1: 10, x2: 120, y2: 60, classId: 0 }], width: 200, height: 100 },
    // tile 1 covers x 40..50, y 50..60; this box lands at x 40..45, y 50..55 (scale 0.1).
    { boxes: [{ x1: 0, y1: 0, x2: 50, y2: 50, classId: 1 }], width: 100, height: 100 },
    // tile 2 at (30,60): the box maps to x 30..35 -> left of its quadrant's x < 40 is fine; y 60..65.
    { boxes: [{ x1: 0, y1: 0, x2: 50, y2: 50, classId: 2 }, { x1: 95, y1: 0, x2: 100, y2: 50, classId: 2 }], width: 100, height: 100 },
    // (10,20)-(30,40) * 0.8 = (8,16)-(24,32); mirrored in 80: (56,16)-(72,32); + (40,60) = (96,76)-(112,92) -> cut at x 100.
    { boxes: [{ x1: 10, y1: 20, x2: 30, y2: 40, classId: 3 }], width: 100, height: 100 },
  ]);
  assert.is(boxes.length, 4); // the second box of tile 2 (x 39.5..40) is under 1 px and dropped
  boxClose(boxes[0], [0, 37.5, 20, 50, 0], 'top-left');
  boxClose(boxes[1], [40, 50, 45, 55, 1], 'top-right');
  boxClose(boxes[2], [30, 60, 35, 65, 2], 'bottom-left');
  boxClose(boxes[3], [96, 76, 100, 92, 3], 'bottom-right');
});

// Four 64x64 images, each with its own background and object colour and four 16x16 objects,
// one per quarter: A (8,8) class 0, B (40,8) class 1, C (8,40) class 2, D (40,40) class 3.
const COLORS: [RGB, RGB][] = [
  [[200, 30, 30], [30, 30, 200]],
  [[30, 200, 30], [200, 200, 30]],
  [[30, 30, 200], [200, 30, 200]],
  [[120, 60, 10], [10, 200, 200]],
];
const QUARTERS: [number, number][] = [[8, 8], [40, 8], [8, 40], [40, 40]];
let fourItems: DatasetItem[] = [];
test.before(async () => {
  fourItems = await Promise.all(
    COLORS.map(async ([bg, fg], k) => {
      const img = solid(64, 64, bg);
      for (const [x, y] of QUARTERS) fillRect(img, x, y, x + 16, y + 16, fg);
      const file = await writePng(img, `four${k}.png`);
      return { id: k, file, width: 64, height: 64, boxes: QUARTERS.map(([x, y], c) => ({ x1: x, y1: y, x2: x + 16, y2: y + 16, classId: c })) };
    }),
  );
});

test('mosaic end to end with randomness pinned: each quadrant shows the right quarter of its image', async () => {
  for (const flip of [0, 1]) {
    // Centre fixed at 32, tiles at scale 1 (64x64, no resize): each quadrant shows the quarter of its
    // image that lies against the centre: TL shows D, TR shows C, BL shows B, BR shows A
    // (mirrored tiles: TL shows C, TR D, BL A, BR B).
    const augment = resolveAugment({ mosaic: 1, mixup: 0, mosaicScale: [1, 1], mosaicCenter: [0.5, 0.5], jitter: 0, flip, hsv: null });
    const ctx: SampleContext = { items: fourItems, size: 64, augment, pick: (r) => r.int(4) };
    const s = await makeSample(ctx, 2, new Rng(11 + flip));
    assert.ok(s.info.mosaic && !s.info.mixup);
    assert.equal(s.info.mosaicCut, [32, 32]);
    assert.is(s.info.parts[0], 2);
    const want = flip ? [2, 3, 0, 1] : [3, 2, 1, 0];
    assert.is(s.boxes.length, 4);
    s.boxes.forEach((b, q) => boxClose(b, [QUARTERS[q][0], QUARTERS[q][1], QUARTERS[q][0] + 16, QUARTERS[q][1] + 16, want[q]], `flip ${flip} quadrant ${q}`));
    s.info.parts.forEach((part, q) => {
      const [bg, fg] = COLORS[part as number];
      const [x, y] = QUARTERS[q];
      assert.equal(px(s.image, x + 8, y + 8), fg, `object colour in quadrant ${q}`);
      assert.equal(px(s.image, x + (q % 2 ? 20 : -5), y + 2), bg, `background colour in quadrant ${q}`);
    });
  }
});

test('random mosaics: every box lies inside one quadrant; all boxes inside the canvas and >= 1 px', async () => {
  const augment = resolveAugment({ mixup: 0, mosaic: 1 });
  const ctx: SampleContext = { items: fourItems, size: 96, augment, pick: (r) => r.int(4) };
  let boxes = 0;
  for (let seed = 0; seed < 12; seed++) {
    const s = await makeSample(ctx, seed % 4, Rng.derive(5, seed));
    const [cx, cy] = s.info.mosaicCut!;
    assert.ok(cx >= 0.3 * 96 - 1 && cx <= 0.7 * 96 && cy >= 0.3 * 96 - 1 && cy <= 0.7 * 96);
    for (const b of s.boxes) {
      const inX = b.x2 <= cx || b.x1 >= cx;
      const inY = b.y2 <= cy || b.y1 >= cy;
      assert.ok(inX && inY, `box ${JSON.stringify(b)} crosses the centre ${cx},${cy}`);
      assert.ok(b.x1 >= 0 && b.y1 >= 0 && b.x2 <= 96 && b.y2 <= 96 && b.x2 - b.x1 >= 1 && b.y2 - b.y1 >= 1);
      boxes++;
    }
  }
  assert.ok(boxes > 10);
});

test('mixup: a 50/50 blend of a mosaic and another sample, boxes of both', async () => {
  const a = solid(2, 1, [100, 0, 255]);
  blendInto(a, solid(2, 1, [200, 255, 0]));
  assert.equal(Array.from(a.data), [150, 128, 128, 150, 128, 128]);
  const augment = resolveAugment({ mosaic: 1, mixup: 1, hsv: null });
  const ctx: SampleContext = { items: fourItems, size: 64, augment, pick: (r) => r.int(4) };
  const s = await makeSample(ctx, 0, new Rng(9));
  assert.ok(s.info.mixup);
  assert.is(s.info.parts.length, 5);
  // Boxes of the mixed-in single sample are not cut to quadrants, so some of them may cross the centre;
  // all boxes are inside the canvas.
  for (const b of s.boxes) assert.ok(b.x1 >= 0 && b.x2 <= 64 && b.y1 >= 0 && b.y2 <= 64);
});

test('HSV jitter: identity, value and saturation gains, hue rotation', () => {
  const img = { data: new Uint8Array([200, 100, 50, 0, 255, 0]), width: 2, height: 1 };
  applyHsvGains(img, { h: 1, s: 1, v: 1 });
  assert.equal(Array.from(img.data), [200, 100, 50, 0, 255, 0]);
  applyHsvGains(img, { h: 1, s: 1, v: 0.5 });
  assert.equal(Array.from(img.data), [100, 50, 25, 0, 128, 0]);
  const gray = { data: new Uint8Array([200, 100, 50]), width: 1, height: 1 };
  applyHsvGains(gray, { h: 1, s: 0, v: 1 });
  assert.equal(Array.from(gray.data), [200, 200, 200]);
  // Green is hue 120 deg; x1.5 = 180 deg = cyan.
  const green = { data: new Uint8Array([0, 255, 0]), width: 1, height: 1 };
  applyHsvGains(green, { h: 1.5, s: 1, v: 1 });
  assert.equal(Array.from(green.data), [0, 255, 255]);
  // Saturation and value gains clip at 1.
  const sat = { data: new Uint8Array([255, 128, 128]), width: 1, height: 1 };
  applyHsvGains(sat, { h: 1, s: 3, v: 2 });
  assert.equal(Array.from(sat.data), [255, 0, 0]);
});

test('clip and drop under 1 px; targets normalized [cx, cy, w, h, class]', () => {
  const kept = clipBoxes(
    [
      { x1: -10, y1: 5, x2: 20, y2: 15, classId: 0 },
      { x1: 99.5, y1: 5, x2: 120, y2: 15, classId: 1 }, // 0.5 px left after clipping
      { x1: 10, y1: 10, x2: 30, y2: 10.9, classId: 2 }, // 0.9 px high
    ],
    0,
    0,
    100,
    100,
  );
  assert.equal(kept, [{ x1: 0, y1: 5, x2: 20, y2: 15, classId: 0 }]);
  assert.equal(Array.from(boxesToTargets(kept, 100)), [0.1, 0.1, 0.2, 0.1, 0].map(Math.fround));
});

test('augment options: defaults of the reference, switches and range checks', () => {
  assert.is(resolveAugment(false), null);
  assert.equal(resolveAugment(true), { ...DEFAULT_AUGMENT });
  assert.equal(DEFAULT_AUGMENT.scale, [0.25, 2]);
  assert.equal(DEFAULT_AUGMENT.hsv, { hue: 0.1, sat: 0.7, val: 0.4 });
  assert.is(resolveAugment({ mosaic: 0 })!.mosaic, 0);
  assert.is(resolveAugment({ mosaic: 0 })!.flip, 0.5);
  assert.throws(() => resolveAugment({ flip: 2 }), /flip must be a probability/);
  assert.throws(() => resolveAugment({ scale: [2, 1] }), /scale must be/);
});

test.run();
