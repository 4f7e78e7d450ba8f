import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { checkComputation } from '../src/speed/wasm-threads-check.ts';

test('threaded wasm backend (2 threads, child process) computes what this backend computes, and exits', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/speed/wasm-threads-check.ts', '--threads', '2'], {
    encoding: 'utf8', timeout: 60_000,
  });
  assert.is(r.status, 0, `child failed: ${r.stderr.slice(-2000)}`);
  const line = r.stdout.trim().split('\n').pop()!;
  const got = JSON.parse(line) as { enabled: boolean; backend: string; detail: string; threads: number; forward: number[]; grad: number[] };
  assert.ok(got.enabled);
  assert.is(got.backend, 'wasm');
  assert.is(got.threads, 2);
  assert.match(got.detail, /2 threads/);
  const want = checkComputation();
  for (const key of ['forward', 'grad'] as const) {
    const a = want[key];
    const b = got[key];
    assert.is(b.length, a.length);
    let m = 0;
    let d = 0;
    for (let i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i]));
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    assert.ok(d / m < 1e-4, `${key}: relative difference ${d / m} (backend here: ${tf.getBackend()})`);
  }
});

test.run();
