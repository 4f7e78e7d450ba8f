import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readSensitivityFile, writeAmounts } from '../src/jobs/prune-budget.ts';
import { MAX_OPTION_FILE_BYTES, readAmounts } from '../src/jobs/prune-options.ts';
import { JobOptionError } from '../src/jobs/errors.ts';

// The budget's files: option files are size-checked before reading; --amounts-out never replaces
// a file that is not an amounts file, --force or not.

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-budget-files-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, JobOptionError);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable('should have been refused');
}

test('an option file larger than the limit is refused before it is read (sparse file, no allocation)', async () => {
  const big = path.join(work, 'big.json');
  writeFileSync(big, '{');
  truncateSync(big, MAX_OPTION_FILE_BYTES + 1);
  await rejects(readSensitivityFile(big), /more than the/);
  await rejects(readAmounts(big), /more than the/);
  await rejects(readAmounts(work), /not a regular file/);
});

test('--amounts-out: written whole, replaced with --force only when it is an amounts file', async () => {
  const file = path.join(work, 'a.json');
  await writeAmounts(file, { 'backbone.conv1.conv': 0.25 }, false);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')), { 'backbone.conv1.conv': 0.25 });
  await rejects(writeAmounts(file, { x: 0.5 }, false), /exists: add --force/);
  await writeAmounts(file, { x: 0.5 }, true);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')), { x: 0.5 });
  const users = path.join(work, 'notes.json');
  writeFileSync(users, '{"mine": "keep me"}\n');
  await rejects(writeAmounts(users, { x: 0.5 }, true), /not an amounts file/);
  assert.is(readFileSync(users, 'utf8'), '{"mine": "keep me"}\n');
});

test.run();
