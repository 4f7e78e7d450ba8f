import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { generateShapesDataset } from '../src/data/shapes.ts';
import { loadDatasetConfig, openDataset } from '../src/data/dataset-config.ts';
import { createLoader, type Batch } from '../src/data/loader.ts';
import { DatasetError } from '../src/data/errors.ts';
import type { Dataset } from '../src/data/types.ts';

const root = mkdtempSync(join(tmpdir(), 'data-loader-'));
let ds: Dataset;
test.before(async () => {
  const r = await generateShapesDataset({ outDir: join(root, 'shapes'), train: 10, val: 2, size: 80, seed: 3, format: 'png' });
  ds = await openDataset(await loadDatasetConfig(r.configPath!), 'train');
});
test.after(() => rmSync(root, { recursive: true, force: true }));

async function collect(gen: AsyncGenerator<Batch>, keep = false) {
  const out: { ids: (string | number)[]; targets: Float32Array[]; data?: Float32Array; shape: number[] }[] = [];
  for await (const b of gen) {
    out.push({ ids: b.ids, targets: b.targets, shape: b.images.shape, data: keep ? (b.images.dataSync() as Float32Array).slice() : undefined });
    b.images.dispose();
  }
  return out;
}

test('batches: shapes, value range, every image once per epoch, normalized targets', async () => {
  const loader = createLoader(ds, { batchSize: 4, inputSize: 64, augment: true, seed: 1 });
  assert.is(loader.batchesPerEpoch, 3);
  const batches = await collect(loader.epoch(0), true);
  assert.equal(batches.map((b) => b.shape), [[4, 64, 64, 3], [4, 64, 64, 3], [2, 64, 64, 3]]);
  assert.equal(batches.flatMap((b) => b.ids).sort(), ds.items.map((it) => it.id).sort());
  for (const b of batches) {
    assert.ok(b.data!.every((v) => v >= 0 && v <= 1));
    for (const t of b.targets) {
      assert.is(t.length % 5, 0);
      for (let i = 0; i < t.length; i += 5) {
        const [cx, cy, w, h, c] = t.subarray(i, i + 5);
        assert.ok(w > 0 && h > 0 && cx - w / 2 >= -1e-6 && cx + w / 2 <= 1 + 1e-6 && cy - h / 2 >= -1e-6 && cy + h / 2 <= 1 + 1e-6);
        assert.ok([0, 1, 2].includes(c));
      }
    }
  }
});

test('without augmentation: letterboxed targets equal the annotations mapped by hand', async () => {
  const loader = createLoader(ds, { batchSize: 3, inputSize: 64, shuffle: false });
  const it = loader.epoch(0);
  const { value: b } = await it.next();
  const batch = b as Batch;
  batch.images.dispose();
  await it.return();
  batch.infos.forEach((info, k) => {
    const item = ds.items[k];
    assert.is(info.id, item.id);
    // letterbox: s = 64 / max(w, h); nw = floor(w s); dx = floor((64 - nw) / 2)
    const s = 64 / Math.max(item.width!, item.height!);
    const nw = Math.floor(item.width! * s);
    const nh = Math.floor(item.height! * s);
    const dx = Math.floor((64 - nw) / 2);
    const dy = Math.floor((64 - nh) / 2);
    const t = batch.targets[k];
    assert.is(t.length, item.boxes.length * 5);
    item.boxes.forEach((bx, i) => {
      const x1 = (bx.x1 * nw) / item.width! + dx;
      const x2 = (bx.x2 * nw) / item.width! + dx;
      const y1 = (bx.y1 * nh) / item.height! + dy;
      const y2 = (bx.y2 * nh) / item.height! + dy;
      const want = [(x1 + x2) / 128, (y1 + y2) / 128, (x2 - x1) / 64, (y2 - y1) / 64, bx.classId];
      want.forEach((v, j) => assert.ok(Math.abs(t[i * 5 + j] - v) < 1e-6, `image ${k} box ${i} field ${j}: ${t[i * 5 + j]} vs ${v}`));
    });
  });
});

test('same seed, same batches; another seed or epoch, other batches', async () => {
  const run = (seed: number, epoch: number) => collect(createLoader(ds, { batchSize: 5, inputSize: 64, augment: true, seed, prefetch: 2 }).epoch(epoch), true);
  const a = await run(7, 0);
  const b = await run(7, 0);
  assert.equal(a.map((x) => x.ids), b.map((x) => x.ids));
  assert.equal(a.map((x) => x.targets.map((t) => Array.from(t))), b.map((x) => x.targets.map((t) => Array.from(t))));
  assert.ok(a.every((x, i) => x.data!.every((v, j) => v === b[i].data![j])));
  const c = await run(8, 0);
  const d = await run(7, 1);
  assert.not.equal(c.map((x) => x.ids), a.map((x) => x.ids));
  assert.not.equal(d.map((x) => x.ids), a.map((x) => x.ids));
});

test('tensor count stays flat over several batches and epochs, also when stopping early', async () => {
  const loader = createLoader(ds, { batchSize: 3, inputSize: 64, augment: true, seed: 2, prefetch: 2 });
  const before = tf.memory().numTensors;
  const bytesBefore = tf.memory().numBytes;
  const counts: number[] = [];
  for (let e = 0; e < 3; e++) {
    for await (const b of loader.epoch(e)) {
      counts.push(tf.memory().numTensors - before); // only the batch being held
      b.images.dispose();
    }
  }
  assert.ok(counts.length >= 12 && counts.every((c) => c === 1), counts.join(','));
  for await (const b of loader.epoch(9)) {
    b.images.dispose();
    break; // prefetched batches are typed arrays, not tensors: nothing to leak
  }
  await new Promise((r) => setTimeout(r, 50));
  assert.is(tf.memory().numTensors, before);
  assert.is(tf.memory().numBytes, bytesBefore);
});

test('mosaic can be switched off on the loader (e.g. for the last epochs)', async () => {
  const loader = createLoader(ds, { batchSize: 10, inputSize: 64, augment: { mosaic: 1, mixup: 0 }, seed: 4 });
  const infos = async () => {
    const out = [];
    for await (const b of loader.epoch()) {
      b.images.dispose();
      out.push(...b.infos);
    }
    return out;
  };
  assert.ok((await infos()).every((i) => i.mosaic));
  loader.setAugment({ mosaic: 0 });
  assert.is(loader.augment!.mosaic, 0);
  assert.is(loader.augment!.flip, 0.5); // the rest unchanged
  assert.ok((await infos()).every((i) => !i.mosaic));
  loader.setAugment(false);
  const plain = await infos();
  assert.ok(plain.every((i) => !i.mosaic && !i.flip && i.transform));
});

test('a corrupt image: error naming the file, or skipped with a warning (skipBad)', async () => {
  const corrupt = { ...ds, items: ds.items.map((it) => ({ ...it })) };
  const bad = join(root, 'corrupt.png');
  writeFileSync(bad, 'not a png at all');
  corrupt.items[1].file = bad;
  let err: unknown;
  try {
    await collect(createLoader(corrupt, { batchSize: 4, inputSize: 64, shuffle: false }).epoch(0));
  } catch (e) {
    err = e;
  }
  assert.instance(err, DatasetError);
  assert.match((err as Error).message, /corrupt\.png: cannot decode image/);
  const warnings: string[] = [];
  const loader = createLoader(corrupt, { batchSize: 4, inputSize: 64, augment: true, seed: 5, skipBad: true, warn: (m) => warnings.push(m) });
  const batches = await collect(loader.epoch(0));
  const ids = batches.flatMap((b) => b.ids);
  assert.not.ok(ids.includes(corrupt.items[1].id));
  assert.ok(ids.length === corrupt.items.length - 1);
  assert.is(warnings.length, 1);
  assert.match(warnings[0], /corrupt\.png/);
  assert.ok(loader.badIndices.has(1));
});

test('worker threads give the same batches, and errors that still name the file', async () => {
  const opts = { batchSize: 4, inputSize: 64, augment: true, seed: 21 } as const;
  const inProcess = await collect(createLoader(ds, opts).epoch(0), true);
  const loader = createLoader(ds, { ...opts, workers: 1 });
  try {
    const viaWorkers = await collect(loader.epoch(0), true);
    assert.equal(viaWorkers.map((b) => b.ids), inProcess.map((b) => b.ids));
    assert.equal(viaWorkers.map((b) => b.targets.map((t) => Array.from(t))), inProcess.map((b) => b.targets.map((t) => Array.from(t))));
    assert.ok(viaWorkers.every((b, i) => b.data!.every((v, j) => v === inProcess[i].data![j])));
  } finally {
    await loader.close();
  }
  const corrupt = { ...ds, items: ds.items.map((it) => ({ ...it })) };
  corrupt.items[0].file = join(root, 'corrupt-w.png');
  writeFileSync(corrupt.items[0].file, 'nope');
  const bad = createLoader(corrupt, { batchSize: 2, inputSize: 64, shuffle: false, workers: 1 });
  try {
    await collect(bad.epoch(0));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, DatasetError);
    assert.match((e as Error).message, /corrupt-w\.png: cannot decode image/);
  } finally {
    await bad.close();
  }
});

test("resizeMode 'resize': a non-square image is stretched to the input, its boxes scaled per axis", async () => {
  // 40x20 in quadrants (red, blue / green, white) -> 32x32: x scale 32/40 = 0.8, y scale 32/20 = 1.6.
  const w = 40, h = 20;
  const px = new Uint8Array(w * h * 3);
  const colour = (x: number, y: number) => (y < 10 ? (x < 20 ? [255, 0, 0] : [0, 0, 255]) : x < 20 ? [0, 255, 0] : [255, 255, 255]);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set(colour(x, y), (y * w + x) * 3);
  const file = join(root, 'wide.png');
  await sharp(Buffer.from(px), { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
  const wide: Dataset = { ...ds, items: [{ id: 'wide', file, width: w, height: h, boxes: [{ x1: 5, y1: 5, x2: 25, y2: 15, classId: 2 }] }] };

  const at = (data: Float32Array, x: number, y: number) => Array.from(data.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3), (v) => Math.round(v * 255));
  for (const workers of [0, 1]) {
    const loader = createLoader(wide, { batchSize: 1, inputSize: 32, resizeMode: 'resize', shuffle: false, workers });
    try {
      assert.is(loader.resizeMode, 'resize');
      const batches: Batch[] = [];
      for await (const b of loader.epoch(0)) batches.push(b);
      const [b] = batches;
      const data = b.images.dataSync() as Float32Array;
      b.images.dispose();
      // Each quadrant fills a 16x16 corner of the input; no gray padding anywhere.
      assert.equal(at(data, 4, 4), [255, 0, 0], `red, workers ${workers}`);
      assert.equal(at(data, 27, 4), [0, 0, 255], `blue, workers ${workers}`);
      assert.equal(at(data, 4, 27), [0, 255, 0], `green, workers ${workers}`);
      assert.equal(at(data, 27, 27), [255, 255, 255], `white, workers ${workers}`);
      assert.equal(at(data, 0, 0), [255, 0, 0], `top-left corner, workers ${workers}`);
      assert.equal(at(data, 31, 31), [255, 255, 255], `bottom-right corner, workers ${workers}`);
      // Box (5, 5)-(25, 15) -> (4, 8)-(20, 24) in input pixels -> cx 12/32, cy 16/32, w 16/32, h 16/32.
      assert.equal(Array.from(b.targets[0]), [0.375, 0.5, 0.5, 0.5, 2]);
      assert.equal(b.infos[0].transform, { sx: 0.8, sy: 1.6, dx: 0, dy: 0 });
    } finally {
      await loader.close();
    }
  }

  // The default is still the letterbox: 32x16 at dy = 8, gray above, and the box scaled by 0.8 on both axes.
  const lb = createLoader(wide, { batchSize: 1, inputSize: 32, shuffle: false });
  assert.is(lb.resizeMode, 'letterbox');
  for await (const b of lb.epoch(0)) {
    const data = b.images.dataSync() as Float32Array;
    b.images.dispose();
    assert.equal(at(data, 4, 0), [128, 128, 128]);
    assert.equal(at(data, 4, 12), [255, 0, 0]);
    // (5, 5)-(25, 15) -> (4, 12)-(20, 20): cx 12/32, cy 16/32, w 16/32, h 8/32.
    assert.equal(Array.from(b.targets[0]), [0.375, 0.5, 0.5, 0.25, 2]);
  }
});

test.run();
