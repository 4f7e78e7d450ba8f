/**
 * One word for one thing (issue 12): the input size is `--img-size` on every verb. `--input-size`,
 * its old name on prune/info/import, still works (same result) but is not in --help.
 */
import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { runCli } from '../src/cli/cli.ts';

function yolo4(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/yolo4.js', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, YOLO4_BACKEND: 'wasm' } },
      (e, out, err) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err }));
  });
}

async function helpOf(args: string[]): Promise<string> {
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => { out.push(a.map(String).join(' ')); };
  try {
    await runCli(args, { exitProcess: false, width: 120 });
  } finally {
    console.log = log;
  }
  return out.join('\n');
}

const flopsLines = (out: string) => out.split('\n').filter((l) => l.includes('FLOPs'));

test('prune --dry-run: --img-size 320 and --input-size 320 give the same FLOPs lines (at 320x320)', async () => {
  const base = ['prune', '--config', 'configs/yolov4.json', '--layers', 'conv2.*', '--amount', '0.4', '--dry-run'];
  const [a, b] = await Promise.all([yolo4([...base, '--img-size', '320']), yolo4([...base, '--input-size', '320'])]);
  assert.is(a.code, 0, a.err);
  assert.is(b.code, 0, b.err);
  const fa = flopsLines(a.out);
  assert.ok(fa.length > 0 && fa.every((l) => l.includes('320x320')), a.out);
  assert.equal(flopsLines(b.out), fa);
});

test('--img-size and --input-size together: a usage error', async () => {
  const r = await yolo4(['info', '--img-size', '320', '--input-size', '320']);
  assert.is(r.code, 2, r.out + r.err);
  assert.match(r.err, /img-size/);
});

test('--input-size is checked like --img-size', async () => {
  const r = await yolo4(['info', '--input-size', '300']);
  assert.is(r.code, 2, r.out + r.err);
  assert.match(r.err, /--input-size must be a multiple of 32/);
});

for (const verb of ['prune', 'info', 'import', 'eval', 'predict', 'train']) {
  test(`${verb} --help shows --img-size and not --input-size`, async () => {
    const help = await helpOf([verb, '--help']);
    assert.match(help, /--img-size/);
    assert.not.match(help, /--input-size/);
  });
}

test.run();
