import * as tf from '@tensorflow/tfjs';
import { loadConfigFile } from '../src/model/config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { startBackend } from './bench-vs-pytorch-util.ts';
import { installSpeedups } from '../src/speed/install.ts';
import { builtinKernel } from '../src/backend/training-kernels.ts';
import { transposeKernel } from '../src/backend/copy-kernels.ts';
await startBackend('wasm', 2);
installSpeedups();
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
const use = (f: tf.KernelFunc) => { tf.unregisterKernel('Transpose', 'wasm'); tf.registerKernel({ kernelName: 'Transpose', backendName: 'wasm', kernelFunc: f }); };
const builtin = builtinKernel('Transpose', 'wasm')!;
const variants: Record<string, () => void> = { builtinTranspose: () => use(builtin.kernelFunc), ourTranspose: () => use(transposeKernel) };
const ms: Record<string, number[]> = {};
for (let r = 0; r < 5; r++) for (const [name, setup] of Object.entries(variants)) {
  setup(); step();
  const t = performance.now(); step(); (ms[name] ??= []).push(performance.now() - t);
}
for (const [name, v] of Object.entries(ms)) console.log(name, v.sort((a, b) => a - b)[2].toFixed(0), 'ms', v.map((t) => t.toFixed(0)).join(' '));
