import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './src/backend/select.ts';
import { buildYolov4 } from './src/model/yolov4.ts';
import { resolveConfig } from './src/model/config.ts';
let t = Date.now();
const r = await selectBackend('auto');
console.log('auto took', Date.now() - t, r);
t = Date.now();
const w = await selectBackend('webgpu');
console.log('webgpu took', Date.now() - t, w);
const config = resolveConfig({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 3, inputSize: 32 });
const model = buildYolov4(config);
const x = tf.randomUniform([1, 32, 32, 3]);
for (let i = 0; i < 3; i++) {
  t = Date.now();
  const ys = model.predict(x) as tf.Tensor[];
  const d = await Promise.all(ys.map((y) => y.data()));
  console.log('forward', Date.now() - t, ys.map((y) => y.shape), tf.memory().numTensors);
  tf.dispose(ys);
}
await tf.setBackend('cpu');
t = Date.now();
const yc = model.predict(x) as tf.Tensor[];
console.log('cpu forward', Date.now() - t);
