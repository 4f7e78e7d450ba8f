/** Mish formulations on the active backend: forward (and gradient) time per element. */
import * as tf from '@tensorflow/tfjs';
import type { BackendChoice } from '../src/backend/select.ts';
import { loadavg, median, startBackend, value } from './bench-vs-pytorch-util.ts';

const backend = await startBackend(value('backend', 'wasm') as BackendChoice, Number(value('threads', '1')));
const shape = [1, 208, 208, 64];
const x = tf.randomNormal(shape, 0, 3);

interface WasmBackendLike {
  dataIdMap: { get(id: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
  wasm: { HEAPF32: Float32Array };
}
tf.registerKernel({
  kernelName: 'MishJs', backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const b = backend as unknown as WasmBackendLike;
    const xi = inputs.x as tf.TensorInfo;
    const out = b.makeOutput(xi.shape, 'float32');
    const heap = b.wasm.HEAPF32;
    const n = xi.shape.reduce((a, c) => a * c, 1);
    const xo = b.dataIdMap.get(xi.dataId).memoryOffset >>> 2;
    const oo = b.dataIdMap.get(out.dataId).memoryOffset >>> 2;
    for (let i = 0; i < n; i++) {
      const v = heap[xo + i];
      if (v > 20) { heap[oo + i] = v; continue; }
      const e = Math.exp(v);
      const m = e * (e + 2);
      heap[oo + i] = v * m / (m + 2);
    }
    return out;
  },
});

const variants: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  'x*tanh(softplus(x)) [current]': (x) => tf.mul(x, tf.tanh(tf.softplus(x))),
  'exp form, tf ops': (x) => {
    const e = tf.exp(tf.minimum(x, 20));
    const m = tf.mul(e, tf.add(e, 2));
    return tf.mul(x, tf.div(m, tf.add(m, 2)));
  },
  'sigmoid form, tf ops': (x) => {
    const p = tf.sigmoid(tf.neg(x));
    const p2 = tf.square(p);
    return tf.mul(x, tf.div(tf.sub(1, p2), tf.add(1, p2)));
  },
  'JS kernel on wasm heap': (x) => tf.engine().runKernel('MishJs', { x }) as tf.Tensor,
};
const ref = variants['x*tanh(softplus(x)) [current]'](x);
for (const [name, f] of Object.entries(variants)) {
  const y = f(x);
  const err = tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0];
  y.dispose();
  const ts: number[] = [];
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    const r = tf.tidy(() => f(x));
    r.dataSync();
    r.dispose();
    ts.push(performance.now() - t0);
  }
  console.log(`${name}: ${median(ts.slice(1)).toFixed(1)} ms for ${shape.join('x')} (max abs diff ${err.toExponential(1)})`);
}
console.log(backend.label, 'load', loadavg());

// Forward + backward of the current formulation vs mishFast (customGrad).
const { mishFast } = await import('../src/model/mish-fast.ts');
const { mish } = await import('../src/model/mish.ts');
for (const [name, f] of [['current mish fwd+bwd', mish], ['mishFast fwd+bwd', mishFast]] as const) {
  const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(f(v), 1)));
  const ts: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    const r = g(x);
    r.dataSync();
    r.dispose();
    ts.push(performance.now() - t0);
  }
  console.log(`${name}: ${median(ts.slice(1)).toFixed(1)} ms; tensors ${tf.memory().numTensors}`);
}
