/**
 * One error hierarchy: every error class in src/ derives from util/errors.ts's Yolo4Error (so the CLI
 * knows its exit code), src/ throws only typed errors (no `throw new Error(` anywhere; prune/ and train/
 * create no bare Error at all), and the typed errors carry the exit codes their meaning calls for (a
 * bad option is a usage error, exit 2; a model or plan the pruner cannot handle, a missing image or
 * video, is a failure, exit 1).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { applyPlan, planPruning, PruneGraphError, PruneOptionError } from '../src/prune/index.ts';
import { resolveTrainSettings } from '../src/train/settings.ts';
import { TrainOptionError } from '../src/train/errors.ts';
import { UsageError, Yolo4Error } from '../src/util/errors.ts';
import { fileSystemHandler, loadLayersModel, ModelFileError, ModelFileOptionError } from '../src/io/model-files.ts';
import { ImageInputError, VideoError } from '../src/predict/errors.ts';
import { expandImageSources } from '../src/predict/predict-images.ts';
import { probeVideo } from '../src/predict/ffmpeg.ts';

const backendModule = './_backend.ts';
if (existsSync(new URL(backendModule, import.meta.url))) await import(backendModule);

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|mjs|js)$/.test(name)) out.push(p);
  }
  return out;
}

const NATIVE_ERROR = /\bclass\s+(\w+)\s+extends\s+(Error|RangeError|TypeError|SyntaxError|ReferenceError|EvalError|URIError|AggregateError)\b/g;

test('only util/errors.ts Yolo4Error extends a built-in Error class', () => {
  const found: string[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const m of readFileSync(file, 'utf8').matchAll(NATIVE_ERROR)) found.push(`${relative(SRC, file)}: ${m[1]} extends ${m[2]}`);
  }
  assert.equal(found, ['util/errors.ts: Yolo4Error extends Error']);
});

test('src/prune and src/train create no bare Error', () => {
  const found: string[] = [];
  for (const folder of ['prune', 'train']) {
    for (const file of sourceFiles(join(SRC, folder))) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        if (/\bnew Error\(/.test(line)) found.push(`${relative(SRC, file)}:${i + 1}`);
      });
    }
  }
  assert.equal(found, []);
});

test('src/ throws no bare Error: every throw new ... names a class of the Yolo4Error hierarchy', () => {
  const found: string[] = [];
  for (const file of sourceFiles(SRC)) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (/\bthrow\s+new\s+Error\s*\(/.test(line)) found.push(`${relative(SRC, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.equal(found, []);
});

/**
 * The only bare `new Error(` left in src/: a worker's error rebuilt from its message (its class does not
 * cross the thread) and a stack trace taken to see who calls os.cpus. Anything else is a typed error.
 */
const BARE_ERROR_ALLOWED = [
  'data/sample-pool.ts: cause = new Error(e.message);',
  "speed/wasm-threads.ts: const stack = new Error().stack ?? '';",
];

test('src/ creates no other bare Error (rejections included)', () => {
  const found: string[] = [];
  for (const file of sourceFiles(SRC)) {
    readFileSync(file, 'utf8').split('\n').forEach((line) => {
      if (/\bnew\s+Error\s*\(/.test(line)) found.push(`${relative(SRC, file)}: ${line.trim()}`);
    });
  }
  assert.equal(found, BARE_ERROR_ALLOWED);
});

async function rejected(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.unreachable('expected a rejection');
}

test('a missing image or video the user named is a failure (exit 1), with the message unchanged', async () => {
  const img = await rejected(expandImageSources(['/nonexistent-yolo4/x.jpg']));
  assert.instance(img, ImageInputError);
  assert.not.instance(img, UsageError);
  assert.is((img as Yolo4Error).exitCode, 1);
  assert.is((img as Error).message, 'image not found: "/nonexistent-yolo4/x.jpg"');

  const video = await rejected(probeVideo('/nonexistent-yolo4/x.mp4'));
  assert.instance(video, VideoError);
  assert.is((video as Yolo4Error).exitCode, 1);
  assert.is((video as Error).message, 'video file not found: "/nonexistent-yolo4/x.mp4"');
});

test('model files: a missing folder is a ModelFileError (exit 1), an impossible shardBytes a usage error (exit 2)', async () => {
  const missing = await rejected(loadLayersModel('/nonexistent-yolo4/model'));
  assert.instance(missing, ModelFileError);
  assert.is((missing as Yolo4Error).exitCode, 1);
  assert.is((missing as Error).message, 'model directory not found: /nonexistent-yolo4/model');

  const shard = thrown(() => fileSystemHandler('/tmp', { shardBytes: 0 }));
  assert.instance(shard, ModelFileOptionError);
  assert.instance(shard, UsageError);
  assert.is((shard as UsageError).exitCode, 2);
  assert.is((shard as Error).message, 'shardBytes must be a positive integer, got 0');
});

/** input -> conv 'a' (`filters`) -> ReLU -> conv 'b' -> 1x1 conv head: 'a' is prunable (the head is not). */
function tinyModel(filters = 8): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 3], name: 'x' });
  const a = tf.layers.conv2d({ name: 'a', filters, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor;
  const r = tf.layers.reLU({ name: 'a.relu' }).apply(a) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ name: 'b', filters: 8, kernelSize: 3, padding: 'same' }).apply(r) as tf.SymbolicTensor;
  const head = tf.layers.conv2d({ name: 'head', filters: 4, kernelSize: 1 }).apply(b) as tf.SymbolicTensor;
  return tf.model({ name: 'tiny', inputs: input, outputs: head });
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.unreachable('expected a throw');
}

test('an impossible pruning amount or strategy is a PruneOptionError, a usage error (exit 2)', () => {
  const model = tinyModel();
  try {
    const amount = thrown(() => planPruning(model, { layer: 'a', amount: 1.5 }));
    assert.instance(amount, PruneOptionError);
    assert.instance(amount, UsageError);
    assert.is((amount as UsageError).exitCode, 2);
    assert.match((amount as Error).message, /1\.5/);

    const strategy = thrown(() => planPruning(model, { layer: 'a', amount: 0.5, strategy: 'no-such-strategy' as never }));
    assert.instance(strategy, PruneOptionError);
    assert.is((strategy as UsageError).exitCode, 2);
    assert.match((strategy as Error).message, /unknown strategy 'no-such-strategy'/);

    const missing = thrown(() => planPruning(model, { layer: 'zzz', amount: 0.5 }));
    assert.instance(missing, PruneOptionError);
  } finally {
    model.dispose();
  }
});

test('a plan applied to a model it does not fit is a PruneGraphError (exit 1), not a usage error', () => {
  const planned = tinyModel(8);
  const other = tinyModel(6);
  try {
    const plan = planPruning(planned, { layer: 'a', amount: 0.5 });
    const e = thrown(() => applyPlan(other, plan));
    assert.instance(e, PruneGraphError);
    assert.instance(e, Yolo4Error);
    assert.not.instance(e, UsageError);
    assert.is((e as Yolo4Error).exitCode, 1);
    assert.match((e as Error).message, /the plan does not fit model/);
  } finally {
    planned.dispose();
    other.dispose();
  }
});

test('an invalid training setting is a TrainOptionError, a usage error (exit 2)', () => {
  const e = thrown(() => resolveTrainSettings({ epochs: 0 }));
  assert.instance(e, TrainOptionError);
  assert.instance(e, UsageError);
  assert.is((e as UsageError).exitCode, 2);
  assert.is((e as Error).message, 'epochs must be a positive integer, got 0');

  const size = thrown(() => resolveTrainSettings({ inputSize: 100 }));
  assert.instance(size, UsageError);
  assert.is((size as Error).message, 'inputSize must be a multiple of 32, got 100');
});

test.run();
