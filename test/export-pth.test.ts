// tfjs YOLOv4 -> PyTorch .pth. The independent truth is the fixtures PyTorch 1.13 wrote itself
// (test/fixtures/torch/README.md): exporting the weights we imported from them must give the same
// bytes. The round trips check that our reader gets the very same network back.
import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { importTorchYolov4 } from '../src/io/torch-yolov4.ts';
import { exportTorchYolov4, torchYolov4Archive, TorchExportError } from '../src/io/torch-yolov4-export.ts';
import { parseTorchBytes, readTorchFile } from '../src/io/torch/index.ts';
import { ZipArchive } from '../src/io/torch/zip.ts';
import { OutputExistsError } from '../src/io/checkpoint.ts';
import { importDarknet } from '../src/io/darknet/index.ts';
import { buildYolov4, convWidthsOf } from '../src/model/yolov4.ts';
import { resolveConfig } from '../src/model/config.ts';
import { applyPlan, planPruning } from '../src/prune/index.ts';
import { Yolo4Error } from '../src/util/errors.ts';

const FIXTURES = 'test/fixtures/torch';
const PRUNED = `${FIXTURES}/yolov4_pruned_small.pth`;
const PRUNED_WHOLE = `${FIXTURES}/yolov4_pruned_small_whole.pth`;
const FASTEST = 'test/fixtures/darknet/yolo-fastest-1.1';
/** The fixtures were saved after 1000 BN updates; tfjs keeps no such counter, so the export is told. */
const FIXTURE_BATCHES_TRACKED = 1000;

const tmp = mkdtempSync(join(tmpdir(), 'export-pth-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function f32File(name: string): Float32Array {
  const b = readFileSync(`${FIXTURES}/${name}`);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/** The three head outputs for an NCHW input, as NCHW arrays. */
function forward(model: tf.LayersModel, input: Float32Array, size: number): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(input, [1, 3, size, size]).transpose([0, 2, 3, 1]);
    return (model.predict(x) as tf.Tensor[]).map((o) => o.transpose([0, 3, 1, 2]).dataSync() as Float32Array);
  });
}

function assertSameOutputs(a: Float32Array[], b: Float32Array[], what: string) {
  assert.is(a.length, b.length);
  a.forEach((o, i) => {
    assert.is(o.length, b[i].length, `${what}: head ${i} size`);
    const firstDiff = o.findIndex((v, j) => v !== b[i][j]);
    assert.is(firstDiff, -1, `${what}: head ${i} differs at ${firstDiff}`);
  });
}

/** data.pkl of a torch zip file, whatever its archive prefix. */
function dataPkl(bytes: Uint8Array): Uint8Array {
  const zip = new ZipArchive(bytes, 'test');
  const name = [...zip.entries.keys()].find((k) => k.endsWith('/data.pkl'))!;
  return zip.read(name, bytes.length, 'the pickle');
}

const concat = (chunks: Uint8Array[]) => Buffer.concat(chunks);

for (const [fixture, whole] of [[PRUNED, false], [PRUNED_WHOLE, true]] as const) {
  test(`pruned fixture -> ${whole ? 'whole-model' : 'state-dict'} .pth: the same bytes PyTorch wrote`, async () => {
    const { model, config } = await importTorchYolov4(PRUNED);
    const name = fixture.split('/').pop()!.replace(/\.pth$/, '');
    const { chunks, pickle } = torchYolov4Archive(model, config, name, { whole, numBatchesTracked: FIXTURE_BATCHES_TRACKED });
    const ours = concat(chunks);
    const theirs = readFileSync(fixture);
    // The whole file: zip layout (64-byte aligned stored records, descriptors, ZIP64 end), the pickle
    // and every storage. The pickle alone is compared too, for a clearer failure.
    assert.ok(Buffer.from(pickle).equals(Buffer.from(dataPkl(theirs))), 'data.pkl differs from PyTorch\'s');
    assert.is(ours.length, theirs.length);
    assert.ok(ours.equals(theirs), 'file bytes differ from PyTorch\'s');
    model.dispose();
  });
}

test('default num_batches_tracked is 0: data.pkl is still PyTorch\'s, the counters hold int64 0', async () => {
  const { model, config } = await importTorchYolov4(PRUNED);
  const { chunks, pickle } = torchYolov4Archive(model, config, 'yolov4_pruned_small');
  assert.ok(Buffer.from(pickle).equals(Buffer.from(dataPkl(readFileSync(PRUNED)))));
  const back = parseTorchBytes(concat(chunks), 'export');
  const counter = back.stateDict.get('backbone.conv1.bn.num_batches_tracked')!;
  assert.equal([counter.dtype, counter.shape, counter.data[0]], ['int64', [], 0n]);
  model.dispose();
});

test('pruned fixture: export (state dict and whole) -> import gives identical outputs', async () => {
  const { model, config } = await importTorchYolov4(PRUNED);
  const input = f32File('input_128.f32');
  const before = forward(model, input, 128);
  for (const whole of [false, true]) {
    const path = join(tmp, `pruned-${whole}.pth`);
    const result = await exportTorchYolov4(model, config, path, { whole });
    assert.equal(result, { path, kind: whole ? 'module' : 'state_dict', bytes: readFileSync(path).length });
    const back = await importTorchYolov4(path);
    assert.is(back.kind, whole ? 'module' : 'state_dict');
    assert.equal(back.config.widths, config.widths);
    assertSameOutputs(forward(back.model, input, 128), before, `whole=${whole}`);
    back.model.dispose();
  }
  // and still PyTorch's own numbers (README: a float32 implementation agrees to about 1e-3)
  before.forEach((o, i) => {
    const ref = f32File(`out${i}_128.f32`);
    const d = o.reduce((m, v, j) => Math.max(m, Math.abs(v - ref[j])), 0);
    assert.ok(d < 1e-3, `out${i}: ${d}`);
  });
  model.dispose();
});

/** Seeded non-trivial weights, BN statistics included, so that every tensor matters. */
function randomizeWeights(model: tf.LayersModel, seed: number) {
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const values = layer.getWeights().map((w, i) => {
      const s = seed++;
      const isBn = layer.getClassName() === 'BatchNormalization';
      if (isBn && i === 3) return tf.randomUniform(w.shape, 0.5, 2, 'float32', s); // variance > 0
      if (isBn && i === 0) return tf.randomUniform(w.shape, 0.5, 1.5, 'float32', s);
      const fanIn = w.shape.length === 4 ? w.shape[0] * w.shape[1] * w.shape[2] : 4;
      const a = 1.5 / Math.sqrt(fanIn);
      return tf.randomUniform(w.shape, -a, a, 'float32', s);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

test('an unpruned small-width model with other block counts and classes round-trips exactly', async () => {
  const config = resolveConfig({ widthMultiplier: 0.125, blocks: [1, 1, 2, 2, 1], numClasses: 3 });
  const model = buildYolov4(config);
  randomizeWeights(model, 7);
  const input = new Float32Array(3 * 96 * 96).map((_, i) => ((i * 7919) % 1000) / 1000);
  const before = forward(model, input, 96);
  for (const whole of [false, true]) {
    const path = join(tmp, `small-${whole}.pth`);
    await exportTorchYolov4(model, config, path, { whole });
    const back = await importTorchYolov4(path);
    assert.equal(back.config.blocks, [1, 1, 2, 2, 1]);
    assert.is(back.config.numClasses, 3);
    assert.equal(convWidthsOf(back.model), convWidthsOf(model));
    assertSameOutputs(forward(back.model, input, 96), before, `whole=${whole}`);
    back.model.dispose();
  }
  // Keys, order, shapes and dtypes: conv weights OIHW, BN buffers, an int64 scalar counter.
  const { stateDict } = await readTorchFile(join(tmp, 'small-false.pth'));
  const keys = [...stateDict.keys()];
  assert.equal(keys.slice(0, 7), [
    'backbone.conv1.conv.weight', 'backbone.conv1.bn.weight', 'backbone.conv1.bn.bias', 'backbone.conv1.bn.running_mean',
    'backbone.conv1.bn.running_var', 'backbone.conv1.bn.num_batches_tracked', 'backbone.stages.0.downsample_conv.conv.weight',
  ]);
  assert.equal(keys.slice(-2), ['yolo_head1.1.weight', 'yolo_head1.1.bias']);
  assert.equal(stateDict.get('backbone.conv1.conv.weight')!.shape, [4, 3, 3, 3]);
  assert.equal(stateDict.get('yolo_head3.1.weight')!.shape, [24, 32, 1, 1]);
  assert.is(stateDict.get('yolo_head3.1.bias')!.dtype, 'float32');
  const kernel = model.getLayer('backbone.conv1.conv').getWeights()[0].arraySync() as number[][][][];
  // PyTorch weight[o][i][y][x] is tfjs kernel[y][x][i][o].
  assert.is(stateDict.get('backbone.conv1.conv.weight')!.data[((2 * 3 + 1) * 3 + 0) * 3 + 2], Math.fround(kernel[0][2][1][2]));
  model.dispose();
});

test('a model pruned by our own pruner round-trips exactly (state dict)', async () => {
  const config = resolveConfig({ widthMultiplier: 0.125, blocks: [1, 1, 2, 2, 1], numClasses: 2 });
  const full = buildYolov4(config);
  randomizeWeights(full, 11);
  const { model } = applyPlan(full, planPruning(full, { all: true, amount: 0.3 }));
  full.dispose();
  const input = new Float32Array(3 * 64 * 64).map((_, i) => ((i * 104729) % 997) / 997);
  const path = join(tmp, 'our-pruned.pth');
  await exportTorchYolov4(model, config, path);
  const back = await importTorchYolov4(path);
  assert.equal(convWidthsOf(back.model), convWidthsOf(model));
  assert.ok(Object.entries(convWidthsOf(model)).some(([name, w]) => w < (config.widths[name] ?? Infinity)), 'nothing was pruned');
  assertSameOutputs(forward(back.model, input, 64), forward(model, input, 64), 'pruned');
  back.model.dispose();
  model.dispose();
});

test('a darknet-imported network (Yolo-Fastest) is refused by name, and nothing is written', async () => {
  const { model, config } = await importDarknet(`${FASTEST}/yolo-fastest-1.1.cfg`, `${FASTEST}/yolo-fastest-1.1.weights`);
  const path = join(tmp, 'fastest', 'yolo-fastest.pth');
  for (const whole of [false, true]) {
    let err: unknown;
    await exportTorchYolov4(model, config, path, { whole }).catch((e) => { err = e; });
    assert.ok(err instanceof TorchExportError && err instanceof Yolo4Error, String(err));
    const message = (err as Error).message;
    assert.match(message, /layer "conv_0" \(Conv2D\)/);
    assert.match(message, /PyTorch \.pth/);
    assert.match(message, /YoloBody/);
    assert.match(message, /darknet format/);
  }
  assert.not.ok(existsSync(path));
  model.dispose();
});

test('a YOLOv4 whose config does not match its layers is refused with the layer named', async () => {
  const model = buildYolov4({ widthMultiplier: 0.0625, blocks: [1, 1, 1, 1, 1] });
  const more = resolveConfig({ widthMultiplier: 0.0625, blocks: [1, 1, 2, 1, 1] });
  // The model's last conv of stage 2 sits where the config expects a second resblock.
  assert.throws(() => torchYolov4Archive(model, more, 'x'), (e: Error) => e instanceof TorchExportError &&
    /layer "backbone\.stages\.2\.blocks_conv\.1\.conv" \(Conv2D\) has no counterpart.*blocks \[1,1,2,1,1\]/.test(e.message));
  const fewer = resolveConfig({ widthMultiplier: 0.0625, blocks: [1, 1, 1, 1, 1] });
  const bigger = buildYolov4({ widthMultiplier: 0.0625, blocks: [1, 1, 1, 2, 1] });
  assert.throws(() => torchYolov4Archive(bigger, fewer, 'x'), /has no counterpart/);
  model.dispose();
  bigger.dispose();
});

test('writing: a missing parent folder is created, an earlier .pth replaced whole only with force, nothing else replaced', async () => {
  const { model, config } = await importTorchYolov4(PRUNED);
  const dir = join(tmp, 'a', 'b');
  const path = join(dir, 'model.pth');
  await exportTorchYolov4(model, config, path);
  const first = readFileSync(path);
  // The archive inside is named after the file, as torch.save names it.
  assert.ok(new ZipArchive(first, 'model.pth').entries.has('model/data.pkl'));
  const refuse = async (p: string, opts: { force?: boolean }, pattern: RegExp) => {
    await exportTorchYolov4(model, config, p, opts).then(() => assert.unreachable(`wrote ${p}`), (e: Error) => {
      assert.ok(e instanceof OutputExistsError, String(e));
      assert.match(e.message, pattern);
    });
  };
  // An earlier PyTorch checkpoint: only with force, then replaced whole, no temp file left.
  await refuse(path, {}, /exists \(a PyTorch checkpoint\): add --force/);
  await exportTorchYolov4(model, config, path, { force: true, whole: true });
  assert.not.ok(readFileSync(path).equals(first));
  await exportTorchYolov4(model, config, path, { force: true });
  assert.ok(readFileSync(path).equals(first));
  assert.equal(readdirSync(dir), ['model.pth']);
  // Any other file stays as it is, with or without force.
  const notes = join(dir, 'notes.pth');
  writeFileSync(notes, 'not a checkpoint');
  await refuse(notes, { force: true }, /is not a PyTorch checkpoint: refusing to overwrite it/);
  assert.is(readFileSync(notes, 'utf8'), 'not a checkpoint');
  // A folder in the way: refused naming the path, the folder untouched.
  await refuse(dir, { force: true }, /".*b" exists and is not a file/);
  assert.equal(readdirSync(dir).sort(), ['model.pth', 'notes.pth']);
  assert.equal(readdirSync(join(tmp, 'a')), ['b']);
  model.dispose();
});

test.run();
