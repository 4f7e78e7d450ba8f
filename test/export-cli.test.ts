// `yolo4 export --format pth|darknet|onnx` end to end through the CLI: each export of a pruned YOLOv4
// imports back (`yolo4 import`) to a checkpoint with the same outputs; files that are not ours stay.
import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadWeights } from '../src/io/load-weights.ts';

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-export-cli-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const at = (p: string) => path.join(work, p);

function yolo4(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/yolo4.js', ...args], { encoding: 'utf8', env: { ...process.env, YOLO4_BACKEND: 'wasm' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function ok(r: { code: number | null; out: string; err: string }): string {
  assert.is(r.code, 0, r.err);
  return r.out;
}

/** Max |a - b| over the three heads of two checkpoints on one input. */
async function outputDiff(a: string, b: string): Promise<number> {
  const [ma, mb] = [await loadWeights(a), await loadWeights(b)];
  const x = tf.randomUniform([1, 128, 128, 3], 0, 1, 'float32', 3);
  const ya = ma.model.predict(x) as tf.Tensor[];
  const yb = mb.model.predict(x) as tf.Tensor[];
  const d = Math.max(...ya.map((t, i) => tf.max(tf.abs(tf.sub(t, yb[i]))).dataSync()[0]));
  tf.dispose([x, ...ya, ...yb]);
  ma.model.dispose();
  mb.model.dispose();
  return d;
}

test('a pruned YOLOv4 goes out as pth (state dict and whole), darknet and ONNX, and pth/darknet come back equal', async () => {
  ok(yolo4('import', 'test/fixtures/torch/yolov4_pruned_small.pth', '--out', at('ck')));
  assert.match(ok(yolo4('export', '--weights', at('ck'), '--format', 'pth', '--out', at('out/sd.pth'))), /PyTorch state dict -> .*sd\.pth/);
  assert.match(ok(yolo4('export', '--weights', at('ck'), '--format', 'pth', '--whole', '--out', at('out/whole.pth'))), /whole model/);
  assert.match(ok(yolo4('export', '--weights', at('ck'), '--format', 'darknet', '--out', at('out/new/dk'))), /dk\.cfg, .*dk\.weights/);
  assert.match(ok(yolo4('export', '--weights', at('ck'), '--format', 'onnx', '--out', at('out/'))), /ONNX \(opset 13.*\.onnx/);
  assert.ok(existsSync(at('out/new/dk.names')));

  ok(yolo4('import', at('out/sd.pth'), '--out', at('ck-sd')));
  ok(yolo4('import', at('out/whole.pth'), '--out', at('ck-whole')));
  const dk = ok(yolo4('import', at('out/new/dk.cfg'), '--weights', at('out/new/dk.weights'), '--layout', 'yolov4', '--out', at('ck-dk')));
  assert.match(dk, /as YOLOv4 \(reference layer names\)/);
  assert.is(await outputDiff(at('ck'), at('ck-sd')), 0);
  assert.is(await outputDiff(at('ck'), at('ck-whole')), 0);
  assert.is(await outputDiff(at('ck'), at('ck-dk')), 0);

  // A user's file is never replaced; an earlier .pth only with --force.
  writeFileSync(at('notes.pth'), 'my notes');
  const refused = yolo4('export', '--weights', at('ck'), '--format', 'pth', '--force', '--out', at('notes.pth'));
  assert.is(refused.code, 2);
  assert.match(refused.err, /is not a PyTorch checkpoint: refusing to overwrite it/);
  assert.is(readFileSync(at('notes.pth'), 'utf8'), 'my notes');
  const again = yolo4('export', '--weights', at('ck'), '--format', 'pth', '--out', at('out/sd.pth'));
  assert.is(again.code, 2);
  assert.match(again.err, /add --force to replace it/);
  ok(yolo4('export', '--weights', at('ck'), '--format', 'pth', '--force', '--out', at('out/sd.pth')));
  // The generic graph of a darknet import has no PyTorch counterpart: a clear error naming a layer.
  ok(yolo4('import', at('out/new/dk.cfg'), '--weights', at('out/new/dk.weights'), '--layout', 'darknet', '--out', at('ck-generic')));
  const generic = yolo4('export', '--weights', at('ck-generic'), '--format', 'pth', '--out', at('generic.pth'));
  assert.is(generic.code, 1);
  assert.match(generic.err, /cannot export .* as PyTorch \.pth .*layer "conv_\d+" \(Conv2D\) has no counterpart/);
});

test.run();
