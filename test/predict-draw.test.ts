import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { classColor, detectionsSvg, drawDetections, drawMetrics, labelRects } from '../src/predict/draw.ts';
import { overlapArea, type LabelRect } from '../src/predict/label-layout.ts';
import type { Detection } from '../src/predict/nms.ts';

const NAMES = ['person', 'dog', 'bicycle', 'car', 'horse', 'cat'];
const det = (box: [number, number, number, number], classId: number, score: number): Detection => ({ box, classId, score });

function assertApart(rects: LabelRect[], width: number, height: number): void {
  for (let i = 0; i < rects.length; i++) {
    const r = rects[i];
    assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.w <= width && r.y + r.h <= height, `label ${i} ${JSON.stringify(r)} inside ${width}x${height}`);
    for (let j = 0; j < i; j++) assert.is(overlapArea(r, rects[j]), 0, `labels ${j} ${JSON.stringify(rects[j])} and ${i} ${JSON.stringify(r)} overlap`);
  }
}

test('labels of overlapping boxes do not cover each other; the best keeps its place above its box', () => {
  const W = 400, H = 300;
  const { labelH } = drawMetrics(W, H);
  // Two boxes whose top-left corners nearly coincide: the old layout put both labels at (100, 100 - labelH).
  const two = [det([100, 100, 250, 260], 0, 0.9), det([104, 102, 240, 250], 1, 0.8)];
  const rects = labelRects(W, H, two, { classNames: NAMES });
  assert.is(rects.length, 2);
  assertApart(rects, W, H);
  assert.equal([rects[0].x, rects[0].y], [100, 100 - labelH], 'the best detection\'s label sits above its box');

  // Six identical boxes, and a crowd at the image's top edge (no room above): still apart.
  const six = NAMES.map((_, k) => det([50, 60, 200, 220], k, 0.9 - k * 0.1));
  assertApart(labelRects(W, H, six, { classNames: NAMES }), W, H);
  const top = NAMES.map((_, k) => det([10 + 3 * k, 0, 300 - k, 120], k, 0.9 - k * 0.1));
  assertApart(labelRects(W, H, top, { classNames: NAMES }), W, H);
});

test('the SVG draws each label at its placed rectangle', () => {
  const W = 320, H = 240;
  const dets = [det([40, 40, 200, 200], 0, 0.9), det([42, 44, 190, 180], 3, 0.7)];
  const svg = detectionsSvg(W, H, dets, { classNames: NAMES });
  const rects = labelRects(W, H, dets, { classNames: NAMES });
  rects.forEach((r, k) => {
    const hex = `#${classColor(dets[k].classId).map((v) => v.toString(16).padStart(2, '0')).join('')}`;
    assert.ok(svg.includes(`<rect x="${r.x}" y="${r.y}" width="${r.w}" height="${r.h}" fill="${hex}"/>`), `label ${k} at ${JSON.stringify(r)}`);
  });
});

test('a drawn image shows both labels in their colours (written to a temp folder)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'draw-'));
  try {
    const W = 320, H = 240;
    const dets = [det([60, 60, 260, 220], 0, 0.93), det([64, 62, 250, 210], 2, 0.81), det([66, 66, 240, 200], 4, 0.55)];
    const src = await sharp({ create: { width: W, height: H, channels: 3, background: { r: 40, g: 40, b: 40 } } }).png().toBuffer();
    const out = join(dir, 'overlap.png');
    await drawDetections(src, dets, out, { classNames: NAMES });
    if (process.env.KEEP_DRAW_PNG) await sharp(out).toFile(process.env.KEEP_DRAW_PNG);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    const rects = labelRects(W, H, dets, { classNames: NAMES });
    rects.forEach((r, k) => {
      // Two opposite corners of the label (outside its text) have the class colour: nothing drawn over it.
      const c = classColor(dets[k].classId);
      for (const [x, y] of [[r.x + 1, r.y + 1], [r.x + r.w - 2, r.y + r.h - 2]]) {
        const px = Array.from(data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3));
        assert.ok(px.every((v, i) => Math.abs(v - c[i]) < 8), `label ${k} pixel (${x}, ${y}) ${px} ~ ${c}`);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
