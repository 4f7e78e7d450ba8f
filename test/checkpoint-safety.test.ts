import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import {
  existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { resolveConfig } from '../src/model/config.ts';
import {
  CheckpointError, checkOutputTarget, copyCheckpoint, loadCheckpoint, loadOptimizerState, readCheckpointMeta, removeCheckpoint, saveCheckpoint,
} from '../src/io/checkpoint.ts';
import { loadWeights } from '../src/io/load-weights.ts';
import { UsageError } from '../src/util/errors.ts';

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-ckpt-safety-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const config = resolveConfig({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 2, inputSize: 64, classNames: ['a', 'b'] });
const model = buildYolov4(config);
test.after(() => { model.dispose(); });

let n = 0;
const fresh = (name: string) => path.join(work, `${name}-${++n}`);

/** A folder with a user's file in it; returns the file's path. */
function userFolder(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'notes.txt');
  writeFileSync(file, 'my notes');
  return file;
}

async function refused(p: Promise<unknown>, what: string): Promise<Error> {
  return p.then(() => assert.unreachable(`${what} was not refused`) as never, (e: Error) => {
    assert.instance(e, UsageError, `${what}: ${e.message}`);
    assert.is(e.name, 'OutputExistsError');
    return e;
  });
}

/** A pid that is certainly not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  assert.ok(Number.isInteger(r.pid) && r.pid > 0);
  return r.pid;
}

// --- item A1: --out never deletes what is already there -------------------------------------------

test('a folder holding user files is refused (internal saves too) and the files stay', async () => {
  const dir = fresh('user');
  const notes = userFolder(dir);
  const e = await refused(saveCheckpoint(dir, model, config), 'a user folder');
  assert.match(e.message, /notes\.txt/);
  await refused(saveCheckpoint(dir, model, config, { overwrite: true }), 'a user folder with overwrite');
  assert.is(readFileSync(notes, 'utf8'), 'my notes');
  assert.equal(readdirSync(dir), ['notes.txt']);
  assert.equal(readdirSync(work).filter((f) => f.startsWith(path.basename(dir))), [path.basename(dir)]); // no temp dirs left
});

test("'.' (the current directory) is refused and nothing in it is touched", async () => {
  const dir = fresh('cwd');
  const notes = userFolder(dir);
  const before = process.cwd();
  process.chdir(dir);
  try {
    const e = await refused(saveCheckpoint('.', model, config), "'.'");
    assert.ok(e.message.includes(dir), e.message); // names the resolved folder
  } finally {
    process.chdir(before);
  }
  assert.is(readFileSync(notes, 'utf8'), 'my notes');
});

test('a file as --out is refused, not replaced by a folder; a symlink too', async () => {
  const file = fresh('notes.txt');
  writeFileSync(file, 'precious');
  await refused(saveCheckpoint(file, model, config), 'a file');
  assert.ok(statSync(file).isFile());
  assert.is(readFileSync(file, 'utf8'), 'precious');
  // A link to a checkpoint is not ours to replace: the link and what it points at stay.
  const real = fresh('real');
  await saveCheckpoint(real, model, config, { source: { n: 1 } });
  const link = fresh('link');
  symlinkSync(real, link);
  await refused(saveCheckpoint(link, model, config, { overwrite: true }), 'a symlink');
  assert.is((await readCheckpointMeta(real)).source?.n, 1);
});

test('a tfjs model folder without our meta.json is not ours: refused', async () => {
  const dir = fresh('tfjs');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'model.json'), '{}');
  writeFileSync(path.join(dir, 'weights.bin'), 'x');
  await refused(saveCheckpoint(dir, model, config), 'a foreign model.json folder');
  assert.is(readFileSync(path.join(dir, 'model.json'), 'utf8'), '{}');
  // Our meta.json but a user's file next to it: still refused (it would be deleted).
  const ours = fresh('ours-plus');
  await saveCheckpoint(ours, model, config);
  writeFileSync(path.join(ours, 'notes.txt'), 'mine');
  await refused(saveCheckpoint(ours, model, config, { overwrite: true }), 'a checkpoint with a user file');
  assert.is(readFileSync(path.join(ours, 'notes.txt'), 'utf8'), 'mine');
});

test('an empty folder is fine; an existing checkpoint needs force (overwrite)', async () => {
  const empty = fresh('empty');
  mkdirSync(empty);
  await saveCheckpoint(empty, model, config, { source: { n: 1 }, overwrite: false });
  assert.is((await readCheckpointMeta(empty)).source?.n, 1);
  const e = await refused(saveCheckpoint(empty, model, config, { source: { n: 2 }, overwrite: false }), 'a checkpoint without force');
  assert.match(e.message, /--force/);
  assert.is((await readCheckpointMeta(empty)).source?.n, 1);
  await saveCheckpoint(empty, model, config, { source: { n: 3 }, overwrite: true });
  assert.is((await readCheckpointMeta(empty)).source?.n, 3);
  assert.is(await checkOutputTarget(empty, { force: true }), 'checkpoint');
  assert.is(await checkOutputTarget(fresh('absent')), 'new');
});

test('removeCheckpoint and copyCheckpoint touch only our checkpoints', async () => {
  const dir = fresh('user');
  const notes = userFolder(dir);
  assert.is(await removeCheckpoint(dir), false);
  assert.ok(existsSync(notes));
  const src = fresh('src');
  await saveCheckpoint(src, model, config, { source: { n: 7 } });
  await refused(copyCheckpoint(src, dir), 'copy onto a user folder');
  assert.ok(existsSync(notes));
  const dst = fresh('dst');
  await copyCheckpoint(src, dst);
  assert.is((await readCheckpointMeta(dst)).source?.n, 7);
  assert.is(await removeCheckpoint(dst), true);
  assert.not.ok(existsSync(dst));
});

// --- item A2: a crash in the middle of a replacement is recovered --------------------------------

/** Writes the checkpoint `n` at `dir` (a real, complete one). */
async function complete(dir: string, n: number): Promise<void> {
  await saveCheckpoint(dir, model, config, { source: { n } });
}

async function capturingStderr<T>(f: () => Promise<T>): Promise<{ value: T; err: string }> {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => { lines.push(a.join(' ')); };
  try {
    return { value: await f(), err: lines.join('\n') };
  } finally {
    console.error = orig;
  }
}

test('crash between the renames (X gone, complete old + tmp): load restores the newest and cleans the rest', async () => {
  const x = fresh('X');
  const pid = deadPid();
  // The state a save leaves after `rename(X, X.old)`, before `rename(tmp, X)`.
  const old = `${x}.old-${pid}-2000`;
  const tmp = `${x}.tmp-${pid}-1000`; // its name is older, its content (createdAt) newer
  await complete(old, 1);
  await new Promise((r) => setTimeout(r, 5));
  await complete(tmp, 2);
  assert.not.ok(existsSync(x));
  const { value, err } = await capturingStderr(() => loadCheckpoint(x));
  assert.is(value.meta.source?.n, 2);
  value.model.dispose();
  assert.match(err, /restored/);
  assert.ok(err.includes(tmp), err);
  assert.equal(readdirSync(work).filter((f) => f.startsWith(path.basename(x))), [path.basename(x)]);
});

test('crash while writing the new one (X gone, complete old, tmp without meta.json): loadWeights restores the old', async () => {
  const x = fresh('X');
  const pid = deadPid();
  await complete(`${x}.old-${pid}-2000`, 1);
  await complete(`${x}.tmp-${pid}-1000`, 2);
  rmSync(path.join(`${x}.tmp-${pid}-1000`, 'meta.json')); // unfinished: meta.json comes last
  const { value } = await capturingStderr(() => loadWeights(x));
  assert.is((value.source.from as { n: number }).n, 1);
  value.model.dispose();
  assert.equal(readdirSync(work).filter((f) => f.startsWith(path.basename(x))), [path.basename(x)]);
});

test('a save cleans stale temp folders of dead processes, but not live ones nor folders holding other files', async () => {
  const x = fresh('X');
  await complete(x, 1);
  const pid = deadPid();
  await complete(`${x}.old-${pid}-1`, 0); // crash after the swap, before removing the old one
  mkdirSync(`${x}.tmp-${pid}-2`); // crash early in a save
  writeFileSync(path.join(`${x}.tmp-${pid}-2`, 'weights.bin'), 'partial');
  const live = `${x}.tmp-${process.pid}-3`; // a save running now (this process)
  await complete(live, 5);
  const foreign = `${x}.tmp-${pid}-4`; // matches our pattern but holds a user's file
  userFolder(foreign);
  await saveCheckpoint(x, model, config, { source: { n: 2 } });
  assert.is((await readCheckpointMeta(x)).source?.n, 2);
  const left = readdirSync(work).filter((f) => f.startsWith(path.basename(x))).sort();
  assert.equal(left, [path.basename(x), path.basename(live), path.basename(foreign)].sort());
  assert.ok(existsSync(path.join(foreign, 'notes.txt')));
  // X missing and only a live process's copy around: not taken from under it.
  const y = fresh('Y');
  await complete(`${y}.tmp-${process.pid}-1`, 9);
  await loadCheckpoint(y).then(() => assert.unreachable('took a live save'), (e: Error) => assert.instance(e, CheckpointError));
});

// --- item A3: weight paths in model.json stay inside the checkpoint ----------------------------

test('weightsManifest paths out of the folder are refused before any read, revealing nothing', async () => {
  const dir = fresh('ckpt');
  await saveCheckpoint(dir, model, config);
  const weights = readFileSync(path.join(dir, 'weights.bin'));
  // A "secret" of exactly the right size outside the checkpoint: before the fix it loaded silently.
  const secret = path.join(work, 'secret.bin');
  writeFileSync(secret, weights);
  rmSync(path.join(dir, 'weights.bin'));
  const modelJson = path.join(dir, 'model.json');
  const json = JSON.parse(readFileSync(modelJson, 'utf8'));
  const messages: string[] = [];
  for (const p of ['../secret.bin', secret, '../missing.bin', 'sub/../../secret.bin', '..\\secret.bin', 'weights.bin\0.txt', '..']) {
    json.weightsManifest[0].paths = [p];
    writeFileSync(modelJson, JSON.stringify(json));
    const e = await loadCheckpoint(dir).then(() => assert.unreachable(`${JSON.stringify(p)} was read`) as never, (err: Error) => err);
    assert.is(e.name, 'UnsafeWeightPathError', `${JSON.stringify(p)}: ${e.message}`);
    assert.not.ok(e.message.includes('secret') || e.message.includes('missing'), e.message);
    messages.push(e.message);
  }
  // The same message whether the named file exists or not.
  assert.is(messages[0], messages[2]);
  // A symlink named like a weight file but pointing out of the folder is not followed either.
  symlinkSync(secret, path.join(dir, 'weights.bin'));
  json.weightsManifest[0].paths = ['weights.bin'];
  writeFileSync(modelJson, JSON.stringify(json));
  await loadCheckpoint(dir).then(() => assert.unreachable('followed a symlink out'), (e: Error) => assert.match(e.message, /regular file/));
});

// --- small: corrupt optimizer.json ------------------------------------------------------------

test('a corrupt optimizer.json is a CheckpointError naming the file', async () => {
  const dir = fresh('opt');
  await saveCheckpoint(dir, model, config, { optimizer: { json: { step: 1 }, weights: new Uint8Array(4) } });
  assert.equal((await loadOptimizerState(dir))?.json, { step: 1 });
  writeFileSync(path.join(dir, 'optimizer.json'), '{"step": 1');
  await loadOptimizerState(dir).then(() => assert.unreachable(), (e: Error) => {
    assert.instance(e, CheckpointError);
    assert.ok(e.message.includes(path.join(dir, 'optimizer.json')), e.message);
  });
});

// --- through the real CLI ------------------------------------------------------------------

function yolo4(cwd: string, ...args: string[]) {
  const bin = path.resolve('bin/yolo4.js');
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, YOLO4_BACKEND: 'wasm' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('yolo4 import: --out . and a user folder exit 2 with files intact; a checkpoint needs --force', () => {
  const pth = path.resolve('test/fixtures/torch/yolov4_pruned_small.pth');
  const dir = fresh('cli');
  const notes = userFolder(dir);
  let r = yolo4(dir, 'import', pth, '--out', '.');
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /not a yolo4-prune checkpoint/);
  r = yolo4(work, 'import', pth, '--out', dir);
  assert.is(r.code, 2, r.err);
  assert.is(readFileSync(notes, 'utf8'), 'my notes');
  assert.equal(readdirSync(dir), ['notes.txt']);
  const ckpt = path.join(dir, 'ckpt');
  r = yolo4(work, 'import', pth, '--out', ckpt);
  assert.is(r.code, 0, r.err);
  const created = JSON.parse(readFileSync(path.join(ckpt, 'meta.json'), 'utf8')).createdAt;
  r = yolo4(work, 'import', pth, '--out', ckpt);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /--force/);
  assert.is(JSON.parse(readFileSync(path.join(ckpt, 'meta.json'), 'utf8')).createdAt, created);
  r = yolo4(work, 'import', pth, '--out', ckpt, '--force');
  assert.is(r.code, 0, r.err);
  assert.is.not(JSON.parse(readFileSync(path.join(ckpt, 'meta.json'), 'utf8')).createdAt, created);
  assert.is(readFileSync(notes, 'utf8'), 'my notes');
});

test.run();
