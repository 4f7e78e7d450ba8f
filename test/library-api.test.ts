// The library API: src/index.ts (package.json "main"/"exports") exposes every documented name, and the
// README's "## Library API" example runs as written from a script in this repository (importing 'yolo4-prune'
// by name) and prints the values the library gives.
import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as api from '../src/index.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const FUNCTIONS = [
  'selectBackend', 'buildYolov4', 'resolveConfig', 'loadConfigFile', 'loadWeights', 'saveCheckpoint', 'loadCheckpoint',
  'importTorchYolov4', 'exportTorchYolov4', 'importDarknet', 'summarizeModel', 'planPruning', 'applyPlan', 'formatPlan', 'evaluateCoco',
  'evaluateModelOnDataset', 'predictImages', 'trainModel', 'train', 'loadDatasetConfig', 'openDataset', 'exportOnnx',
] as const;
const ERRORS = [
  'BackendError', 'ConfigError', 'CheckpointError', 'OutputExistsError', 'TorchImportError', 'TorchExportError', 'DarknetCfgError',
  'DarknetWeightsError', 'CocoInputError', 'EvalImageError', 'ValidationError', 'DatasetError', 'UsageError', 'InputSizeError',
  'OnnxExportError', 'ModelError', 'ModelFileError', 'ModelFileOptionError', 'VideoError', 'ImageInputError', 'PredictInputError',
  'DataError', 'WorkerError',
] as const;

test('package.json main and exports point at src/index.ts', () => {
  const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { name: string; main: string; exports: Record<string, string> };
  assert.is(pkg.name, 'yolo4-prune');
  assert.ok(existsSync(path.join(repo, pkg.main)), `main ${pkg.main} does not exist`);
  assert.is(path.resolve(repo, pkg.exports['.']), path.resolve(repo, pkg.main));
});

test('src/index.ts exposes each documented function and error class', () => {
  const a = api as unknown as Record<string, unknown>;
  for (const name of FUNCTIONS) assert.type(a[name], 'function', `${name} is not exported as a function`);
  assert.is(api.train, api.trainModel);
  assert.type(api.Detector, 'function');
  assert.type(api.Detector.load, 'function', 'Detector.load');
  assert.type(api.Detector.wrap, 'function', 'Detector.wrap');
  for (const name of ERRORS) {
    const C = a[name] as (new (...args: never[]) => unknown) | undefined;
    assert.type(C, 'function', `${name} is not exported`);
    assert.ok(C!.prototype instanceof Error, `${name} is not an Error class`);
  }
});

function readmeExample(): string {
  const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');
  const start = readme.indexOf('## Library API\n');
  assert.ok(start >= 0, 'README has no "## Library API" section');
  const end = readme.indexOf('\n## ', start + 1);
  const m = readme.slice(start, end < 0 ? undefined : end).match(/```ts\n([\s\S]*?)```/);
  assert.ok(m, 'README "## Library API" has no ```ts block');
  return m![1];
}

test('the README Library API example runs and prints what the library computes', async () => {
  const code = readmeExample();
  assert.match(code, /from 'yolo4-prune'/, 'the example imports the package by name');
  // The script lives in the repository (so 'yolo4-prune' resolves to this package, as for a user's script
  // here) and runs from the repository root (its fixture paths are relative to it); outputs go to a temp folder.
  const script = path.join(repo, 'test', `.library-api-example-${process.pid}.ts`);
  const out = mkdtempSync(path.join(tmpdir(), 'yolo4-library-api-'));
  try {
    writeFileSync(script, code);
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: repo, encoding: 'utf8', timeout: 60_000,
      env: { ...process.env, YOLO4_EXAMPLE_OUT: path.join(out, 'example'), YOLO4_THREADS: '1', FORCE_COLOR: '0' },
    });
    const printed = `${r.stdout}\n${r.stderr}`;
    assert.is(r.status, 0, `the example exited ${r.status}:\n${printed}`);

    // The same steps in this process give the numbers the example printed.
    const { model, config } = await api.importTorchYolov4(path.join(repo, 'test/fixtures/torch/yolov4_pruned_small.pth'));
    const before = api.summarizeModel(model, config.inputSize).params;
    const plan = api.planPruning(model, { layers: ['conv2.*'], amount: 0.4, strategy: 'greedy', inputSize: config.inputSize });
    const { model: pruned } = api.applyPlan(model, plan);
    const after = api.summarizeModel(pruned, config.inputSize).params;
    assert.ok(after < before, `pruning removed nothing (${before} -> ${after})`);
    assert.match(r.stdout, new RegExp(`^params before: ${before}$`, 'm'), printed);
    assert.match(r.stdout, new RegExp(`^params after: ${after}$`, 'm'));
    assert.ok(r.stdout.includes(api.formatPlan(plan)), 'the example did not print the plan');
    const detections = /^detections: (\d+)$/m.exec(r.stdout);
    assert.ok(detections, `no detection count printed:\n${printed}`);

    // And it wrote what it says: a checkpoint of the pruned model and the predictions of dog.jpg.
    const { model: again } = await api.loadCheckpoint(path.join(out, 'example', 'pruned'));
    assert.is(api.summarizeModel(again, config.inputSize).params, after);
    const predictions = JSON.parse(readFileSync(path.join(out, 'example', 'predictions', 'predictions.json'), 'utf8')) as { image: string; detections: unknown[] }[];
    assert.is(predictions.length, 1);
    assert.ok(predictions[0].image.endsWith('dog.jpg'));
    assert.is(predictions[0].detections.length, Number(detections![1]));
    for (const m of [model, pruned, again]) m.dispose();
  } finally {
    rmSync(script, { force: true });
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
