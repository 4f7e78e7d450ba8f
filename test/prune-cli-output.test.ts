import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-prune-cli-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const configFile = path.join(work, 'tiny.json');
writeFileSync(configFile, JSON.stringify({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 2, inputSize: 64, classNames: ['a', 'b'] }));

function yolo4(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/yolo4.js', ...args], { encoding: 'utf8', env: { ...process.env, YOLO4_BACKEND: 'wasm' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The plan's own totals line, e.g. "Params: 3,368,085 -> 1,809,927 (...)". */
function planParams(out: string): [string, string] {
  const m = /^Params: ([\d,]+) -> ([\d,]+)/m.exec(out);
  assert.ok(m, 'the plan prints its Params line');
  return [m![1], m![2]];
}

function checkSummaryLast(out: string, lastLine: RegExp): void {
  const lines = out.trimEnd().split('\n');
  const firstSummary = lines.findIndex((l) => l.startsWith('summary:'));
  const lastGroup = lines.map((l) => l.startsWith('Group ')).lastIndexOf(true);
  assert.ok(lastGroup > 0, 'the plan was printed');
  assert.ok(firstSummary > lastGroup, `summary (line ${firstSummary}) after the plan (last group on line ${lastGroup})`);
  // Compact and last: nothing but summary lines from the first one on.
  assert.ok(lines.slice(firstSummary).every((l) => l.startsWith('summary:')), lines.slice(firstSummary).join('\n'));
  assert.ok(lines.length - firstSummary <= 6);
  const [before, after] = planParams(out);
  assert.ok(lines.slice(firstSummary).some((l) => l.includes(`parameters ${before} -> ${after}`)));
  assert.ok(lines.slice(firstSummary).some((l) => /FLOPs at 64x64 [\d.]+ G -> [\d.]+ G/.test(l)));
  assert.match(lines[lines.length - 1], lastLine);
}

test('prune --dry-run: the summary comes after the plan, last', () => {
  const r = yolo4('prune', '--config', configFile, '--all', '--amount', '0.3', '--dry-run');
  assert.is(r.code, 0, r.err);
  checkSummaryLast(r.out, /^summary: dry run, nothing saved$/);
});

test('prune --out: width list, then the summary with verify and where it was saved; a second run needs --force', () => {
  const out = path.join(work, 'pruned');
  let r = yolo4('prune', '--config', configFile, '--all', '--amount', '0.3', '--out', out);
  assert.is(r.code, 0, r.err);
  checkSummaryLast(r.out, new RegExp(`^summary: saved ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  assert.match(r.out, /^summary: verify OK/m);
  assert.ok(r.out.indexOf('widths changed') < r.out.indexOf('summary:'));
  const created = JSON.parse(readFileSync(path.join(out, 'meta.json'), 'utf8')).createdAt;
  r = yolo4('prune', '--config', configFile, '--all', '--amount', '0.3', '--out', out);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /--force/);
  assert.is(JSON.parse(readFileSync(path.join(out, 'meta.json'), 'utf8')).createdAt, created);
  r = yolo4('prune', '--config', configFile, '--all', '--amount', '0.3', '--out', out, '--force');
  assert.is(r.code, 0, r.err);
  assert.is.not(JSON.parse(readFileSync(path.join(out, 'meta.json'), 'utf8')).createdAt, created);
});

test('prune --out onto a user folder: exit 2 before any work, the folder untouched', () => {
  const user = path.join(work, 'user');
  mkdirSync(user);
  writeFileSync(path.join(user, 'notes.txt'), 'mine');
  const r = yolo4('prune', '--config', configFile, '--all', '--amount', '0.3', '--out', user);
  assert.is(r.code, 2, r.err);
  assert.not.match(r.out, /Pruning plan/); // refused before planning
  assert.equal(readdirSync(user), ['notes.txt']);
});

test.run();
