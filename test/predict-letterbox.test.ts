import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readRgb } from '../src/image/decode.ts';
import { applyLetterboxBox, letterboxImage, undoLetterbox, type LetterboxResult } from '../src/image/letterbox.ts';
import { resizeBicubic } from '../src/image/resample-pillow.ts';
import type { RawImage } from '../src/image/rgb.ts';

// Hashes of Pillow 9.4 outputs, made by test/fixtures/images/pillow-bicubic.py.
const PIL = JSON.parse(readFileSync('test/fixtures/images/pillow-bicubic.json', 'utf8')) as {
  resize: Record<string, { sha256: string; sum: number }>;
  'dog.jpg': Record<string, { sha256: string; sum: number }>;
};
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const sum = (b: Uint8Array) => b.reduce((s, v) => s + v, 0);

const BG = [0, 0, 200];
const RED = [255, 0, 0];

/** A w x h RGB PNG of colour BG with a red rectangle [x1, x2) x [y1, y2). */
async function rectImage(w: number, h: number, rect: number[]): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inside = x >= rect[0] && x < rect[2] && y >= rect[1] && y < rect[3];
      raw.set(inside ? RED : BG, (y * w + x) * 3);
    }
  }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

/** Pixel (x, y) of a letterbox result in 0..255. */
const px = (r: LetterboxResult, x: number, y: number) =>
  Array.from(r.tensorData.subarray((y * r.info.inputW + x) * 3, (y * r.info.inputW + x) * 3 + 3), (v) => Math.round(v * 255));

const near = (got: number[], want: number[], tol: number, msg: string) =>
  assert.ok(got.every((v, i) => Math.abs(v - want[i]) <= tol), `${msg}: got ${got}, want ${want}`);

test('wide image: gray 128 bars top and bottom, rectangle where the arithmetic puts it', async () => {
  // 300 x 150 -> 96: scale = min(96/300, 96/150) = 0.32; nw = 96, nh = 48; padX = 0, padY = (96 - 48) // 2 = 24.
  // Rectangle x 50..150, y 25..100 -> x 50*0.32 = 16 .. 48, y 25*0.32 + 24 = 32 .. 100*0.32 + 24 = 56.
  const img = await rectImage(300, 150, [50, 25, 150, 100]);
  const r = await letterboxImage(img, 96);
  assert.equal(r.info, { origW: 300, origH: 150, inputW: 96, inputH: 96, scaleX: 0.32, scaleY: 0.32, padX: 0, padY: 24, mode: 'letterbox' });
  assert.is(r.tensorData.length, 96 * 96 * 3);
  for (let x = 0; x < 96; x++) {
    for (const y of [0, 10, 23, 72, 80, 95]) assert.equal(px(r, x, y), [128, 128, 128], `pad at ${x},${y}`);
  }
  for (const y of [24, 71]) near(px(r, 50, y), BG, 12, `first/last image row ${y}`);
  // Interior of the rectangle (2 px away from the edges: bicubic only touches neighbours) is red.
  for (let y = 34; y < 54; y += 3) for (let x = 18; x < 46; x += 3) near(px(r, x, y), RED, 3, `rect ${x},${y}`);
  // Outside it, background.
  for (const [x, y] of [[10, 40], [52, 40], [30, 28], [30, 60], [90, 70]]) near(px(r, x, y), BG, 3, `bg ${x},${y}`);
  // Edges are where expected: the column just inside the edge is mostly red, the one outside mostly blue.
  assert.ok(px(r, 16, 44)[0] > 200 && px(r, 15, 44)[0] < 60, `left edge ${px(r, 16, 44)} ${px(r, 15, 44)}`);
  assert.ok(px(r, 47, 44)[0] > 200 && px(r, 48, 44)[0] < 60, 'right edge');
  assert.ok(px(r, 30, 32)[0] > 200 && px(r, 30, 31)[0] < 60, 'top edge');
  assert.ok(px(r, 30, 55)[0] > 200 && px(r, 30, 56)[0] < 60, 'bottom edge');
});

test('tall image with odd padding: pad split (S - nw) // 2 on the left', async () => {
  // 61 x 100 -> 64: scale = 0.64; nw = int(61 * 0.64) = int(39.04) = 39, nh = 64; padX = (64 - 39) // 2 = 12 (13 right).
  const r = await letterboxImage(await rectImage(61, 100, [0, 0, 61, 100]), 64);
  assert.is(r.info.padX, 12);
  assert.is(r.info.padY, 0);
  assert.is(r.info.scaleX, 39 / 61);
  assert.is(r.info.scaleY, 0.64);
  for (let y = 0; y < 64; y += 7) {
    assert.equal(px(r, 11, y), [128, 128, 128]);
    near(px(r, 12, y), RED, 2, 'first image column');
    near(px(r, 50, y), RED, 2, 'last image column');
    assert.equal(px(r, 51, y), [128, 128, 128]);
  }
});

test("'resize' mode stretches without padding", async () => {
  // 300 x 150 -> 96 x 96: scaleX 0.32, scaleY 0.64; the rectangle goes to x 16..48, y 16..64.
  const r = await letterboxImage(await rectImage(300, 150, [50, 25, 150, 100]), 96, { mode: 'resize' });
  assert.equal([r.info.scaleX, r.info.scaleY, r.info.padX, r.info.padY], [0.32, 0.64, 0, 0]);
  near(px(r, 30, 40), RED, 3, 'inside');
  near(px(r, 30, 10), BG, 3, 'above');
  near(px(r, 30, 70), BG, 3, 'below');
  near(px(r, 0, 0), BG, 3, 'corner: no pad');
  const r2 = await letterboxImage(await rectImage(300, 150, [50, 25, 150, 100]), { width: 128, height: 64 }, { mode: 'resize' });
  assert.equal([r2.info.inputW, r2.info.inputH, r2.tensorData.length], [128, 64, 128 * 64 * 3]);
});

test('undoLetterbox inverts the letterbox mapping and clips to the image', async () => {
  const r = await letterboxImage(await rectImage(300, 150, [50, 25, 150, 100]), 96);
  // The rectangle's corners map to the corners measured above, and back.
  const fwd = applyLetterboxBox([50, 25, 150, 100], r.info);
  fwd.forEach((v, i) => assert.ok(Math.abs(v - [16, 32, 48, 56][i]) < 1e-9, `forward ${fwd}`));
  let seed = 3;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (const info of [r.info, (await letterboxImage(await rectImage(61, 100, [0, 0, 1, 1]), 64)).info]) {
    for (let i = 0; i < 50; i++) {
      const x1 = rand() * info.origW, y1 = rand() * info.origH;
      const box = [x1, y1, x1 + rand() * (info.origW - x1), y1 + rand() * (info.origH - y1)];
      const [back] = undoLetterbox([applyLetterboxBox(box, info)], info);
      back.forEach((v, k) => assert.ok(Math.abs(v - box[k]) < 1e-9, `round trip ${box} -> ${back}`));
    }
  }
  // A box reaching into the pad and past the image is clipped to [0, W] x [0, H].
  assert.equal(undoLetterbox([[-10, 0, 200, 96]], r.info), [[0, 0, 300, 150]]);
});

test('a real photo: dog.jpg (768 x 576) at 416 gives the reference geometry', async () => {
  // scale = min(416/768, 416/576) = 0.5416..; nw = int(768 * 0.5416..) = 416, nh = int(576 * 0.5416..) = 312; padY = 52.
  const r = await letterboxImage('test/fixtures/images/dog.jpg', 416);
  assert.equal([r.info.origW, r.info.origH, r.info.padX, r.info.padY, r.info.scaleX * 768, r.info.scaleY * 576], [768, 576, 0, 52, 416, 312]);
  assert.equal(px(r, 200, 51), [128, 128, 128]);
  assert.equal(px(r, 200, 364), [128, 128, 128]);
  const v = r.tensorData;
  assert.ok(v.every((x) => x >= 0 && x <= 1));
  // The image area is not flat gray.
  const row = Array.from({ length: 416 }, (_, x) => px(r, x, 200)[0]);
  assert.ok(Math.max(...row) - Math.min(...row) > 100);
});

test('bicubic resize is bit-exact with Pillow (shrink, enlarge, one axis only)', () => {
  const W = 53, H = 41;
  const src = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) src[(y * W + x) * 3 + c] = (x * 37 + y * 91 + c * 53 + ((x * y) % 17) * 11) % 256;
    }
  }
  for (const [size, want] of Object.entries(PIL.resize)) {
    const [w, h] = size.split('x').map(Number);
    const out = resizeBicubic(src, W, H, 3, w, h);
    assert.is(out.length, w * h * 3);
    assert.is(sum(out), want.sum, `${size} sum`);
    assert.is(sha256(out), want.sha256, `${size} bytes`);
  }
});

test('dog.jpg letterboxed and resized gives exactly the pixels of the Pillow reference', async () => {
  for (const [key, want] of Object.entries(PIL['dog.jpg'])) {
    const [mode, s] = key.split('_');
    const r = await letterboxImage('test/fixtures/images/dog.jpg', Number(s), { mode: mode as 'letterbox' | 'resize' });
    const bytes = Uint8Array.from(r.tensorData, (v) => Math.round(v * 255));
    assert.is(sum(bytes), want.sum, `${key} sum`);
    assert.is(sha256(bytes), want.sha256, `${key} bytes`);
  }
  // The libvips resampler is close when shrinking (measured: max 4 levels, mean 0.14 at 416).
  const a = await letterboxImage('test/fixtures/images/dog.jpg', 416);
  const b = await letterboxImage('test/fixtures/images/dog.jpg', 416, { resampler: 'sharp' });
  let maxDiff = 0;
  for (let i = 0; i < a.tensorData.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.tensorData[i] - b.tensorData[i]) * 255);
  assert.ok(maxDiff <= 8, `sharp vs pillow max ${maxDiff}`);
});

test('gray and RGBA inputs become RGB; raw input works', async () => {
  const gray: RawImage = { data: new Uint8Array(40 * 20).fill(77), width: 40, height: 20, channels: 1 };
  const g = await letterboxImage(gray, 32);
  assert.equal([g.info.padY, px(g, 5, 10)], [8, [77, 77, 77]]);
  const rgba = await sharp({ create: { width: 20, height: 20, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } }).png().toBuffer();
  const a = await letterboxImage(rgba, 32);
  assert.equal(px(a, 16, 16), [10, 200, 30]); // alpha dropped, not blended (as PIL's convert('RGB'))
  const rgb = await readRgb(rgba);
  assert.equal([rgb.width, rgb.height, rgb.channels, rgb.data.length], [20, 20, 3, 1200]);
});

test('clear errors naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lb-'));
  try {
    const missing = join(dir, 'nope.jpg');
    await letterboxImage(missing, 64).then(() => assert.unreachable(), (e: Error) => {
      assert.match(e.message, 'image file not found');
      assert.match(e.message, missing);
    });
    const bad = join(dir, 'broken.jpg');
    writeFileSync(bad, Buffer.from('this is not a jpeg at all'));
    await letterboxImage(bad, 64).then(() => assert.unreachable(), (e: Error) => {
      assert.match(e.message, `cannot read image "${bad}"`);
    });
    // A truncated JPEG fails too instead of giving a half-gray image.
    const cut = join(dir, 'cut.jpg');
    const full = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    writeFileSync(cut, full.subarray(0, Math.floor(full.length / 2)));
    await letterboxImage(cut, 64).then(() => assert.unreachable('truncated accepted'), (e: Error) => assert.match(e.message, 'cut.jpg'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
