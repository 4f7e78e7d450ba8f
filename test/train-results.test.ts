import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { readResults, writeResults, resultsPanels, plotResults, type EpochRecord } from '../src/train/results.ts';

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-train-results-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

const record = (epoch: number, AP: number): EpochRecord => ({
  epoch, loss: 2 - epoch * 0.1, box: 1, obj: 0.5, cls: 0.5, lr: 0.01, valLoss: 1.5, AP, AP50: Number.isFinite(AP) ? AP * 2 : NaN, seconds: 3,
});

test('results.csv: epochs never validated stay empty after a read-back (a resume rewrites the file from it)', async () => {
  const csv = path.join(work, 'results.csv');
  await writeResults(csv, [record(0, NaN), record(1, 0.25)]);
  const back = await readResults(csv, 2);
  assert.ok(Number.isNaN(back[0].AP) && Number.isNaN(back[0].AP50), `epoch 0 AP read back as ${back[0].AP}`);
  assert.is(back[1].AP, 0.25);
  // What a resumed run does: read, then write again; the unvalidated cells must stay empty, not 0.
  await writeResults(csv, back);
  const row = readFileSync(csv, 'utf8').trim().split('\n')[1].split(',');
  assert.equal(row.slice(7, 9), ['', ''], row.join(','));
});

test('results plot: AP in its own panel, only the validated epochs drawn; losses in theirs', async () => {
  const panels = resultsPanels([record(0, NaN), record(1, NaN), record(2, 0.3)]);
  assert.is(panels.length, 2);
  const [loss, ap] = panels;
  assert.equal(loss.series.map((s) => s.name), ['train loss', 'val loss']);
  assert.equal(ap.series.map((s) => s.name), ['AP', 'AP50']);
  assert.equal(ap.series[0].xs, [3]);
  assert.equal(ap.series[0].ys, [0.3]);
  const file = path.join(work, 'results.png');
  await plotResults(file, [record(0, NaN), record(1, NaN), record(2, 0.3)]);
  assert.ok(existsSync(file));
  const meta = await sharp(file).metadata();
  assert.ok(meta.width! > meta.height!, `two panels side by side: ${meta.width}x${meta.height}`);
});

test.run();
