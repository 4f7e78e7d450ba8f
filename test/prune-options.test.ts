// The mapping of `yolo4 prune`'s flags to the pruning library's options (one for the three modes), and
// the jobs' error classes: a bad option exits 2 like a bad flag, a failed job exits 1.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseRatios, rankingOptions, readAmounts, scopeOptions, type PruneJobOptions } from '../src/jobs/prune-options.ts';
import { JobError, JobOptionError } from '../src/jobs/errors.ts';
import { exitCodeOf, isUsageError } from '../src/util/errors.ts';

const flags: PruneJobOptions = {
  force: false, all: false, strategy: 'independent', importance: 'bn-scale', roundTo: 8, minChannels: 4, exclude: ['conv2.*'],
  groupReduction: 'max', pruneHeadInputs: true, seed: 7, dryRun: false, verify: true, json: false,
  sensitivity: false, proxy: false, proxyImages: 4, top: 5, iterative: false, finetuneEpochs: 1, metric: 'AP50',
  batch: 2, lr0: 0.001, maxBatches: 0, augment: false,
};

test('rankingOptions: every ranking flag under the library\'s name', () => {
  assert.equal(rankingOptions(flags), {
    strategy: 'independent', importance: 'bn-scale', roundTo: 8, minChannels: 4, exclude: ['conv2.*'],
    groupReduction: 'max', pruneOutputInputs: true, seed: 7,
  });
});

test('scopeOptions: an amounts file without a scope prunes every group; with --layers it does not', () => {
  const amounts = { 'conv2.*': 0.5 };
  assert.equal(scopeOptions(flags, amounts), { layer: undefined, layers: undefined, all: true, amount: 0, amounts });
  assert.equal(scopeOptions({ ...flags, layers: ['conv2.0'] }, amounts), { layer: undefined, layers: ['conv2.0'], all: false, amount: 0, amounts });
  assert.equal(scopeOptions({ ...flags, all: true, amount: 0.3 }, undefined), { layer: undefined, layers: undefined, all: true, amount: 0.3, amounts: undefined });
});

test('parseRatios and readAmounts: bad values are option errors (exit 2)', async () => {
  assert.equal(parseRatios('0.25, 0.5,0.75'), [0.25, 0.5, 0.75]);
  assert.throws(() => parseRatios('0.5,1.5'), (e: unknown) => e instanceof JobOptionError && /--ratios must be/.test((e as Error).message));
  const dir = mkdtempSync(path.join(tmpdir(), 'yolo4-prune-options-'));
  const good = path.join(dir, 'good.json');
  writeFileSync(good, '{"conv2.*": 0.5}');
  assert.equal(await readAmounts(good), { 'conv2.*': 0.5 });
  const bad = path.join(dir, 'bad.json');
  writeFileSync(bad, '{"conv2.*": "half"}');
  let error: unknown;
  await readAmounts(bad).catch((e) => { error = e; });
  assert.ok(error instanceof JobOptionError, String(error));
  assert.is(exitCodeOf(error), 2);
});

test('job errors: JobOptionError is a usage error (exit 2), JobError is not (exit 1)', () => {
  assert.ok(isUsageError(new JobOptionError('x')));
  assert.is(exitCodeOf(new JobOptionError('x')), 2);
  assert.not.ok(isUsageError(new JobError('x')));
  assert.is(exitCodeOf(new JobError('x')), 1);
  assert.is(new JobError('x').name, 'JobError');
});

test.run();
