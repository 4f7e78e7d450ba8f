import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  fileSystemHandler, loadLayersModel, registerFileScheme, saveLayersModel,
} from '../src/io/model-files.ts';

/** conv + batchnorm + dense, ~3.6k params, with non-trivial batchnorm statistics. */
function smallModel(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  let y = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({
    movingMeanInitializer: tf.initializers.randomNormal({ seed: 2 }),
    movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 2, seed: 3 }),
    gammaInitializer: tf.initializers.randomNormal({ mean: 1, seed: 4 }),
  }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.flatten().apply(y) as tf.SymbolicTensor;
  y = tf.layers.dense({ units: 7, kernelInitializer: tf.initializers.glorotNormal({ seed: 5 }) }).apply(y) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: y });
}

async function tmpDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'yolo4-model-files-'));
}

function predict(model: tf.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

async function readManifestWeights(dir: string): Promise<{ json: tf.io.ModelJSON; data: ArrayBuffer }> {
  const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const parts = await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map((p) => fs.readFile(path.join(dir, p))));
  const all = Buffer.concat(parts);
  return { json, data: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) };
}

test('save + load gives a model with bit-identical predictions', async () => {
  const dir = await tmpDir();
  const model = smallModel();
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 6);
  try {
    assert.ok(model.countParams() > 2000 && model.countParams() < 10000, `params ${model.countParams()}`);
    await saveLayersModel(model, dir);
    assert.equal((await fs.readdir(dir)).sort(), ['model.json', 'weights.bin']);
    const loaded = await loadLayersModel(dir);
    assert.equal(Array.from(predict(loaded, x)), Array.from(predict(model, x)));
    assert.equal(loaded.weights.map((w) => w.originalName), model.weights.map((w) => w.originalName));
    loaded.dispose();
  } finally {
    model.dispose();
    x.dispose();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('weights larger than the shard size are split into group1-shardNofM.bin and read back', async () => {
  const dir = await tmpDir();
  const model = smallModel();
  const x = tf.randomNormal([1, 8, 8, 3], 0, 1, 'float32', 7);
  try {
    await model.save(fileSystemHandler(dir, { shardBytes: 4096 }));
    const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    const bytes = model.weights.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1) * 4, 0);
    const n = Math.ceil(bytes / 4096);
    assert.equal(json.weightsManifest[0].paths, Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`));
    for (const p of json.weightsManifest[0].paths.slice(0, -1)) assert.is((await fs.stat(path.join(dir, p))).size, 4096);
    const loaded = await loadLayersModel(dir);
    assert.equal(Array.from(predict(loaded, x)), Array.from(predict(model, x)));
    loaded.dispose();

    // Saving again unsharded leaves no stale shards behind.
    await fs.writeFile(path.join(dir, 'optimizer.bin'), 'kept');
    await saveLayersModel(model, dir);
    assert.equal((await fs.readdir(dir)).sort(), ['model.json', 'optimizer.bin', 'weights.bin']);
  } finally {
    model.dispose();
    x.dispose();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('the files are the standard tfjs format: plain tf.loadLayersModel(fromMemory) reads them', async () => {
  const dir = await tmpDir();
  const model = smallModel();
  const x = tf.randomNormal([1, 8, 8, 3], 0, 1, 'float32', 8);
  try {
    await model.save(fileSystemHandler(dir, { shardBytes: 5000 }));
    const { json, data } = await readManifestWeights(dir);
    assert.is(json.format, 'layers-model');
    assert.match(String(json.generatedBy), /^TensorFlow\.js tfjs-layers v/);
    assert.ok('convertedBy' in json);
    assert.ok(json.weightsManifest[0].paths.length > 1);
    const specs = json.weightsManifest.flatMap((g) => g.weights);
    assert.equal(specs.map((s) => s.name), model.weights.map((w) => w.originalName));
    for (const s of specs) assert.is(s.dtype, 'float32');
    const plain = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: data }));
    assert.equal(Array.from(predict(plain, x)), Array.from(predict(model, x)));
    plain.dispose();
  } finally {
    model.dispose();
    x.dispose();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('file:// URLs work through tf.io once registerFileScheme() ran', async () => {
  const dir = await tmpDir();
  const model = smallModel();
  const x = tf.randomNormal([1, 8, 8, 3], 0, 1, 'float32', 9);
  try {
    registerFileScheme();
    registerFileScheme(); // idempotent: still exactly one handler per URL
    assert.is(tf.io.getSaveHandlers(`file://${dir}`).length, 1);
    await model.save(`file://${dir}`);
    const loaded = await tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`);
    assert.equal(Array.from(predict(loaded, x)), Array.from(predict(model, x)));
    loaded.dispose();
  } finally {
    model.dispose();
    x.dispose();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('missing dir, model.json, shard, or a short shard: errors name the file', async () => {
  const dir = await tmpDir();
  const model = smallModel();
  try {
    const rejects = async (p: Promise<unknown>, re: RegExp) => {
      const err = await p.then(() => null, (e: unknown) => e);
      assert.instance(err, Error);
      assert.match((err as Error).message, re);
    };
    const escaped = (s: string) => new RegExp(s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
    await rejects(loadLayersModel(path.join(dir, 'nope')), escaped(`model directory not found: ${path.join(dir, 'nope')}`));
    await rejects(loadLayersModel(dir), escaped(`model file not found: ${path.join(dir, 'model.json')}`));

    await model.save(fileSystemHandler(dir, { shardBytes: 4096 }));
    const shard2 = path.join(dir, 'group1-shard2of4.bin');
    const full = await fs.readFile(shard2);
    await fs.writeFile(shard2, full.subarray(0, 100));
    await rejects(loadLayersModel(dir), escaped(`weight file too short: ${shard2} (100 bytes)`));
    await fs.rm(shard2);
    await rejects(loadLayersModel(dir), escaped(`weight file not found: ${shard2}`));
    await fs.writeFile(shard2, Buffer.concat([full, Buffer.alloc(4)]));
    await rejects(loadLayersModel(dir), /hold \d+ bytes, but .*model\.json describes \d+/);

    await fs.writeFile(path.join(dir, 'model.json'), '{"modelTopology":');
    await rejects(loadLayersModel(dir), /model\.json is not valid JSON/);
  } finally {
    model.dispose();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('weightsManifest paths must be plain names in the folder: a file outside is never read', async () => {
  const root = await tmpDir();
  const dir = path.join(root, 'model');
  const model = smallModel();
  try {
    await saveLayersModel(model, dir);
    // The weights moved out of the folder, same size: before the check they were read from there.
    const outside = path.join(root, 'elsewhere.bin');
    await fs.rename(path.join(dir, 'weights.bin'), outside);
    const jsonPath = path.join(dir, 'model.json');
    const json = JSON.parse(await fs.readFile(jsonPath, 'utf8')) as tf.io.ModelJSON;
    for (const p of [outside, '../elsewhere.bin', `..${path.sep}elsewhere.bin`, './../elsewhere.bin', 'a\u0000b', '', '.']) {
      json.weightsManifest[0].paths = [p];
      await fs.writeFile(jsonPath, JSON.stringify(json));
      const err = await loadLayersModel(dir).then(() => null, (e: Error) => e);
      assert.ok(err, `${JSON.stringify(p)} was read`);
      assert.is(err!.name, 'UnsafeWeightPathError', err!.message);
      assert.not.ok(err!.message.includes('elsewhere'), err!.message);
    }
    // A plain name still loads.
    await fs.rename(outside, path.join(dir, 'w.bin'));
    json.weightsManifest[0].paths = ['w.bin'];
    await fs.writeFile(jsonPath, JSON.stringify(json));
    const again = await loadLayersModel(dir);
    const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 3);
    assert.equal(Array.from(predict(again, x)), Array.from(predict(model, x)));
    x.dispose();
    again.dispose();
  } finally {
    model.dispose();
    await fs.rm(root, { recursive: true, force: true });
  }
});

test.run();
