/**
 * A deterministic computation (convs forward, a conv weight gradient, BN, Mish) used to check that
 * the threaded wasm backend computes what the single-threaded one does.
 *   node --import tsx src/speed/wasm-threads-check.ts --threads 2   -> one JSON line
 * test/speed-threads.test.ts runs it in a child process (threads are per process) and compares with
 * checkComputation() in its own, single-threaded backend.
 */
import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';

function det(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return tf.tensor(a, shape);
}

export function checkComputation(): { forward: number[]; grad: number[] } {
  return tf.tidy(() => {
    const x = det([2, 24, 24, 8], 1);
    const w1 = det([3, 3, 8, 32], 2);
    const w2 = det([1, 1, 32, 16], 3);
    const f = (wa: tf.Tensor) => {
      let h: tf.Tensor = tf.conv2d(x as tf.Tensor4D, wa as tf.Tensor4D, 2, 'same');
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      h = tf.batchNorm(h, mean, variance, tf.fill([32], 0.1), tf.fill([32], 1.5), 1e-5);
      h = tf.mul(h, tf.tanh(tf.softplus(h)));
      return tf.conv2d(h as tf.Tensor4D, w2 as tf.Tensor4D, 1, 'same');
    };
    const y = f(w1);
    const g = tf.grad((wa: tf.Tensor) => tf.sum(tf.square(f(wa))))(w1);
    return { forward: Array.from(y.dataSync()), grad: Array.from(g.dataSync()) };
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--threads');
  const threads = i >= 0 ? Number(process.argv[i + 1]) : 2;
  const { enableWasmThreads, wasmThreadsCount } = await import('./wasm-threads.ts');
  const enabled = await enableWasmThreads({ threads });
  const { selectBackend } = await import('../backend/select.ts');
  const r = await selectBackend('wasm', { quiet: true });
  const result = checkComputation();
  console.log(JSON.stringify({ enabled, backend: r.name, detail: r.detail, threads: await wasmThreadsCount(), ...result }));
}
