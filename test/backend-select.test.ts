import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { BackendError, describeBackend, selectBackend } from '../src/backend/select.ts';
import { testIf } from './_needs.ts';

const startBackend = tf.getBackend();
const require = createRequire(import.meta.url);
function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}
const nativeAbsent = !installed('@tensorflow/tfjs-node-gpu') && !installed('@tensorflow/tfjs-node');
const realImport = (s: string) => import(s);
/** The tests below that assume no native package: with one installed they are reported as skipped. */
const withoutNative = (name: string, fn: () => Promise<void>) =>
  testIf(nativeAbsent, name, fn, 'tfjs-node or tfjs-node-gpu is installed (the test assumes neither is)');

test('an unknown backend name is a BackendError listing the valid ones', async () => {
  const err = await selectBackend('gpu' as never).then(() => null, (e: unknown) => e);
  assert.instance(err, BackendError);
  assert.match((err as Error).message, /unknown backend 'gpu'.*auto, tensorflow, wasm, cpu/);
});

test('YOLO4_BACKEND is the default choice, and a bad value names the variable', async () => {
  const saved = process.env.YOLO4_BACKEND;
  process.env.YOLO4_BACKEND = 'tpu';
  try {
    const err = await selectBackend(undefined, { quiet: true }).then(() => null, (e: unknown) => e);
    assert.instance(err, BackendError);
    assert.match((err as Error).message, /'tpu' \(from YOLO4_BACKEND\)/);
  } finally {
    if (saved === undefined) delete process.env.YOLO4_BACKEND;
    else process.env.YOLO4_BACKEND = saved;
  }
});

withoutNative("'tensorflow' without tfjs-node is a BackendError that says how to install it", async () => {
  const err = await selectBackend('tensorflow', { quiet: true }).then(() => null, (e: unknown) => e);
  assert.instance(err, BackendError);
  const msg = (err as Error).message;
  assert.match(msg, /tfjs-node-gpu: not installed; tfjs-node: not installed/);
  assert.match(msg, /npm install @tensorflow\/tfjs-node/);
  assert.is(tf.getBackend(), startBackend, 'a failed choice leaves the backend alone');
});

withoutNative("'auto' picks wasm here, reports both native packages as skipped, and logs one line once", async () => {
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const r = await selectBackend('auto', { log });
  assert.is(r.name, 'wasm');
  assert.is(tf.getBackend(), 'wasm');
  assert.match(r.detail, /SIMD, \d+ thread/);
  // webgpu sits between the two native packages; here it has no adapter or only a CPU one.
  const webgpu = r.skipped[1];
  assert.equal(r.skipped.map((s) => s.candidate), ['tfjs-node-gpu', 'webgpu', 'tfjs-node']);
  assert.equal([r.skipped[0], r.skipped[2]], [
    { candidate: 'tfjs-node-gpu', reason: 'not installed' },
    { candidate: 'tfjs-node', reason: 'not installed' },
  ]);
  assert.match(webgpu.reason, /not installed|no WebGPU adapter|only a CPU adapter/);
  await selectBackend('auto', { log });
  assert.ok(lines.length <= 1, 'the same line is printed at most once per process');
  assert.is(describeBackend(r), `backend: wasm (${r.detail}) — tfjs-node-gpu: not installed; webgpu: ${webgpu.reason}; tfjs-node: not installed`);
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'wasm got the conv weight-gradient kernel');
  await tf.setBackend(startBackend);
});

test('a native package that fails to load is reported with its error, and auto falls back', async () => {
  const importModule = async (s: string) => {
    if (s === '@tensorflow/tfjs-node-gpu') throw new Error('libcudart.so.11.0: cannot open shared object file\nmore');
    if (s === '@tensorflow/tfjs-node') {
      throw Object.assign(new Error("Cannot find module '/x/lib/napi-v8/tfjs_binding.node'"), { code: 'MODULE_NOT_FOUND' });
    }
    return realImport(s);
  };
  try {
    const r = await selectBackend('auto', { quiet: true, importModule });
    assert.is(r.name, 'wasm');
    assert.is(r.skipped[0].reason, 'failed to load (libcudart.so.11.0: cannot open shared object file)');
    assert.match(r.skipped.find((s) => s.candidate === 'tfjs-node')!.reason, /^installed but incomplete .*tfjs_binding\.node.*npm rebuild @tensorflow\/tfjs-node/);
  } finally {
    await tf.setBackend(startBackend);
  }
});

withoutNative("a loaded native package selects 'tensorflow' and reports whether it found a GPU", async () => {
  // Stand-in for tfjs-node-gpu: registering the 'tensorflow' backend is what the real one does.
  class FakeNative extends tf.KernelBackend {
    isUsingGpuDevice = true;
    override dispose(): void {}
  }
  const importModule = async (s: string) => {
    if (s !== '@tensorflow/tfjs-node-gpu') return realImport(s);
    tf.registerBackend('tensorflow', () => new FakeNative(), 3);
    return {};
  };
  try {
    const r = await selectBackend('tensorflow', { quiet: true, importModule });
    assert.equal(r, { name: 'tensorflow', detail: 'tfjs-node-gpu, CUDA', skipped: [] });
  } finally {
    await tf.setBackend(startBackend);
    tf.removeBackend('tensorflow');
  }
});

test("explicit 'cpu' runs cpu with the faster weight-gradient kernel", async () => {
  try {
    const r = await selectBackend('cpu', { quiet: true });
    assert.equal(r, { name: 'cpu', detail: 'pure JS, slow', skipped: [] });
    assert.is(tf.getBackend(), 'cpu');
    const { conv2dBackpropFilterKernel } = await import('../src/backend/conv2d-backprop-filter.ts');
    assert.is(tf.getKernel('Conv2DBackpropFilter', 'cpu')?.kernelFunc, conv2dBackpropFilterKernel);
  } finally {
    await tf.setBackend(startBackend);
  }
});

test.run();
