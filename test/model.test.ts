import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { buildYolov4, countTrainableParams, countNonTrainableParams, convWidthsOf } from '../src/model/yolov4.ts';
import { ConfigError, resolveConfig, loadConfigFile } from '../src/model/config.ts';
import { summarizeModel } from '../src/model/summary.ts';

test('full 80-class YOLOv4 has the PyTorch parameter counts and 30.05 GMACs at 416', () => {
  const model = buildYolov4(loadConfigFile('configs/yolov4.json'));
  // Numbers from the PyTorch reference implementation (64,363,101 trainable, 66,304 BN running stats).
  assert.is(countTrainableParams(model), 64363101);
  assert.is(countNonTrainableParams(model), 66304);
  const s = summarizeModel(model, 416);
  assert.is(s.params, 64363101);
  assert.is(Math.round(s.macs / 1e7) / 100, 30.05);
  const convs = model.layers.filter((l) => l.getClassName() === 'Conv2D');
  assert.is(convs.length, 110);
  assert.is(model.layers.filter((l) => l.getClassName() === 'BatchNormalization').length, 107);
  // Output shapes at 416 from the summary: 13, 26, 52 with 255 channels.
  const heads = ['yolo_head1.1', 'yolo_head2.1', 'yolo_head3.1'].map((n) => s.layers.find((l) => l.name === n)!);
  assert.equal(heads.map((h) => [h.outHeight, h.outWidth, h.outChannels]), [[13, 13, 255], [26, 26, 255], [52, 52, 255]]);
  model.dispose();
});

test('20 classes: 64,040,001 parameters (reference count)', () => {
  const model = buildYolov4({ numClasses: 20 });
  assert.is(countTrainableParams(model), 64040001);
  model.dispose();
});

test('small config runs forward with the right output shapes and no leaked tensors', () => {
  const model = buildYolov4(loadConfigFile('configs/yolov4-small.json'));
  const before = tf.memory().numTensors;
  const outs = tf.tidy(() => model.predict(tf.zeros([2, 96, 96, 3])) as tf.Tensor[]);
  assert.equal(outs.map((o) => o.shape), [[2, 3, 3, 255], [2, 6, 6, 255], [2, 12, 12, 255]]);
  tf.dispose(outs);
  assert.is(tf.memory().numTensors, before);
  model.dispose();
});

test('arbitrary per-conv widths build (a pruned network is just another config)', () => {
  const base = resolveConfig({ widthMultiplier: 0.125, depthMultiplier: 0.34, numClasses: 3 });
  const widths = { ...base.widths, 'conv2.0.conv': 5, 'make_five_conv3.1.conv': 11, 'backbone.stages.1.split_conv0.conv': 3 };
  const model = buildYolov4({ ...base, widths });
  const got = convWidthsOf(model);
  assert.is(got['conv2.0.conv'], 5);
  assert.is(got['make_five_conv3.1.conv'], 11);
  assert.is(got['yolo_head1.1'], 24);
  const out = tf.tidy(() => (model.predict(tf.zeros([1, 64, 64, 3])) as tf.Tensor[]).map((t) => t.shape));
  assert.equal(out, [[1, 2, 2, 24], [1, 4, 4, 24], [1, 8, 8, 24]]);
  model.dispose();
});

test('stride-2 convs pad symmetrically like PyTorch, not like TF "same"', () => {
  // TF 'same' at stride 2 pads only bottom/right; PyTorch pads 1 on every side. The parity test
  // against PyTorch outputs is the numeric proof; this checks the structure that makes it so.
  const model = buildYolov4({ widthMultiplier: 1 / 16, depthMultiplier: 0.1, numClasses: 1 });
  const pad = model.getLayer('backbone.stages.0.downsample_conv.pad');
  assert.equal(pad.getConfig().padding as number[][], [[1, 1], [1, 1]]);
  assert.is(model.getLayer('backbone.stages.0.downsample_conv.conv').getConfig().padding, 'valid');
  model.dispose();
});

test('config validation gives clear errors', () => {
  assert.throws(() => resolveConfig({ inputSize: 100 }), (e: Error) => e instanceof ConfigError && /multiple of 32/.test(e.message));
  assert.throws(() => resolveConfig({ numClasses: 0 }), /numClasses/);
  assert.throws(() => resolveConfig({ foo: 1 } as never), /unknown field "foo"/);
  assert.throws(() => resolveConfig({ widths: { 'nope.conv': 3 } }), /unknown conv "nope.conv"/);
  assert.throws(() => resolveConfig({ widths: { 'backbone.stages.2.split_conv1.conv': 7 } }), /residual partners must match/);
  assert.throws(() => resolveConfig({ classNames: ['a', 'b'], numClasses: 3 }), /2 names but numClasses is 3/);
  assert.throws(() => loadConfigFile('configs/does-not-exist.json'), /cannot read config file/);
});

test.run();
