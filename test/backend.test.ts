import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilter } from '../src/backend/conv2d-backprop-filter.ts';
import { conv2dBackpropInput } from '../src/backend/conv2d-backprop-input.ts';
import { depthwiseBackpropFilter, depthwiseBackpropInput } from '../src/backend/depthwise-backprop.ts';
import { registerTrainingKernels } from '../src/backend/training-kernels.ts';

// Our gradient kernels on wasm against (a) the cpu backend's gradients and (b) a float64 loop
// written from the definition, which stays independent even when cpu runs our kernel too.

type Pad = 'same' | 'valid';
const startBackend = tf.getBackend();

async function use(name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'wasm' && tf.findBackendFactory('wasm') == null) await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend(name);
  await tf.ready();
  if (name === 'wasm') registerTrainingKernels('wasm');
}

/** max |a-b| / max |b|: the tolerance is relative to the gradient's scale. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.is(a.length, b.length, 'length');
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

// ---- float64 reference, straight from the definition of a (depthwise) conv ----
interface Geo { n: number; h: number; w: number; c: number; oh: number; ow: number; k: number; s: number; d: number; top: number; left: number }

function geo(xShape: number[], k: number, s: number, d: number, pad: Pad): Geo {
  const [n, h, w, c] = xShape;
  const ek = (k - 1) * d + 1;
  if (pad === 'valid') {
    return { n, h, w, c, k, s, d, oh: Math.ceil((h - ek + 1) / s), ow: Math.ceil((w - ek + 1) / s), top: 0, left: 0 };
  }
  const oh = Math.ceil(h / s);
  const ow = Math.ceil(w / s);
  return { n, h, w, c, k, s, d, oh, ow,
    top: Math.floor(Math.max(0, (oh - 1) * s + ek - h) / 2), left: Math.floor(Math.max(0, (ow - 1) * s + ek - w) / 2) };
}

/** Calls f for every (batch, input pixel, output pixel, tap) pair the conv multiplies. */
function forEachTap(g: Geo, f: (xi: number, yi: number, tap: number) => void): void {
  for (let b = 0; b < g.n; b++) for (let yr = 0; yr < g.oh; yr++) for (let yc = 0; yc < g.ow; yc++) {
    for (let i = 0; i < g.k; i++) for (let j = 0; j < g.k; j++) {
      const xr = yr * g.s + i * g.d - g.top;
      const xc = yc * g.s + j * g.d - g.left;
      if (xr < 0 || xr >= g.h || xc < 0 || xc >= g.w) continue;
      f((b * g.h + xr) * g.w + xc, (b * g.oh + yr) * g.ow + yc, i * g.k + j);
    }
  }
}

/** dW and dX of conv2d (mult = 0) or depthwise conv2d (channel multiplier mult). */
function reference(g: Geo, x: Float32Array, f: Float32Array, dy: Float32Array, outC: number, mult = 0) {
  const dW = new Float64Array(f.length);
  const dX = new Float64Array(x.length);
  const yc = mult ? g.c * mult : outC;
  forEachTap(g, (xi, yi, tap) => {
    for (let c = 0; c < g.c; c++) {
      const ms = mult ? mult : outC;
      for (let m = 0; m < ms; m++) {
        const fi = (tap * g.c + c) * ms + m;
        const dyv = dy[yi * yc + (mult ? c * mult + m : m)];
        dW[fi] += x[xi * g.c + c] * dyv;
        dX[xi * g.c + c] += f[fi] * dyv;
      }
    }
  });
  return { dW, dX };
}

// ---- conv2d through tf.grad: filter and input gradients ----
interface Case { size: [number, number]; k: number; s: number; pad: Pad }
const cases: Case[] = [];
for (const size of [[7, 7], [8, 6]] as [number, number][]) {
  for (const k of [1, 3]) for (const s of [1, 2]) for (const pad of ['same', 'valid'] as Pad[]) cases.push({ size, k, s, pad });
}

function convGrads(x: tf.Tensor4D, f: tf.Tensor4D, dy: tf.Tensor4D, s: number, pad: Pad, depthwise: boolean) {
  const g = tf.grads((...[xx, ff]: tf.Tensor[]) => {
    const [x4, f4] = [xx as tf.Tensor4D, ff as tf.Tensor4D];
    return (depthwise ? tf.depthwiseConv2d(x4, f4, s, pad) : tf.conv2d(x4, f4, s, pad)).mul(dy).sum();
  });
  const [dX, dW] = g([x, f]);
  const out = { dW: dW.dataSync() as Float32Array, dX: dX.dataSync() as Float32Array };
  tf.dispose([dX, dW]);
  return out;
}

for (const depthwise of [false, true]) {
  test(`${depthwise ? 'depthwise' : 'conv2d'} gradients on wasm match cpu and a float64 loop (strides 1/2, same/valid, 1x1/3x3, odd/even)`, async () => {
    try {
      for (const { size: [h, w], k, s, pad } of cases) {
        const inC = 3;
        const mult = 2;
        const outC = depthwise ? inC * mult : 4;
        const x = tf.randomNormal([2, h, w, inC], 0, 1, 'float32', 1) as tf.Tensor4D;
        const f = tf.randomNormal([k, k, inC, depthwise ? mult : outC], 0, 1, 'float32', 2) as tf.Tensor4D;
        const g = geo(x.shape, k, s, 1, pad);
        const dy = tf.randomNormal([2, g.oh, g.ow, outC], 0, 1, 'float32', 3) as tf.Tensor4D;
        const ref = reference(g, x.dataSync() as Float32Array, f.dataSync() as Float32Array,
          dy.dataSync() as Float32Array, outC, depthwise ? mult : 0);
        await use('cpu');
        const onCpu = convGrads(x, f, dy, s, pad, depthwise);
        await use('wasm');
        const onWasm = convGrads(x, f, dy, s, pad, depthwise);
        const at = `${h}x${w} k${k} s${s} ${pad}`;
        for (const key of ['dW', 'dX'] as const) {
          assert.ok(relErr(onWasm[key], onCpu[key]) < 1e-4, `${at} ${key} wasm vs cpu: ${relErr(onWasm[key], onCpu[key])}`);
          assert.ok(relErr(onWasm[key], ref[key]) < 1e-4, `${at} ${key} wasm vs float64: ${relErr(onWasm[key], ref[key])}`);
          assert.ok(relErr(onCpu[key], ref[key]) < 1e-4, `${at} ${key} cpu vs float64`);
        }
        tf.dispose([x, f, dy]);
      }
    } finally {
      await tf.setBackend(startBackend);
    }
  });
}

test('dilation 2 and NCHW, called directly (tfjs gradients refuse dilation > 1)', async () => {
  try {
    await use('wasm');
    const x = tf.randomNormal([2, 9, 8, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 5) as tf.Tensor4D;
    const fd = tf.randomNormal([3, 3, 3, 2], 0, 1, 'float32', 6) as tf.Tensor4D;
    const g = geo(x.shape, 3, 1, 2, 'same');
    const dy = tf.randomNormal([2, g.oh, g.ow, 4], 0, 1, 'float32', 7) as tf.Tensor4D;
    const dyd = tf.randomNormal([2, g.oh, g.ow, 6], 0, 1, 'float32', 8) as tf.Tensor4D;
    const xs = x.dataSync() as Float32Array;
    const ref = reference(g, xs, f.dataSync() as Float32Array, dy.dataSync() as Float32Array, 4);
    const refD = reference(g, xs, fd.dataSync() as Float32Array, dyd.dataSync() as Float32Array, 6, 2);
    const a = { strides: 1, pad: 'same' as const, dilations: 2 };
    const got = [
      conv2dBackpropFilter(x, dy, { ...a, filterShape: [3, 3, 3, 4] }),
      conv2dBackpropInput(dy, f, { ...a, inputShape: [2, 9, 8, 3] }),
      depthwiseBackpropFilter(x, dyd, { ...a, filterShape: [3, 3, 3, 2] }),
      depthwiseBackpropInput(dyd, fd, { ...a, inputShape: [2, 9, 8, 3] }),
    ];
    const want = [ref.dW, ref.dX, refD.dW, refD.dX];
    got.forEach((t, i) => assert.ok(relErr(t.dataSync(), want[i]) < 1e-4, `dilated #${i}: ${relErr(t.dataSync(), want[i])}`));

    // NCHW in, NCHW out: same numbers as NHWC.
    const nchw = (t: tf.Tensor4D) => tf.transpose(t, [0, 3, 1, 2]) as tf.Tensor4D;
    const gf = conv2dBackpropFilter(nchw(x), nchw(dy), { ...a, dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] });
    const gi = conv2dBackpropInput(nchw(dy), f, { ...a, dataFormat: 'NCHW', inputShape: [2, 3, 9, 8] });
    assert.ok(relErr(gf.dataSync(), ref.dW) < 1e-4, 'NCHW filter');
    assert.ok(relErr(tf.transpose(gi, [0, 2, 3, 1]).dataSync(), ref.dX) < 1e-4, 'NCHW input');
    assert.throws(() => conv2dBackpropFilter(x, dy, { ...a, dilations: 0, filterShape: [3, 3, 3, 4] }), /dilations/);
    tf.dispose([x, f, fd, dy, dyd, ...got, gf, gi]);
  } finally {
    await tf.setBackend(startBackend);
  }
});

test('no tensor leaks: grad calls through every kernel leave numTensors unchanged', async () => {
  try {
    await use('wasm');
    const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, 3, 4]) as tf.Tensor4D;
    const fd = tf.randomNormal([3, 3, 3, 2]) as tf.Tensor4D;
    const step = () => {
      const conv = (...[xx, ff]: tf.Tensor[]) => tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, 2, 'same').square().sum();
      const dw = (...[xx, ff]: tf.Tensor[]) => tf.depthwiseConv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, 1, 'valid').sum();
      const [a, b] = tf.grads(conv)([x, f]);
      const [c, d] = tf.grads(dw)([x, fd]);
      tf.dispose([a, b, c, d]);
    };
    step(); // warm-up: first calls may cache backend state
    const before = tf.memory().numTensors;
    const dataBefore = tf.engine().backend.numDataIds();
    for (let i = 0; i < 3; i++) step();
    assert.is(tf.memory().numTensors, before, 'numTensors');
    assert.is(tf.engine().backend.numDataIds(), dataBefore, 'backend data ids');
    tf.dispose([x, f, fd]);
  } finally {
    await tf.setBackend(startBackend);
  }
});

test('a kernel given bare TensorInfos (as a backend would pass) leaves the caller its data', async () => {
  try {
    await use('wasm');
    const backend = tf.backend();
    const info = (values: Float32Array, shape: number[]): tf.TensorInfo =>
      ({ dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32' });
    const x = info(new Float32Array(2 * 5 * 5 * 3).map((_, i) => Math.sin(i)), [2, 5, 5, 3]);
    const dy = info(new Float32Array(2 * 5 * 5 * 4).map((_, i) => Math.cos(i)), [2, 5, 5, 4]);
    const kernel = tf.getKernel('Conv2DBackpropFilter', 'wasm')!;
    const before = tf.memory().numTensors;
    const out = kernel.kernelFunc({ inputs: { x, dy }, backend, attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] } }) as tf.Tensor;
    const ref = reference(geo(x.shape, 3, 1, 1, 'same'), backend.readSync(x.dataId) as Float32Array,
      new Float32Array(3 * 3 * 3 * 4), backend.readSync(dy.dataId) as Float32Array, 4);
    assert.ok(relErr(out.dataSync(), ref.dW) < 1e-4);
    assert.is(tf.memory().numTensors, before + 1, 'only the output is new');
    out.dispose();
    backend.disposeData(x.dataId);
    backend.disposeData(dy.dataId);
  } finally {
    await tf.setBackend(startBackend);
  }
});

test('a small layers model trains on wasm with the same gradients as on cpu', async () => {
  const input = tf.input({ shape: [12, 12, 3] });
  let y = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization().apply(y) as tf.SymbolicTensor;
  y = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: tf.initializers.glorotNormal({ seed: 2 }) }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.conv2d({ filters: 4, kernelSize: 1, kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }).apply(y) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: y });
  const x = tf.randomNormal([2, 12, 12, 3], 0, 1, 'float32', 9);
  const grads = () => {
    const { value, grads: g } = tf.variableGrads(() => tf.tidy(() => (model.apply(x, { training: true }) as tf.Tensor).square().mean() as tf.Scalar));
    const out = Object.fromEntries(Object.entries(g).map(([k, t]) => [k, t.dataSync().slice()]));
    tf.dispose([value, ...Object.values(g)]);
    return out;
  };
  try {
    await use('cpu');
    const onCpu = grads();
    await use('wasm');
    const onWasm = grads();
    assert.equal(Object.keys(onWasm).sort(), Object.keys(onCpu).sort());
    for (const k of Object.keys(onCpu)) assert.ok(relErr(onWasm[k], onCpu[k]) < 1e-4, `${k}: ${relErr(onWasm[k], onCpu[k])}`);
  } finally {
    model.dispose();
    x.dispose();
    await tf.setBackend(startBackend);
  }
});

test.run();
