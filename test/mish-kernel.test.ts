import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { mishKernelAvailable } from '../src/model/mish-kernel.ts';

// The one-pass Mish kernels (threaded wasm only, so in a child process) against Mish and its
// derivative computed here in float64 from the definition: x tanh(softplus(x)).

function mish64(x: number): number {
  const sp = x > 30 ? x : Math.log1p(Math.exp(x));
  return x * Math.tanh(sp);
}
function mishGrad64(x: number): number {
  const sp = x > 30 ? x : Math.log1p(Math.exp(x));
  const t = Math.tanh(sp);
  const s = 1 / (1 + Math.exp(-x));
  return t + x * s * (1 - t * t);
}

const grid = Array.from({ length: 401 }, (_, i) => -25 + i * 0.125); // -25 .. 25
const xs = [...grid, -100, -87.5, -86.9, -40, -1e-3, 1e-3, 0, 19.9, 20.1, 60, 1e6, -1e6, Math.fround(Math.PI), 3, 5, 7, 11];

function parse(v: unknown): number {
  return typeof v === 'string' ? Number(v) : (v as number);
}

test('the single-threaded build keeps the tfjs ops (no shared heap)', () => {
  assert.is(mishKernelAvailable(tf.zeros([2])), false);
});

test('threaded wasm: Mish and its gradient equal the float64 definition (relative 3e-6), finer than the tfjs ops; no leaks', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/_mish-kernel-child.ts', JSON.stringify(xs)], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, `child failed: ${r.stderr.slice(-2000)}`);
  const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as { available: boolean; kernel: { y: unknown[]; dx: unknown[] }; ops: { y: unknown[]; dx: unknown[] }; dy: number[]; leaked: number };
  assert.ok(got.available, 'kernel available on the threaded build');
  assert.is(got.leaked, 0);
  let worstKernel = 0;
  let worstOps = 0;
  xs.forEach((x, i) => {
    const xf = Math.fround(x);
    const want = [mish64(xf), mishGrad64(xf) * got.dy[i]];
    const kernel = [parse(got.kernel.y[i]), parse(got.kernel.dx[i])];
    const ops = [parse(got.ops.y[i]), parse(got.ops.dx[i])];
    for (let k = 0; k < 2; k++) {
      const scale = Math.max(Math.abs(want[k]), 1e-30);
      const errKernel = Math.abs(kernel[k] - want[k]) / scale;
      assert.ok(errKernel <= 3e-6 || Math.abs(kernel[k] - want[k]) < 1e-35, `${k ? 'gradient' : 'mish'}(${x}) = ${kernel[k]}, want ${want[k]}`);
      if (Math.abs(xf) < 20) {
        worstKernel = Math.max(worstKernel, errKernel);
        worstOps = Math.max(worstOps, Math.abs(ops[k] - want[k]) / scale);
      }
    }
  });
  // The sigmoid form loses digits to 1 - p^2 for negative x; the kernel does not.
  assert.ok(worstKernel < worstOps, `kernel ${worstKernel} vs ops ${worstOps}`);
});

test.run();
