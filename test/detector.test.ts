import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../src/model/config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { importDarknet } from '../src/io/darknet/index.ts';
import { foldBatchNorm } from '../src/speed/fold-bn.ts';
import { decodeOptionsFromConfig } from '../src/predict/decode.ts';
import { inferenceDefaults } from '../src/predict/defaults.ts';
import { detectBatch } from '../src/predict/detect.ts';
import { Detector } from '../src/predict/detector.ts';
import { letterboxImage } from '../src/image/letterbox.ts';

const FASTEST = 'test/fixtures/darknet/yolo-fastest-1.1';
const IMAGES = ['dog.jpg', 'person.jpg'].map((f) => `test/fixtures/images/${f}`);

test('detect() leaks no tensors across calls and dispose() frees the folded copy', async () => {
  const config = resolveConfig({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 2, inputSize: 64, classNames: ['a', 'b'] });
  const model = buildYolov4(config);
  const start = tf.memory().numTensors;
  const detector = await Detector.load({ model, config }, { conf: 0.01 });
  const afterLoad = tf.memory().numTensors;
  const gray = { data: new Uint8Array(80 * 60 * 3).fill(128), width: 80, height: 60, channels: 3 as const };
  await detector.detect(gray); // warm-up (kernels may cache state)
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const dets = await detector.detect([gray, IMAGES[0]]);
    assert.is(dets.length, 2);
    counts.push(tf.memory().numTensors);
  }
  assert.equal(counts, [afterLoad, afterLoad, afterLoad]);
  detector.dispose();
  assert.is(tf.memory().numTensors, start, 'the folded copy is disposed, the caller\'s model is not');
  model.dispose();
});

test('Detector on a darknet model gives the detections of the previous path (fold + resize/opencv + multi-label)', async () => {
  const { model, config } = await importDarknet(`${FASTEST}/yolo-fastest-1.1.cfg`, `${FASTEST}/yolo-fastest-1.1.weights`, { namesFile: `${FASTEST}/coco.names` });
  const detector = await Detector.load({ model, config });
  // The path cli/predict.ts took before the Detector existed.
  const folded = foldBatchNorm(model);
  const d = inferenceDefaults(config);
  const decodeOpts = decodeOptionsFromConfig(config, config.inputSize, d.scaleXY);
  const nmsOpts = { confThreshold: 0.25, iouThreshold: 0.45, multiLabel: d.multiLabel };
  let n = 0;
  for (const file of IMAGES) {
    const lb = await letterboxImage(file, config.inputSize, { mode: d.mode, resampler: d.resampler });
    const [want] = await detectBatch(folded, [lb], decodeOpts, nmsOpts);
    const [got] = await detector.detect(file);
    assert.equal(Array.from(got), want, file); // got is a Detections (an Array subclass)
    n += got.length;
  }
  assert.ok(n > 0, 'some detections to compare');
  assert.is(d.mode, 'resize', 'a darknet model is not letterboxed');
  folded.dispose();
  detector.dispose();
  model.dispose();
});

test.run();
