// exportOnnx: the .onnx file, run by onnxruntime, computes what our tfjs model computes (and, where a
// fixture has them, what PyTorch or OpenCV computed), at any batch and input size.
// Difference measure: rel = max|onnx - tfjs| / max|tfjs| over each output tensor, asserted < 1e-4 with
// onnxruntime's graph optimizations off, i.e. for the graph exactly as exported. With them on (what
// a user gets) onnxruntime fuses Conv + BN + activations and reorders float32 sums: on the trained
// PyTorch fixture that alone moves outputs by ~1e-4 (both runtimes are ~1e-4 from PyTorch's float64
// outputs there), so the optimized session is held to 1e-3 and to the fixtures' own references.
import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { testIf } from './_needs.ts';
import { exportOnnx, OnnxExportError, type ExportOnnxOptions } from '../src/io/onnx/index.ts';
import { encodeModel } from '../src/io/onnx/proto.ts';
import { importTorchYolov4 } from '../src/io/torch-yolov4.ts';
import { importDarknet, OPENCV_BN_EPSILON } from '../src/io/darknet/index.ts';
import { buildYolov4, convWidthsOf } from '../src/model/yolov4.ts';
import { loadConfigFile, resolveConfig, type Yolov4Config } from '../src/model/config.ts';
import { applyPlan, planPruning } from '../src/prune/index.ts';
import { OutputExistsError } from '../src/io/checkpoint.ts';
import { UsageError } from '../src/util/errors.ts';

type Ort = typeof import('onnxruntime-node');
let ort: Ort | undefined;
let ortMissing = '';
try {
  ort = await import('onnxruntime-node');
} catch (e) {
  ortMissing = `onnxruntime-node cannot be loaded (${(e as Error).message.split('\n')[0]}); run npm install`;
}
const onnx = (name: string, fn: () => Promise<void>) => testIf(ort !== undefined, name, fn, ortMissing, { requiredInCi: true });

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-onnx-'));
const TOL = 1e-4;
const TOL_OPTIMIZED = 1e-3;
const diffs: string[] = [];
test.after(() => {
  rmSync(work, { recursive: true, force: true });
  if (diffs.length) console.log(`  ONNX vs tfjs (rel = max|diff| / max|tfjs|), and vs the fixtures' references:\n${diffs.map((d) => `    ${d}`).join('\n')}`);
});

const TORCH = 'test/fixtures/torch';
const FASTEST = 'test/fixtures/darknet/yolo-fastest-1.1';
const f32 = (file: string) => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

interface Heads { data: Float32Array[]; dims: number[][] }

/** The tfjs model on an NCHW input, its outputs back in NCHW. */
function tfjsHeads(model: tf.LayersModel, input: Float32Array, dims: number[]): Heads {
  return tf.tidy(() => {
    const outs = ([] as tf.Tensor[]).concat(model.predict(tf.tensor4d(input, dims as [number, number, number, number]).transpose([0, 2, 3, 1])) as tf.Tensor[]);
    const nchw = outs.map((o) => o.transpose([0, 3, 1, 2]));
    return { data: nchw.map((o) => o.dataSync() as Float32Array), dims: nchw.map((o) => o.shape) };
  });
}

async function onnxHeads(file: string, input: Float32Array, dims: number[], optimized = true): Promise<Heads> {
  const session = await ort!.InferenceSession.create(file, { intraOpNumThreads: 1, graphOptimizationLevel: optimized ? 'all' : 'disabled' });
  try {
    const out = await session.run({ images: new ort!.Tensor('float32', input, dims) });
    const names = session.outputNames;
    return { data: names.map((n) => out[n].data as Float32Array), dims: names.map((n) => out[n].dims as number[]) };
  } finally {
    await session.release();
  }
}

function relDiff(got: Float32Array, want: Float32Array): number {
  assert.is(got.length, want.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i] - want[i]));
    m = Math.max(m, Math.abs(want[i]));
  }
  assert.ok(m > 1e-3, 'reference output is ~0: the comparison would prove nothing');
  return d / m;
}

/** Runs the exported file and the tfjs model on `input`; asserts every head (see the top comment). */
async function compare(label: string, model: tf.LayersModel, file: string, input: Float32Array, dims: number[]): Promise<void> {
  const want = tfjsHeads(model, input, dims);
  const rels: string[] = [];
  for (const [optimized, tol] of [[false, TOL], [true, TOL_OPTIMIZED]] as const) {
    const got = await onnxHeads(file, input, dims, optimized);
    assert.equal(got.dims, want.dims, `${label}: output shapes`);
    const rel = got.data.map((g, i) => relDiff(g, want.data[i]));
    rel.forEach((r, i) => assert.ok(r < tol, `${label} output${i} (onnxruntime optimizations ${optimized ? 'on' : 'off'}): rel diff ${r}`));
    rels.push(`${optimized ? 'optimized' : 'as exported'} ${rel.map((r) => r.toExponential(2)).join(', ')}`);
  }
  diffs.push(`${label}: ${rels.join('; ')}`);
}

/** uvu has no assert.rejects. */
async function rejects(fn: () => Promise<unknown>, check: (e: unknown) => boolean, what: string): Promise<void> {
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error !== undefined, `${what}: did not throw`);
  assert.ok(check(error), `${what}: threw ${String(error)}`);
}

function randomInput(dims: number[], seed: number): Float32Array {
  return tf.tidy(() => tf.randomUniform(dims, 0, 1, 'float32', seed).dataSync() as Float32Array);
}

/** Non-trivial BN statistics, so no BN is the identity and no head is ~0. */
function randomizeBatchNorm(model: tf.LayersModel, seed: number): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const values = layer.weights.map((w) => {
      const shape = w.shape as number[];
      seed++;
      if (w.originalName.endsWith('gamma')) return tf.randomUniform(shape, 0.5, 1.5, 'float32', seed);
      if (w.originalName.endsWith('moving_variance')) return tf.randomUniform(shape, 0.5, 2, 'float32', seed);
      return tf.randomUniform(shape, -0.5, 0.5, 'float32', seed);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

function smallModel(): { model: tf.LayersModel; config: Yolov4Config } {
  const config = resolveConfig(loadConfigFile('configs/yolov4-small.json'));
  const model = buildYolov4(config);
  randomizeBatchNorm(model, 1);
  return { model, config };
}

onnx('pruned PyTorch fixture: ONNX == tfjs (rel 1e-4) and == PyTorch (abs 1e-3) at 128 and 160, batch 1 and 2, from one file', async () => {
  const { model, config } = await importTorchYolov4(`${TORCH}/yolov4_pruned_small.pth`);
  const file = path.join(work, 'torch', 'pruned.onnx'); // the folder does not exist yet
  const exported = await exportOnnx(model, config, file);
  assert.equal(exported.outputs.map((o) => [o.name, o.layer, o.stride]), [
    ['output0', 'yolo_head1.1', 32], ['output1', 'yolo_head2.1', 16], ['output2', 'yolo_head3.1', 8],
  ]);
  assert.is(exported.opset, 13);
  for (const size of [128, 160]) {
    const input = f32(`${TORCH}/input_${size}.f32`);
    await compare(`torch fixture ${size}`, model, file, input, [1, 3, size, size]);
    const got = await onnxHeads(file, input, [1, 3, size, size]);
    got.data.forEach((o, i) => {
      const want = f32(`${TORCH}/out${i}_${size}.f32`);
      let d = 0;
      for (let k = 0; k < want.length; k++) d = Math.max(d, Math.abs(o[k] - want[k]));
      assert.ok(d < 1e-3, `vs PyTorch out${i} at ${size}: max |diff| ${d}`);
      diffs.push(`torch fixture ${size} vs PyTorch out${i}: max |diff| ${d.toExponential(2)}`);
    });
  }
  // Batch 2 at 160: the fixture image and another; each batch item is the batch-1 result.
  const two = new Float32Array(2 * 3 * 160 * 160);
  two.set(f32(`${TORCH}/input_160.f32`));
  two.set(randomInput([3 * 160 * 160], 5), 3 * 160 * 160);
  await compare('torch fixture 160 batch 2', model, file, two, [2, 3, 160, 160]);
  model.dispose();
});

onnx('unpruned small YOLOv4: opset 13 (Mish by its definition) and opset 18 (ONNX Mish, BN nodes kept) match tfjs; non-square 96x160', async () => {
  const { model, config } = smallModel();
  const input = randomInput([1, 3, 96, 160], 2);
  for (const [label, opts] of [['opset 13, BN folded', {}], ['opset 18, BN kept', { opset: 18, foldBatchNorm: false }]] as [string, ExportOnnxOptions][]) {
    const file = path.join(work, `small-${opts.opset ?? 13}.onnx`);
    const exported = await exportOnnx(model, config, file, opts);
    await compare(`unpruned small (${label}) 96x160`, model, file, input, [1, 3, 96, 160]);
    await compare(`unpruned small (${label}) 64x64 batch 2`, model, file, randomInput([2, 3, 64, 64], 3), [2, 3, 64, 64]);
    const session = await ort!.InferenceSession.create(file);
    const ops = JSON.stringify(session.inputMetadata);
    await session.release();
    assert.match(ops, '"shape":["batch",3,"height","width"]');
    assert.ok(exported.nodes > 0);
  }
  model.dispose();
});

onnx('small YOLOv4 pruned by our pruner (all groups, 0.3) matches tfjs', async () => {
  const { model, config } = smallModel();
  const plan = planPruning(model, { all: true, amount: 0.3, strategy: 'greedy', inputSize: 64 });
  const { model: pruned } = applyPlan(model, plan);
  const prunedConfig = { ...config, widths: { ...config.widths, ...convWidthsOf(pruned) } };
  const file = path.join(work, 'pruned-by-us.onnx');
  await exportOnnx(pruned, prunedConfig, file);
  await compare('pruned by planPruning/applyPlan 128', pruned, file, randomInput([1, 3, 128, 128], 4), [1, 3, 128, 128]);
  pruned.dispose();
  model.dispose();
});

onnx('Yolo-Fastest (depthwise, dropout, shortcut, route, SPP maxpools, upsample): matches tfjs and OpenCV\'s heads', async () => {
  const { model, config } = await importDarknet(`${FASTEST}/yolo-fastest-1.1.cfg`, `${FASTEST}/yolo-fastest-1.1.weights`, { bnEpsilon: OPENCV_BN_EPSILON });
  const file = path.join(work, 'fastest.onnx');
  const exported = await exportOnnx(model, config, file);
  assert.equal(exported.outputs.map((o) => [o.layer, o.channels, o.stride]), [['yolo_121', 255, 32], ['yolo_130', 255, 16]]);
  const png = await sharp(`${FASTEST}/opencv-reference/dog_input.png`).removeAlpha().raw().toBuffer();
  const dog = tf.tidy(() => tf.tensor3d(new Uint8Array(png), [320, 320, 3], 'int32').toFloat().div(255).transpose([2, 0, 1]).dataSync() as Float32Array);
  await compare('Yolo-Fastest dog 320', model, file, dog, [1, 3, 320, 320]);
  // OpenCV's conv_120 / conv_129 on the same input (test/darknet-parity.test.ts): an independent truth.
  const raw = JSON.parse(readFileSync(`${FASTEST}/opencv-reference/dog_raw.json`, 'utf8')) as { heads: { file: string }[] };
  const got = await onnxHeads(file, dog, [1, 3, 320, 320]);
  raw.heads.forEach((h, i) => {
    const want = f32(`${FASTEST}/opencv-reference/${h.file}`);
    let d = 0;
    for (let k = 0; k < want.length; k++) d = Math.max(d, Math.abs(got.data[i][k] - want[k]));
    assert.ok(d < 1e-3, `vs OpenCV ${h.file}: max |diff| ${d}`);
    diffs.push(`Yolo-Fastest vs OpenCV head ${i}: max |diff| ${d.toExponential(2)}`);
  });
  await compare('Yolo-Fastest 192x256 batch 2', model, file, randomInput([2, 3, 192, 256], 6), [2, 3, 192, 256]);
  model.dispose();
});

onnx('yolov4-tiny cfg (route groups -> Slice, 2x2 stride-2 maxpools) matches tfjs', async () => {
  const { model, config } = await importDarknet('test/fixtures/darknet/yolov4-tiny.cfg');
  randomizeBatchNorm(model, 9);
  const file = path.join(work, 'tiny.onnx');
  await exportOnnx(model, config, file);
  await compare('yolov4-tiny 128', model, file, randomInput([1, 3, 128, 128], 7), [1, 3, 128, 128]);
  model.dispose();
});

onnx('every other supported layer form (activations, stride-2 and dilated convs, depth multiplier, pads before pool and conv, BN after concat, 4-way add) matches tfjs at odd sizes', async () => {
  const L = tf.layers;
  const input = tf.input({ shape: [null, null, 3], name: 'in' });
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => layer.apply(x) as tf.SymbolicTensor;
  const a = apply(L.conv2d({ name: 'down', filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }), input);
  const acts = ['relu6', 'sigmoid', 'tanh', 'swish', 'elu', 'selu', 'softplus', 'mish', 'linear'].map((act) => apply(L.activation({ name: `act_${act}`, activation: act as never }), a));
  const dil = apply(L.conv2d({ name: 'dilated', filters: 8, kernelSize: 3, dilationRate: 2, padding: 'same' }), a);
  const dw = apply(L.depthwiseConv2d({ name: 'dw', kernelSize: 3, depthMultiplier: 2, padding: 'same', useBias: true }), a);
  const padded = apply(L.zeroPadding2d({ name: 'zp', padding: [[1, 0], [0, 1]] }), a);
  const pooled = apply(L.maxPooling2d({ name: 'pool', poolSize: 2, strides: 1, padding: 'valid' }), padded);
  // [h, w] padding absorbed into a 'valid' 3x5 conv: same size out.
  const valid = apply(L.conv2d({ name: 'valid_conv', filters: 8, kernelSize: [3, 5], padding: 'valid' }), apply(L.zeroPadding2d({ name: 'zp2', padding: [1, 2] }), a));
  const sum = apply(L.add({ name: 'add4' }), [acts[0], dil, pooled, valid]);
  const cat = apply(L.concatenate({ name: 'cat' }), [...acts, sum, dw]);
  const bn = apply(L.batchNormalization({ name: 'bn_after_cat', epsilon: 1e-3 }), cat);
  const heads = [1, 2, 3].map((k) => {
    const pooledK = k === 1 ? bn : apply(L.maxPooling2d({ name: `down_pool${k}`, poolSize: 2, strides: 2, padding: 'same' }), bn);
    return apply(L.conv2d({ name: `head${k}`, filters: 18, kernelSize: 1 }), pooledK);
  });
  const model = tf.model({ inputs: input, outputs: heads });
  randomizeBatchNorm(model, 11);
  const config = resolveConfig({ numClasses: 1 });
  const file = path.join(work, 'kinds.onnx');
  await exportOnnx(model, config, file);
  await compare('synthetic layer forms 33x47', model, file, randomInput([1, 3, 33, 47], 8).map((v) => 4 * v - 2), [1, 3, 33, 47]);
  await compare('synthetic layer forms 20x20 batch 2', model, file, randomInput([2, 3, 20, 20], 9).map((v) => 4 * v - 2), [2, 3, 20, 20]);
  model.dispose();
  // One value as three outputs (dropouts are the identity): the first output takes the value's
  // name, the others are Identity copies of it.
  const x = tf.input({ shape: [null, null, 3], name: 'x' });
  const h = apply(L.conv2d({ name: 'h', filters: 18, kernelSize: 3, padding: 'same' }), x);
  const triple = tf.model({ inputs: x, outputs: [h, apply(L.dropout({ name: 'd1', rate: 0.5 }), h), apply(L.dropout({ name: 'd2', rate: 0.5 }), h)] });
  await exportOnnx(triple, config, path.join(work, 'triple.onnx'));
  await compare('one value as three outputs', triple, path.join(work, 'triple.onnx'), randomInput([1, 3, 8, 8], 10), [1, 3, 8, 8]);
  triple.dispose();
});

onnx('fixed batch and size when asked; the file is replaced only when it is our export and force is set', async () => {
  const { model, config } = smallModel();
  const file = path.join(work, 'fixed', 'model.onnx');
  await exportOnnx(model, config, file, { batchSize: 1, imageSize: 64 });
  const session = await ort!.InferenceSession.create(file);
  assert.equal(session.inputMetadata.map((m) => (m as { shape: unknown }).shape), [[1, 3, 64, 64]]);
  assert.equal(session.outputMetadata.map((m) => (m as { shape: unknown }).shape), [[1, 255, 2, 2], [1, 255, 4, 4], [1, 255, 8, 8]]);
  await session.release();

  await rejects(() => exportOnnx(model, config, file), (e) => e instanceof OutputExistsError && /earlier ONNX export: add --force/.test((e as Error).message), 'earlier export without force');
  await exportOnnx(model, config, file, { force: true });
  const foreign = path.join(work, 'fixed', 'theirs.onnx');
  writeFileSync(foreign, 'not ours');
  await rejects(() => exportOnnx(model, config, foreign, { force: true }), (e) => e instanceof OutputExistsError && /not an ONNX export of yolo4-prune/.test((e as Error).message), 'foreign file');
  assert.is(readFileSync(foreign, 'utf8'), 'not ours');
  // An ONNX file from another producer is someone else's too.
  const other = path.join(work, 'fixed', 'other.onnx');
  const otherModel = encodeModel({ irVersion: 7, opset: 13, producerName: 'pytorch', metadata: {}, graph: { name: 'g', nodes: [], initializers: [], inputs: [], outputs: [] } });
  writeFileSync(other, Buffer.concat(otherModel.chunks));
  await rejects(() => exportOnnx(model, config, other, { force: true }), (e) => e instanceof OutputExistsError && /not an ONNX export of yolo4-prune/.test((e as Error).message), 'pytorch onnx');
  mkdirSync(path.join(work, 'fixed', 'dir.onnx'));
  await rejects(() => exportOnnx(model, config, path.join(work, 'fixed', 'dir.onnx'), { force: true }), (e) => e instanceof OutputExistsError, 'a directory');
  assert.equal(readdirSync(path.join(work, 'fixed')).sort(), ['dir.onnx', 'model.onnx', 'other.onnx', 'theirs.onnx'], 'no temporary file left');
  model.dispose();
});

test('an unsupported layer kind is an OnnxExportError naming the layer and the format; bad options are usage errors', async () => {
  const input = tf.input({ shape: [null, null, 3], name: 'in' });
  const x = tf.layers.conv2d({ name: 'c', filters: 255, kernelSize: 1 }).apply(input) as tf.SymbolicTensor;
  const pooled = tf.layers.averagePooling2d({ name: 'odd_pool', poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: pooled });
  const config = resolveConfig({});
  const file = path.join(work, 'bad.onnx');
  await rejects(() => exportOnnx(model, config, file), (e) =>
    e instanceof OnnxExportError && /layer 'odd_pool' is a AveragePooling2D, which has no ONNX export \(supported: Conv2D/.test((e as Error).message), 'AveragePooling2D');
  await rejects(() => exportOnnx(model, config, file, { opset: 12 }), (e) => e instanceof UsageError && /opset must be an integer from 13/.test((e as Error).message), 'opset 12');
  await rejects(() => exportOnnx(model, config, file, { imageSize: [64, 0] }), (e) => e instanceof UsageError, 'image size 0');
  const dense = tf.sequential({ layers: [tf.layers.dense({ name: 'fc', units: 4, inputShape: [8] })] });
  await rejects(() => exportOnnx(dense, config, file), (e) => e instanceof OnnxExportError && /needs 4-D/.test((e as Error).message), 'dense');
  // A model whose heads are not the config's is refused before anything is written.
  const { model: small } = smallModel();
  await rejects(() => exportOnnx(small, resolveConfig({ numClasses: 3 }), file), (e) => e instanceof OnnxExportError && /needs 24/.test((e as Error).message), 'heads vs config');
  assert.equal(readdirSync(work).filter((f) => f.startsWith('bad.onnx')), []);
  model.dispose();
  dense.dispose();
  small.dispose();
});

test.run();
