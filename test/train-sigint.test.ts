import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateShapesDataset } from '../src/data/shapes.ts';
import { readCheckpointMeta } from '../src/io/checkpoint.ts';
import type { TrainingState } from '../src/train/trainer.ts';

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-train-sigint-'));
const root = path.resolve(import.meta.dirname, '..');
test.after(() => rmSync(work, { recursive: true, force: true }));

test('C12: Ctrl-C during `yolo4 train` saves a resumable last, prints the resume command and exits 130', async () => {
  const r = await generateShapesDataset({ outDir: path.join(work, 'shapes'), train: 8, val: 2, size: 64, seed: 6, format: 'png' });
  const configPath = path.join(work, 'tiny.json');
  writeFileSync(configPath, JSON.stringify({ name: 'tiny', numClasses: 3, inputSize: 64, widthMultiplier: 1 / 16, depthMultiplier: 0.2 }));
  const run = path.join(work, 'run');
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/yolo4.js', 'train', '--config', configPath, '--data', r.configPath!, '--out', run,
    '--epochs', '5', '--batch', '2', '--no-augment', '--val-every', '0'], { cwd: root, env: { ...process.env, YOLO4_BACKEND: process.env.YOLO4_BACKEND || 'auto' } });
  let stderr = '';
  let signalled = false;
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // The line printed as training starts (the Ctrl-C handler is in place before it).
      if (!signalled && /run dir /.test(stderr)) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.ok(signalled, `training never started:\n${stderr}`);
  assert.is(code, 130, stderr);
  assert.match(stderr, `yolo4 train --resume`);
  const state = (await readCheckpointMeta(path.join(run, 'last'))).training as unknown as TrainingState;
  assert.is(state.epoch, 0, 'stopped in the first epoch');
  assert.ok(state.batchInEpoch >= 1 && state.step === state.batchInEpoch, JSON.stringify(state));
});

test.run();
