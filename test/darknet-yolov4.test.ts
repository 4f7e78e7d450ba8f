// AlexeyAB's yolov4.cfg onto our YOLOv4 (reference layer names) and any YOLOv4 back to darknet (issue 13).
import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../src/model/config.ts';
import { buildYolov4, convWidthsOf, countTrainableParams } from '../src/model/yolov4.ts';
import {
  DarknetCfgError, exportDarknetFiles, importDarknetText, parseDarknetCfg, randomDarknetWeights, resolveDarknetNetwork,
} from '../src/io/darknet/index.ts';
import { yolov4DarknetCfgText } from '../src/io/darknet/yolov4-cfg.ts';
import { writeDarknetExport } from '../src/io/darknet-export-target.ts';
import { applyPlan, planPruning } from '../src/prune/index.ts';

const V4 = readFileSync('test/fixtures/darknet/yolov4.cfg', 'utf8');
const TINY = readFileSync('test/fixtures/darknet/yolov4-tiny.cfg', 'utf8');
const network = (text: string, source = 'cfg') => resolveDarknetNetwork(parseDarknetCfg(text, source));

/** A narrow, irregular YOLOv4 (fast to run): widths / 16, 5 classes. */
function smallConfig() {
  return resolveConfig({ name: 'small', numClasses: 5, widthMultiplier: 1 / 16, inputSize: 96 });
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

test('our yolov4.cfg sections equal AlexeyAB\'s yolov4.cfg layer for layer (shapes, routes, masks, scale_x_y)', () => {
  const config = resolveConfig({ inputSize: 608, scaleXY: [1.05, 1.1, 1.2] });
  const ours = network(yolov4DarknetCfgText(config), 'ours');
  const theirs = network(V4, 'yolov4.cfg');
  assert.is(ours.layers.length, theirs.layers.length);
  ours.layers.forEach((l, i) => {
    const { line: _a, ...mine } = l;
    const { line: _b, ...ref } = theirs.layers[i];
    assert.equal(mine, ref, `layer ${i}`);
  });
});

test('yolov4.cfg imports as our YOLOv4 (reference names, 64,363,101 parameters); --layout darknet keeps the generic graph', () => {
  const native = importDarknetText(V4);
  assert.is(native.layout, 'yolov4');
  assert.is(native.config.architecture ?? 'yolov4', 'yolov4');
  assert.is(countTrainableParams(native.model), 64363101);
  assert.ok(native.model.getLayer('conv2.0.conv'));
  assert.equal(native.config.anchorMask, [[6, 7, 8], [3, 4, 5], [0, 1, 2]]);
  assert.equal(native.config.scaleXY, [1.05, 1.1, 1.2]);
  assert.is(native.config.resizeMode, 'resize');
  assert.is(native.config.inputSize, 608);
  // The seed's pruning case, on the AlexeyAB-structured model.
  const plan = planPruning(native.model, { layers: ['conv2.*'], amount: 0.4, strategy: 'greedy', importance: 'l1', inputSize: 416 });
  const { model: pruned } = applyPlan(native.model, plan);
  assert.is(countTrainableParams(pruned), 60438323);
  pruned.dispose();
  native.model.dispose();

  const tiny = importDarknetText(TINY);
  assert.is(tiny.layout, 'darknet');
  assert.match(tiny.notYolov4 ?? '', /2 \[yolo\] layers, YOLOv4 has 3/);
  tiny.model.dispose();
  assert.throws(() => importDarknetText(TINY, undefined, { layout: 'yolov4' }),
    (e: Error) => e instanceof DarknetCfgError && /cannot be built as YOLOv4 with the reference layout: it has 2 \[yolo\] layers/.test(e.message));
});

test('same cfg and weights: the native and the generic layouts give the same outputs', () => {
  const text = yolov4DarknetCfgText(smallConfig());
  const weights = randomDarknetWeights(network(text), 5);
  const native = importDarknetText(text, weights);
  const generic = importDarknetText(text, weights, { layout: 'darknet' });
  assert.is(native.layout, 'yolov4');
  assert.is(generic.layout, 'darknet');
  // 320: a 10x10 stride-32 map, where SPP's 5, 9 and 13 pools differ (at 96 all three see the whole map).
  const x = tf.randomUniform([1, 320, 320, 3], 0, 1, 'float32', 9);
  const a = native.model.predict(x) as tf.Tensor[];
  const b = generic.model.predict(x) as tf.Tensor[];
  // Darknet computes stride 8 first; our outputs start at stride 32.
  a.forEach((t, o) => {
    assert.equal(t.shape, b[2 - o].shape);
    assert.ok(maxDiff(t, b[2 - o]) < 1e-4, `output ${o}: ${maxDiff(t, b[2 - o])}`);
  });
  tf.dispose([x, ...a, ...b]);
  native.model.dispose();
  generic.model.dispose();
});

test('a pruned YOLOv4 exports to darknet and comes back native with the same widths and outputs', async () => {
  const config = smallConfig();
  const model = buildYolov4(config);
  const plan = planPruning(model, { amount: 0.3, all: true, strategy: 'independent', importance: 'l1', inputSize: 96 });
  const { model: pruned } = applyPlan(model, plan);
  const files = exportDarknetFiles(pruned, config);
  assert.match(files.cfgText, /^\[net\][^]*width=96\n/);
  const back = importDarknetText(files.cfgText, files.weights);
  assert.is(back.layout, 'yolov4');
  assert.equal(convWidthsOf(back.model), convWidthsOf(pruned));
  assert.equal(back.config.anchorMask, config.anchorMask);
  // Byte-identical the second time round.
  assert.ok(Buffer.from(exportDarknetFiles(back.model, back.config).weights).equals(Buffer.from(files.weights)));
  const x = tf.randomUniform([2, 320, 320, 3], 0, 1, 'float32', 4);
  const a = pruned.predict(x) as tf.Tensor[];
  const b = back.model.predict(x) as tf.Tensor[];
  a.forEach((t, o) => assert.is(maxDiff(t, b[o]), 0, `output ${o}`));

  // Written through the export rule: a missing folder is created.
  const dir = mkdtempSync(join(tmpdir(), 'dk-native-'));
  try {
    const out = await writeDarknetExport(pruned, config, join(dir, 'new', 'sub', 'small'));
    assert.ok(existsSync(out.cfgPath) && existsSync(out.weightsPath) && existsSync(out.namesPath));
    assert.ok(readFileSync(out.weightsPath).equals(Buffer.from(files.weights)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  tf.dispose([x, ...a, ...b]);
  for (const m of [model, pruned, back.model]) m.dispose();
});

test('darknet export of a model that is not a YOLOv4 of its config names the missing layer and the format', () => {
  const config = smallConfig();
  const model = buildYolov4(config);
  const wrong = { ...config, blocks: [1, 2, 8, 8, 5] };
  assert.throws(() => exportDarknetFiles(model, wrong),
    (e: Error) => /has no conv 'backbone\.stages\.4\.blocks_conv\.4\.block\.0\.conv': darknet export/.test(e.message));
  model.dispose();
});

test.run();
