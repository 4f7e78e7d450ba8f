import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkComputation } from '../src/speed/wasm-threads-check.ts';
import { testIf } from './_needs.ts';

// Issue 11, A4: the threaded wasm backend used to write its pthread worker to
// $TMPDIR/yolo4-wasm-threads-<uid>/ and load it from there, whoever owned that folder.
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo4-wasm-safety-'));
test.after(() => fs.rmSync(work, { recursive: true, force: true }));

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/** What the attacker's folder holds: name -> content and inode. */
function snapshot(dir: string): Record<string, { content: string; ino: number; uid: number }> {
  return Object.fromEntries(fs.readdirSync(dir).sort().map((name) => {
    const p = path.join(dir, name);
    const st = fs.lstatSync(p);
    return [name, { content: fs.readFileSync(p, 'utf8'), ino: st.ino, uid: st.uid }];
  }));
}

testIf(isRoot, 'threads never load a worker from a folder another user pre-created in the shared temp dir', () => {
  // The child's os.tmpdir() is this test's folder, so no other run shares it.
  const tmp = path.join(work, 'tmp');
  fs.mkdirSync(tmp);
  const shared = path.join(tmp, `yolo4-wasm-threads-${process.getuid!()}`);
  const marker = path.join(work, 'pwned');
  const payload = `require('fs').writeFileSync(${JSON.stringify(marker)}, 'attacker code ran');\n`;
  // The attacker (uid nobody) owns the folder and plants a worker there.
  fs.mkdirSync(shared, { mode: 0o755 });
  fs.writeFileSync(path.join(shared, 'tfjs-wasm-threaded-worker-0.cjs'), payload);
  fs.chownSync(path.join(shared, 'tfjs-wasm-threaded-worker-0.cjs'), NOBODY, NOBODY);
  fs.chownSync(shared, NOBODY, NOBODY);
  const before = snapshot(shared);

  // The attacker also wins any race: whatever lands in their folder gets the payload prepended
  // the moment it is written (the owner of a folder can replace any file in it).
  const raceWinner = path.join(work, 'race-winner.cjs');
  fs.writeFileSync(raceWinner, `
    const fs = require('node:fs');
    const path = require('node:path');
    const shared = ${JSON.stringify(shared)};
    const inShared = (p) => typeof p === 'string' && path.resolve(p).startsWith(shared + path.sep);
    const write = fs.writeFileSync;
    const read = fs.readFileSync;
    const poison = (p) => { if (inShared(p)) write(p, ${JSON.stringify(payload)} + read(p, 'utf8')); };
    const rename = fs.renameSync;
    fs.renameSync = function (a, b) { const r = rename.apply(this, arguments); poison(String(b)); return r; };
    fs.writeFileSync = function (p) { const r = write.apply(this, arguments); poison(p); return r; };
    require('node:module').syncBuiltinESMExports();
  `);

  const r = spawnSync(process.execPath, ['--require', raceWinner, '--import', 'tsx', 'src/speed/wasm-threads-check.ts', '--threads', '2'], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, TMPDIR: tmp },
  });
  assert.is(r.status, 0, `child failed: ${r.stderr.slice(-2000)}`);
  assert.not.ok(fs.existsSync(marker), 'the attacker\'s code ran in the yolo4 process');
  assert.equal(snapshot(shared), before, 'the attacker\'s folder was read from or written to');

  // And the threads still compute what one thread computes.
  const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as { threads: number; forward: number[] };
  assert.is(got.threads, 2);
  const want = checkComputation().forward;
  assert.is(got.forward.length, want.length);
  const scale = Math.max(...want.map(Math.abs));
  const diff = Math.max(...want.map((v, i) => Math.abs(v - got.forward[i])));
  assert.ok(diff / scale < 1e-4, `2 threads differ from 1 thread by ${diff / scale}`);
}, 'needs root to chown the attacker\'s folder to another uid');

test('threaded wasm leaves no worker file in the temp dir', () => {
  const tmp = path.join(work, 'tmp-clean');
  fs.mkdirSync(tmp);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/speed/wasm-threads-check.ts', '--threads', '2'], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, TMPDIR: tmp },
  });
  assert.is(r.status, 0, `child failed: ${r.stderr.slice(-2000)}`);
  // tsx keeps its compile cache there (tsx-<uid>); nothing else may appear.
  assert.equal(fs.readdirSync(tmp).filter((n) => !n.startsWith('tsx-')), []);
});

test.run();
