// Child process of own-conv-kernels.test.ts: the wasm backend's threaded build (2 threads, shared
// heap), where our conv, Mish and leaky relu kernels run (src/backend/heap-engine.ts). For each case
// it writes (to the file named by its argument) our output, the backend's own kernel's output (ours switched off) and which of our
// exports ran; the parent compares both with a float64 convolution it computes itself.
import * as tf from '@tensorflow/tfjs';
import { readFileSync, writeFileSync } from 'node:fs';
import { selectBackend } from '../src/backend/select.ts';
import { HeapThreads } from '../src/backend/heap-threads.ts';
import { setOwnKernels } from '../src/backend/heap-engine.ts';
import { enableWasmThreads } from '../src/speed/wasm-threads.ts';

export interface ConvCase {
  x: number[]; xShape: [number, number, number, number];
  w: number[]; wShape: [number, number, number, number];
  bias?: number[]; stride: number; pad: 'same' | 'valid' | number[][];
  activation: 'linear' | 'relu' | 'leakyrelu'; alpha: number;
}

await enableWasmThreads({ threads: 2 });
await selectBackend('wasm', { quiet: true });
const ran = new Set<string>();
const run = HeapThreads.prototype.run;
HeapThreads.prototype.run = function record(this: HeapThreads, name: string, args: number[], total: number, grain?: number) {
  ran.add(name);
  run.call(this, name, args, total, grain);
};

const cases = JSON.parse(readFileSync(0, 'utf8')) as ConvCase[];
const conv = (c: ConvCase) => tf.tidy(() => Array.from(tf.fused.conv2d({
  x: tf.tensor4d(c.x, c.xShape), filter: tf.tensor4d(c.w, c.wShape), strides: c.stride, pad: c.pad as 'same',
  bias: c.bias ? tf.tensor1d(c.bias) : undefined, activation: c.activation, leakyreluAlpha: c.alpha,
}).dataSync()));
const results = cases.map((c) => {
  ran.clear();
  const ours = conv(c);
  const exports = [...ran];
  setOwnKernels(false);
  const builtin = conv(c);
  setOwnKernels(true);
  return { ours, builtin, exports };
});

// Gradients flow through our forward kernel as through the backend's own.
const gx = tf.randomNormal([2, 9, 7, 12], 0, 1, 'float32', 1);
const gw = tf.randomNormal([3, 3, 12, 10], 0, 1, 'float32', 2);
const grads = () => tf.tidy(() => {
  const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))))([gx, gw]);
  return [...dx.dataSync(), ...dw.dataSync()];
});
const gradOurs = grads();
setOwnKernels(false);
const gradBuiltin = grads();
setOwnKernels(true);

// Leaky relu on all threads, against the backend's own.
const lx = tf.randomNormal([3, 50, 41, 7], 0, 1, 'float32', 3);
const leaky = () => Array.from(tf.tidy(() => tf.leakyRelu(lx, 0.1).dataSync()));
ran.clear();
const leakyOurs = leaky();
const leakyRan = ran.has('leakyRelu');
setOwnKernels(false);
const leakyBuiltin = leaky();
setOwnKernels(true);

// Memory stays flat: filters made and disposed each call leave neither tensors nor heap blocks.
const backend = tf.backend() as unknown as { numDataIds(): number };
const x = tf.randomNormal([1, 20, 20, 16]) as tf.Tensor4D;
const once = () => {
  const w3 = tf.randomNormal([3, 3, 16, 16]) as tf.Tensor4D;
  const w1 = tf.randomNormal([1, 1, 16, 24]) as tf.Tensor4D;
  tf.tidy(() => { tf.conv2d(tf.conv2d(x, w3, 1, 'same'), w1, 1, 'same').dataSync(); });
  tf.dispose([w3, w1]);
};
once();
once();
const tensorsBefore = tf.memory().numTensors;
const idsBefore = backend.numDataIds();
for (let i = 0; i < 20; i++) once();
const leak = { tensors: tf.memory().numTensors - tensorsBefore, dataIds: backend.numDataIds() - idsBefore };

// to a file: a large write to a pipe may be cut short when the process exits
writeFileSync(process.argv[2], JSON.stringify({ results, gradOurs, gradBuiltin, leakyOurs, leakyBuiltin, leakyRan, leak }));
process.exit(0);
