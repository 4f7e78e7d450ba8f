// Child process of mish-kernel.test.ts: the wasm backend's threaded build (2 threads, shared heap),
// where Mish runs as one SIMD pass each way. Prints one JSON line.
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select.ts';
import { enableWasmThreads } from '../src/speed/wasm-threads.ts';
import { mishKernelAvailable, setMishKernel } from '../src/model/mish-kernel.ts';
import { mishFast } from '../src/model/mish-fast.ts';

await enableWasmThreads({ threads: 2 });
await selectBackend('wasm', { quiet: true });
const xs = JSON.parse(process.argv[2]) as number[];
const x = tf.tensor1d(xs);
const dy = tf.tensor1d(xs.map((_, i) => 1 + (i % 7) / 7));
const run = () => {
  const y = Array.from(mishFast(x).dataSync());
  const dx = Array.from(tf.grad((t: tf.Tensor) => tf.mul(mishFast(t), dy))(x).dataSync());
  return { y, dx };
};
const available = mishKernelAvailable(x);
const kernel = run();
setMishKernel(false);
const ops = run();
setMishKernel(true);
const before = tf.memory().numTensors;
for (let i = 0; i < 5; i++) tf.tidy(() => { tf.grad((t: tf.Tensor) => tf.sum(mishFast(t)))(x); });
const leaked = tf.memory().numTensors - before;
const dyValues = Array.from(dy.dataSync());
console.log(JSON.stringify({ available, kernel, ops, dy: dyValues, leaked }, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
process.exit(0);
