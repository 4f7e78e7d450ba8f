import * as tf from '@tensorflow/tfjs';
import { loadConfigFile } from '../src/model/config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { startBackend } from './bench-vs-pytorch-util.ts';
import { installSpeedups } from '../src/speed/install.ts';
await startBackend('wasm', 2);
const model = buildYolov4(loadConfigFile('configs/yolov4-small.json'));
const x = tf.randomUniform([4, 256, 256, 3]);
const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
const step = () => {
  const { value: loss, grads } = tf.variableGrads(() => {
    const outs = model.apply(x, { training: true }) as tf.Tensor[];
    return tf.addN(outs.map((o) => tf.mean(tf.square(o)))) as tf.Scalar;
  }, vars);
  loss.dataSync();
  tf.dispose([loss, ...Object.values(grads)]);
};
const variants: Record<string, () => void> = {
  base: () => installSpeedups({ bnTrain: false }),
  bnTrain: () => installSpeedups({ bnTrain: true }),
};
const ms: Record<string, number[]> = {};
for (let r = 0; r < 5; r++) for (const [name, setup] of Object.entries(variants)) {
  setup(); step();
  const t = performance.now(); step(); (ms[name] ??= []).push(performance.now() - t);
}
for (const [name, v] of Object.entries(ms)) console.log(name, v.sort((a, b) => a - b)[2].toFixed(0), 'ms', v.map((t) => t.toFixed(0)).join(' '));
