import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../src/util/mulberry32.ts';
import { builtinKernel } from '../src/backend/training-kernels.ts';

// Our Slice / SplitV / Reverse on wasm (copy-kernels.ts) against an element-by-element reference
// written from the definition (and, where wasm has one, its own kernel): values must be identical.

const onWasm = tf.getBackend() === 'wasm';

function coords(shape: number[], flat: number): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return c;
}

function flatIndex(shape: number[], c: number[]): number {
  let f = 0;
  for (let d = 0; d < shape.length; d++) f = f * shape[d] + c[d];
  return f;
}

function referenceSlice(x: Float32Array | Int32Array, shape: number[], begin: number[], size: number[]): number[] {
  const n = size.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, (_, i) => x[flatIndex(shape, coords(size, i).map((c, d) => c + begin[d]))]);
}

function referenceReverse(x: Float32Array | Int32Array, shape: number[], axes: number[]): number[] {
  return Array.from({ length: x.length }, (_, i) => x[flatIndex(shape, coords(shape, i).map((c, d) => (axes.includes(d) ? shape[d] - 1 - c : c)))]);
}

const rand = mulberry32(7);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

function randomTensor(shape: number[], dtype: 'float32' | 'int32'): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = dtype === 'float32' ? Float32Array.from({ length: n }, () => rand() * 2 - 1) : Int32Array.from({ length: n }, () => int(-1000, 1000));
  return tf.tensor(values, shape, dtype);
}

test('Slice equals the element-by-element definition on 300 random boxes (rank 1-5, float32 and int32)', () => {
  for (let t = 0; t < 300; t++) {
    const rank = int(1, 5);
    const shape = Array.from({ length: rank }, () => int(1, 7));
    const begin = shape.map((s) => int(0, s - 1));
    // Some dimensions whole, some partial, some -1 ("to the end"), as the gradients of pad and concat make them.
    const size = shape.map((s, d) => (rand() < 0.3 ? -1 : rand() < 0.3 && begin[d] === 0 ? s : int(1, s - begin[d])));
    const dtype = t % 3 === 0 ? 'int32' : 'float32';
    const x = randomTensor(shape, dtype);
    const y = tf.slice(x, begin, size);
    const full = size.map((s, d) => (s === -1 ? shape[d] - begin[d] : s));
    assert.equal(y.shape, full);
    assert.equal(Array.from(y.dataSync()), referenceSlice(x.dataSync() as Float32Array, shape, begin, full), `${shape} ${begin} ${size}`);
    tf.dispose([x, y]);
  }
});

test('Slice of a training-sized crop (the gradient of a 1-pixel pad) and of a channel range', () => {
  const x = randomTensor([2, 34, 34, 8], 'float32');
  for (const [begin, size] of [[[0, 1, 1, 0], [2, 32, 32, 8]], [[0, 0, 0, 3], [2, 34, 34, 4]], [[1, 5, 0, 0], [1, 1, 34, 8]]]) {
    const y = tf.slice(x, begin, size);
    assert.equal(Array.from(y.dataSync()), referenceSlice(x.dataSync() as Float32Array, x.shape, begin, size));
    if (onWasm) {
      // The wasm backend's own kernel gives the same bits.
      const own = builtinKernel('Slice', 'wasm')!;
      const info = own.kernelFunc({ inputs: { x }, attrs: { begin, size }, backend: tf.backend() }) as tf.TensorInfo;
      const theirs = tf.engine().makeTensorFromTensorInfo(info);
      assert.equal(Array.from(theirs.dataSync()), Array.from(y.dataSync()));
      theirs.dispose();
    }
    y.dispose();
  }
  x.dispose();
});

test('SplitV (a concat gradient) equals slices, by count and by sizes, on any axis', () => {
  const x = randomTensor([2, 5, 6, 12], 'float32');
  const xs = x.dataSync() as Float32Array;
  for (const [splits, axis] of [[3, 3], [[4, 8], -1], [[2, -1, 1], 1], [2, 0], [[1, 5], 2]] as [number | number[], number][]) {
    const parts = tf.split(x, splits, axis);
    const a = axis < 0 ? 4 + axis : axis;
    let start = 0;
    for (const p of parts) {
      const begin = [0, 0, 0, 0];
      begin[a] = start;
      assert.equal(Array.from(p.dataSync()), referenceSlice(xs, x.shape, begin, p.shape), `${splits} on ${axis}`);
      start += p.shape[a];
    }
    assert.is(start, x.shape[a]);
    tf.dispose(parts);
  }
  x.dispose();
});

test('Reverse equals the definition for every subset of axes (rank 1-4), including size-1 axes and int32', () => {
  for (const shape of [[5], [3, 4], [1, 3, 2], [3, 3, 4, 5], [2, 1, 3, 2]]) {
    const rank = shape.length;
    for (let mask = 0; mask < 1 << rank; mask++) {
      const axes = [...Array(rank).keys()].filter((d) => mask & (1 << d));
      for (const dtype of ['float32', 'int32'] as const) {
        const x = randomTensor(shape, dtype);
        const y = tf.reverse(x, axes);
        assert.equal(Array.from(y.dataSync()), referenceReverse(x.dataSync() as Float32Array, shape, axes), `${shape} axes ${axes}`);
        tf.dispose([x, y]);
      }
    }
  }
});

test('gradients through pad and concat (Slice / SplitV) equal the cpu backend\'s', async () => {
  const f = (x: tf.Tensor) => tf.sum(tf.mul(tf.concat([tf.pad(x, [[0, 0], [1, 1], [2, 0], [0, 0]]), tf.pad(tf.square(x), [[0, 0], [1, 1], [2, 0], [0, 0]])], 3), tf.range(1, 13)));
  const values = randomTensor([2, 3, 4, 6], 'float32').dataSync();
  const grad = () => tf.tidy(() => Array.from(tf.grad(f)(tf.tensor4d(values, [2, 3, 4, 6])).dataSync()));
  const here = grad();
  const backend = tf.getBackend();
  await tf.setBackend('cpu');
  const cpu = grad();
  await tf.setBackend(backend);
  assert.equal(here, cpu);
});

test('no tensors are left behind', () => {
  const x = randomTensor([2, 6, 6, 4], 'float32');
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    tf.slice(x, [0, 1, 1, 0], [2, 4, 4, 4]);
    tf.split(x, [1, 3], 3);
    tf.reverse(x, [1, 2]);
  });
  assert.is(tf.memory().numTensors, before);
  x.dispose();
});

test.run();
