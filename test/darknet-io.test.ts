import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import '../src/model/darknet-layers.ts';
import { loadCheckpoint, saveCheckpoint } from '../src/io/checkpoint.ts';
import { EXPORT_MARKER, writeDarknetExport } from '../src/io/darknet-export-target.ts';
import {
  countDarknetParams, DarknetCfgError, DarknetWeightsError, exportDarknetFiles, exportDarknetWeights,
  importDarknet, importDarknetText, loadDarknetWeights, parseDarknetCfg, randomDarknetWeights, readWeightsHeader,
  resolveDarknetNetwork, writeDarknetCfg,
} from '../src/io/darknet/index.ts';
import { resizeBilinearOpenCV } from '../src/image/resample-opencv.ts';
import { readRgb } from '../src/image/decode.ts';
import { countNonTrainableParams, countTrainableParams } from '../src/model/yolov4.ts';

const DIR = 'test/fixtures/darknet';
const FASTEST = `${DIR}/yolo-fastest-1.1`;
const cfgText = (f: string) => readFileSync(`${DIR}/${f}`, 'utf8');
const network = (f: string) => resolveDarknetNetwork(parseDarknetCfg(cfgText(f), f));

const NET = '[net]\nwidth=64\nheight=64\nchannels=3\n';
const HEAD = '[convolutional]\nfilters=21\nsize=1\nactivation=linear\n\n[yolo]\nmask=0,1,2\nanchors=10,10,20,20,30,30\nclasses=2\nnum=3\n';

function cfgError(text: string, pattern: RegExp) {
  assert.throws(() => resolveDarknetNetwork(parseDarknetCfg(text, 'x.cfg')), (e: Error) => {
    if (!(e instanceof DarknetCfgError)) throw new Error(`expected a DarknetCfgError, got ${e.name}: ${e.message}`);
    if (!pattern.test(e.message)) throw new Error(`message "${e.message}" does not match ${pattern}`);
    return true;
  });
}

test('cfg errors name the file, line, section and key', () => {
  cfgError(`${NET}[convolutional]\nfilterz=8\n${HEAD}`, /^x\.cfg:6: unknown key "filterz" in \[convolutional\] \(layer 0\); did you mean "filters"/);
  cfgError(`${NET}[frobnicate]\n${HEAD}`, /^x\.cfg:5: unknown section \[frobnicate\]/);
  cfgError(`${NET}[avgpool]\n${HEAD}`, /^x\.cfg:5: section \[avgpool\] is a darknet layer this importer does not support/);
  cfgError(`[convolutional]\nfilters=8\n${NET}`, /^x\.cfg:1: the first section must be \[net\]/);
  cfgError(`${NET}[convolutional]\nfilters=8\nfilters=9\n${HEAD}`, /^x\.cfg:7: "filters" is set twice in \[convolutional\] \(first at line 6\)/);
  cfgError(`${NET}[convolutional]\nfilters=8\nsize=abc\n${HEAD}`, /^x\.cfg:7: \[convolutional\] \(layer 0\): size=abc is not an integer/);
  cfgError(`${NET}[convolutional]\nfilters=8\nsize=3\ndilation=2\n${HEAD}`, /^x\.cfg:8: .*dilation=2 is not supported/);
  cfgError(`${NET}[convolutional]\nfilters=8\n\n[convolutional]\nfilters=8\nsize=3\ngroups=2\npad=1\n${HEAD}`, /^x\.cfg:11: \[convolutional\] \(layer 1\): groups=2 with 8 input channels: only depthwise convs/);
  cfgError(`${NET}[convolutional]\nfilters=8\nactivation=gelu2\n${HEAD}`, /^x\.cfg:7: .*activation=gelu2 is not supported/);
  cfgError(`${NET}[convolutional]\nfilters=8\n\n[route]\nlayers=-3\n${HEAD}`, /^x\.cfg:9: \[route\] \(layer 1\): layers refers to layer -2 \(-3\)/);
  cfgError(`${NET}[convolutional]\nfilters=8\n\n[convolutional]\nfilters=4\n\n[shortcut]\nfrom=-2\n${HEAD}`,
    /^x\.cfg:12: \[shortcut\] \(layer 2\): adds layer 0 \(64x64x8\) to layer 1 \(64x64x4\)/);
  cfgError(`${NET}[convolutional]\nfilters=20\nsize=1\n\n[yolo]\nmask=0,1,2\nanchors=10,10,20,20,30,30\nclasses=2\nnum=3\n`,
    /^x\.cfg:9: \[yolo\] \(layer 1\): the layer before has 20 channels .* need 3 x \(2 \+ 5\) = 21/);
  cfgError(`${NET}[maxpool]\nsize=3\nstride=2\n${HEAD}`, /^x\.cfg:6: .*size=3 stride=2 padding=2 is not supported/);
  cfgError(`${NET}width=32\n${HEAD}`, /^x\.cfg:5: "width" is set twice in \[net\] \(first at line 2\)/);
});

test('yolov4.cfg and yolov4-tiny.cfg build with darknet\'s parameter counts', () => {
  const v4 = network('yolov4.cfg');
  assert.equal(countDarknetParams(v4), { trainable: 64363101, weightFloats: 64429405, convs: 110 });
  assert.equal(v4.yolo.map((y) => [y.index, y.out.w, y.mask, y.scaleXY]), [[139, 76, [0, 1, 2], 1.2], [150, 38, [3, 4, 5], 1.1], [161, 19, [6, 7, 8], 1.05]]);
  const tiny = network('yolov4-tiny.cfg');
  assert.equal(countDarknetParams(tiny), { trainable: 6056606, weightFloats: 6062814, convs: 21 });
  const fastest = network('yolo-fastest-1.1/yolo-fastest-1.1.cfg');
  assert.equal(countDarknetParams(fastest), { trainable: 332798, weightFloats: 346062, convs: 84 });
  assert.is(readFileSync(`${FASTEST}/yolo-fastest-1.1.weights`).byteLength, 20 + 4 * 346062);

  // The tfjs model agrees: trainable = darknet's, trainable + BN statistics = the .weights floats.
  const t0 = performance.now();
  const { model, config } = importDarknetText(cfgText('yolov4.cfg'), undefined, { layout: 'darknet' });
  assert.is(countTrainableParams(model), 64363101);
  assert.is(countTrainableParams(model) + countNonTrainableParams(model), 64429405);
  assert.equal(config.anchorMask, [[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
  assert.equal(config.scaleXY, [1.2, 1.1, 1.05]);
  assert.is(config.inputSize, 608);
  assert.equal(model.outputs.map((o) => o.shape), [[null, null, null, 255], [null, null, null, 255], [null, null, null, 255]]);
  // Stride-2 convs pad symmetrically (explicit padding + valid), stride-1 3x3 convs are 'same'.
  assert.is(model.getLayer('pad_1').getClassName(), 'ZeroPadding2D');
  assert.is(model.getLayer('conv_1').getConfig().padding, 'valid');
  assert.is(model.getLayer('conv_0').getConfig().padding, 'same');
  assert.is(model.getLayer('bn_0').getConfig().epsilon, 1e-5);
  assert.is(model.getLayer('mish_0').getClassName(), 'Mish');
  assert.is(model.getLayer('maxpool_108').getConfig().padding, 'same');
  model.dispose();
  const elapsed = performance.now() - t0;
  assert.ok(elapsed < 30000, `yolov4 build took ${elapsed} ms`);
});

test('random weights in darknet layout round-trip through load and export (yolov4, yolov4-tiny)', () => {
  for (const f of ['yolov4-tiny.cfg', 'yolov4.cfg']) {
    const net = network(f);
    const bytes = randomDarknetWeights(net, 7, { major: 0, minor: 2, revision: 5, seen: 123456789012 });
    assert.is(bytes.byteLength, 20 + 4 * countDarknetParams(net).weightFloats);
    const { model } = importDarknetText(cfgText(f), bytes, { layout: 'darknet' });
    const back = exportDarknetFiles(model);
    assert.ok(Buffer.compare(Buffer.from(back.weights), Buffer.from(bytes)) === 0, `${f}: exported bytes differ from the loaded ones`);
    assert.is(back.cfgText, cfgText(f));
    model.dispose();
  }
  // An old header (version 0.1: 32-bit seen) is read and written back as such.
  const tiny = network('yolov4-tiny.cfg');
  const old = randomDarknetWeights(tiny, 3, { major: 0, minor: 1, revision: 0, seen: 4242 });
  assert.equal(readWeightsHeader(old).header, { major: 0, minor: 1, revision: 0, seen: 4242 });
  assert.is(readWeightsHeader(old).offset, 16);
  const { model } = importDarknetText(cfgText('yolov4-tiny.cfg'), old);
  assert.ok(Buffer.compare(Buffer.from(exportDarknetWeights(model, tiny, { major: 0, minor: 1, revision: 0, seen: 4242 })), Buffer.from(old)) === 0);
  model.dispose();
});

test('Yolo-Fastest: export(import(x)) reproduces the original .cfg and .weights byte for byte', async () => {
  const { model, config, header } = await importDarknet(`${FASTEST}/yolo-fastest-1.1.cfg`, `${FASTEST}/yolo-fastest-1.1.weights`, { namesFile: `${FASTEST}/coco.names` });
  assert.equal(header, { major: 0, minor: 2, revision: 5, seen: 14231680 });
  assert.is(config.name, 'yolo-fastest-1.1');
  assert.is(config.architecture, 'darknet');
  assert.is(config.resizeMode, 'resize');
  assert.is(config.inputSize, 320);
  assert.equal(config.anchors, [[12, 18], [37, 49], [52, 132], [115, 73], [119, 199], [242, 238]]);
  assert.equal(config.anchorMask, [[3, 4, 5], [0, 1, 2]]);
  assert.is(config.classNames[16], 'dog');
  assert.is(model.getLayer('conv_2').getClassName(), 'DepthwiseConv2D');
  const dir = mkdtempSync(join(tmpdir(), 'darknet-export-'));
  try {
    const out = await writeDarknetExport(model, config, join(dir, 'fastest'));
    assert.ok(readFileSync(out.weightsPath).equals(readFileSync(`${FASTEST}/yolo-fastest-1.1.weights`)));
    assert.is(readFileSync(out.cfgPath, 'utf8'), `${EXPORT_MARKER}\n${cfgText('yolo-fastest-1.1/yolo-fastest-1.1.cfg')}`);
    assert.is(readFileSync(out.namesPath, 'utf8'), `${config.classNames.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
});

test('a darknet model is an ordinary checkpoint: save, load, same outputs, still exportable', async () => {
  const { model, config } = await importDarknet(`${FASTEST}/yolo-fastest-1.1.cfg`, `${FASTEST}/yolo-fastest-1.1.weights`);
  const dir = mkdtempSync(join(tmpdir(), 'darknet-ckpt-'));
  try {
    await saveCheckpoint(join(dir, 'ckpt'), model, config, { source: { kind: 'darknet' } });
    const { model: loaded, meta } = await loadCheckpoint(join(dir, 'ckpt'));
    assert.equal(meta.config.anchorMask, config.anchorMask);
    assert.equal(meta.config.scaleXY, [1, 1]);
    assert.is(meta.config.resizeMode, 'resize');
    const x = tf.randomUniform([1, 96, 96, 3], 0, 1, 'float32', 3);
    const a = model.predict(x) as tf.Tensor[];
    const b = loaded.predict(x) as tf.Tensor[];
    a.forEach((t, i) => assert.is(tf.max(tf.abs(tf.sub(t, b[i]))).dataSync()[0], 0));
    assert.ok(Buffer.compare(Buffer.from(exportDarknetFiles(loaded).weights), readFileSync(`${FASTEST}/yolo-fastest-1.1.weights`)) === 0);
    tf.dispose([x, ...a, ...b]);
    loaded.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
});

test('a .weights file that does not fit the cfg says how many floats were expected and found', () => {
  const net = network('yolo-fastest-1.1/yolo-fastest-1.1.cfg');
  const bytes = readFileSync(`${FASTEST}/yolo-fastest-1.1.weights`);
  const { model } = importDarknetText(cfgText('yolo-fastest-1.1/yolo-fastest-1.1.cfg'));
  assert.throws(() => loadDarknetWeights(model, net, bytes.subarray(0, bytes.byteLength - 4), 'short.weights'),
    (e: Error) => e instanceof DarknetWeightsError &&
      /^short\.weights: yolo-fastest-1\.1\/yolo-fastest-1\.1\.cfg needs 346,062 floats after the 20-byte header \(84 conv layers\), the file has 346,061 floats; the file ends inside conv_129 \(layer 129, .*:\d+\)/.test(e.message));
  assert.throws(() => loadDarknetWeights(model, net, Buffer.concat([bytes, Buffer.alloc(8)]), 'long.weights'), /needs 346,062 floats .* the file has 346,064 floats/);
  // yolov4-tiny's weights for Yolo-Fastest's cfg: a clear mismatch, not a crash.
  const tiny = randomDarknetWeights(network('yolov4-tiny.cfg'));
  assert.throws(() => loadDarknetWeights(model, net, tiny, 'tiny.weights'), /needs 346,062 floats .* the file has 6,062,814 floats; are the \.cfg and \.weights from the same model\?/);
  model.dispose();
});

test('route groups over several layers, shortcut activations, maxpool 2/2, upsample: darknet semantics', () => {
  const text = `${NET}
[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky

[convolutional]
filters=6
size=3
pad=1
activation=mish

[route]
layers=-1,-2
groups=2
group_id=1

[convolutional]
filters=8
size=1
activation=relu

[shortcut]
from=-4
activation=leaky

[maxpool]
size=2
stride=2

[upsample]
stride=2

[dropout]
probability=.1

${HEAD}`;
  const net = resolveDarknetNetwork(parseDarknetCfg(text, 'synthetic.cfg'));
  assert.equal(net.layers.map((l) => `${l.type}:${l.out.w}x${l.out.h}x${l.out.c}`), [
    'convolutional:32x32x8', 'convolutional:32x32x6', 'route:32x32x7', 'convolutional:32x32x8', 'shortcut:32x32x8',
    'maxpool:16x16x8', 'upsample:32x32x8', 'dropout:32x32x8', 'convolutional:32x32x21', 'yolo:32x32x21',
  ]);
  const { model } = importDarknetText(text, randomDarknetWeights(net, 2), { inputSize: 64 });
  assert.equal(model.layers.map((l) => l.name), [
    'input', 'pad_0', 'conv_0', 'bn_0', 'leaky_0', 'conv_1', 'mish_1', 'split_2_0', 'split_2_1', 'route_2', 'conv_3',
    'relu_3', 'shortcut_4', 'leaky_4', 'maxpool_5', 'upsample_6', 'dropout_7', 'conv_8', 'yolo_9',
  ]);
  // [route] layers=-1,-2 groups=2 group_id=1: the second half of layer 1, then the second half of layer 0.
  const probe = tf.model({ inputs: model.inputs, outputs: ['mish_1', 'leaky_0', 'route_2', 'leaky_4', 'relu_3'].map((n) => model.getLayer(n).output as tf.SymbolicTensor) });
  const x = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 9);
  const [l1, l0, route, sum, r3] = probe.predict(x) as tf.Tensor[];
  const want = tf.concat([tf.slice(l1, [0, 0, 0, 3], [-1, -1, -1, 3]), tf.slice(l0, [0, 0, 0, 4], [-1, -1, -1, 4])], 3);
  assert.is(tf.max(tf.abs(tf.sub(route, want))).dataSync()[0], 0);
  // [shortcut] from=-4 activation=leaky: leaky(layer 3 + layer 0).
  const s = tf.leakyRelu(tf.add(r3, l0), 0.1);
  assert.ok(tf.max(tf.abs(tf.sub(sum, s))).dataSync()[0] < 1e-6);
  tf.dispose([x, l1, l0, route, sum, r3, want, s]);
  model.dispose();
});

test('writeDarknetCfg changes values in place and keeps everything else', () => {
  const text = '[net]\n# comment\nwidth = 64\nheight=64\nchannels=3\n\n[convolutional]\nfilters = 8   # eight\nsize=3\n\n[convolutional]\nsize=1\n';
  const cfg = parseDarknetCfg(text);
  const out = writeDarknetCfg(cfg, [{ index: 0, key: 'filters', value: 5 }, { index: 1, key: 'filters', value: 7 }, { index: -1, key: 'width', value: 32 }]);
  assert.is(out, '[net]\n# comment\nwidth = 32\nheight=64\nchannels=3\n\n[convolutional]\nfilters = 5   # eight\nsize=3\n\n[convolutional]\nfilters=7\nsize=1\n');
});

test('resizeBilinearOpenCV reproduces the exact input OpenCV gave Yolo-Fastest (dog.jpg -> 320x320)', async () => {
  const img = await readRgb('test/fixtures/images/dog.jpg');
  const ours = resizeBilinearOpenCV(img.data, img.width, img.height, 3, 320, 320);
  const ref = await sharp(`${FASTEST}/opencv-reference/dog_input.png`).removeAlpha().raw().toBuffer();
  let diff = 0;
  for (let i = 0; i < ours.length; i++) if (ours[i] !== ref[i]) diff++;
  assert.is(diff, 0);
});

test.run();
