import * as tf from '@tensorflow/tfjs';
import { loadConfigFile } from '../src/model/config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { startBackend } from './bench-vs-pytorch-util.ts';
import { installSpeedups } from '../src/speed/install.ts';
await startBackend('wasm', 2);
installSpeedups();
const model = buildYolov4(loadConfigFile('configs/yolov4-small.json'));
const x = tf.randomUniform([4, 256, 256, 3]);
const step = () => {
  const { value: loss, grads } = tf.variableGrads(() => {
    const outs = model.apply(x, { training: true }) as tf.Tensor[];
    return tf.addN(outs.map((o) => tf.mean(tf.square(o)))) as tf.Scalar;
  }, model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
  loss.dataSync();
  tf.dispose([loss, ...Object.values(grads)]);
};
step();
const info = await tf.profile(step);
const names = new Set(process.argv.slice(2));
const rows = info.kernels.filter((k) => names.has(k.name)).sort((a, b) => Number(b.kernelTimeMs) - Number(a.kernelTimeMs)).slice(0, 40);
for (const k of rows) console.log(k.name, Number(k.kernelTimeMs).toFixed(1), JSON.stringify(k.inputShapes), '->', JSON.stringify(k.outputShapes));
