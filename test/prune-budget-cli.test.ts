import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadCheckpoint } from '../src/io/checkpoint.ts';
import { convWidthsOf } from '../src/model/yolov4.ts';

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-budget-cli-'));
const cfgFile = path.join(work, 'tiny.json');
writeFileSync(cfgFile, JSON.stringify({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 3, inputSize: 64, classNames: ['a', 'b', 'c'] }));
test.after(() => rmSync(work, { recursive: true, force: true }));

const run = (...args: string[]) => spawnSync(process.execPath, ['bin/yolo4.js', 'prune', '--config', cfgFile, ...args], { encoding: 'utf8', env: { ...process.env, YOLO4_BACKEND: 'wasm' } });

test('--target-flops --allocation global: the plan states target, reached and groups moved; the amounts file reproduces the widths', async () => {
  const out = path.join(work, 'p');
  let r = run('--all', '--target-flops', '0.5', '--allocation', 'global', '--out', out);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /Budget: keep 0\.5 of the FLOPs \(.* G of .* G\), allocation global/);
  assert.match(r.stdout, /Budget: reached 0\.(4\d*|5000) of the FLOPs .*; \d+ of \d+ groups moved/);
  assert.match(r.stdout, /summary: verify OK/);
  const file = `${out}.amounts.json`;
  assert.ok(existsSync(file));
  const widths = convWidthsOf((await loadCheckpoint(out)).model);
  r = run('--amounts', file, '--dry-run', '--json');
  assert.is(r.status, 0, r.stderr);
  const again = JSON.parse(r.stdout) as { layers: { name: string; after: number }[] };
  assert.equal(Object.fromEntries(again.layers.map((l) => [l.name, l.after])), widths);
  // The amounts file is not replaced without --force.
  r = run('--all', '--target-flops', '0.5', '--dry-run', '--amounts-out', file);
  assert.is(r.status, 2);
  assert.match(r.stderr, /exists: add --force/);
});

test('bad budgets are usage errors (exit 2) that say why', () => {
  let r = run('--all', '--target-flops', '0.01', '--min-channels', '8', '--dry-run');
  assert.is(r.status, 2);
  assert.match(r.stderr, /target-flops 0\.01 cannot be reached \(allocation uniform, minChannels 8, .*\): the smallest reachable value is 0\.\d+ of the FLOPs/);
  const sens = path.join(work, 'sensitivity.json');
  const row = (group: string, n: number, ratio: number) => ({ group, n, ratio, removed: 0, params: 1, flops: 1, AP50: 0.1, AP: 0, outputChange: null, seconds: 0 });
  writeFileSync(sens, JSON.stringify({ metric: 'map', baseline: row('(unpruned)', 0, 0), rows: [row('backbone.conv1.conv', 7, 0.5)] }));
  r = run('--all', '--target-flops', '0.5', '--allocation', 'sensitivity', '--sensitivity-file', sens, '--dry-run');
  assert.is(r.status, 2);
  assert.match(r.stderr, /group 'backbone.conv1.conv' has 7 channels in the table but 2 in/);
  writeFileSync(sens, JSON.stringify({ metric: 'map', baseline: row('(unpruned)', 0, 0), rows: [row('neck.nope.conv', 2, 0.5)] }));
  r = run('--all', '--target-flops', '0.5', '--allocation', 'sensitivity', '--sensitivity-file', sens, '--dry-run');
  assert.is(r.status, 2);
  assert.match(r.stderr, /its group 'neck.nope.conv' is not a group of/);
  for (const [args, why] of [
    [['--all', '--allocation', 'global', '--amount', '0.3', '--dry-run'], /--allocation applies only with --target-flops/],
    [['--all', '--target-flops', '0.5', '--amount', '0.3', '--dry-run'], /not both/],
    [['--all', '--target-flops', '0.5', '--target-params', '0.5', '--dry-run'], /give only one of --target-flops, --target-params/],
    [['--all', '--target-flops', '1.5', '--dry-run'], /target-flops/],
    [['--all', '--target-speedup', '0.5', '--dry-run'], /target-speedup/],
    [['--all', '--target-flops', '0.5', '--allocation', 'sensitivity', '--dry-run'], /needs --sensitivity-file/],
  ] as const) {
    r = run(...args);
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, why);
  }
});

test.run();
