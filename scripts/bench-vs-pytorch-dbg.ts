import '../test/_backend.ts';
import * as tf from '@tensorflow/tfjs';
import { registerFastBatchNormGrad, restoreBatchNormGrad } from '../src/speed/bn-grad.ts';
const input = tf.input({ shape: [6, 6, 3] });
let h = tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
h = tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(h) as tf.SymbolicTensor;
const model = tf.model({ inputs: input, outputs: h });
const x = tf.randomNormal([3, 6, 6, 3], 0, 1, 'float32', 2);
const gx = () => tf.grad((xi: tf.Tensor) => tf.sum(tf.square(model.apply(xi, { training: true }) as tf.Tensor)))(x).dataSync();
restoreBatchNormGrad(); const a = gx();
registerFastBatchNormGrad(); const b = gx();
// float64 reference by central differences on the scalar loss in JS is too slow; compare to analytic: loss = sum(y^2), y = BN(z) over batch stats
// -> dL/dy = 2y; BN backward closed form in float64.
const z = tf.conv2d(x as tf.Tensor4D, model.layers[1].getWeights()[0] as tf.Tensor4D, 1, 'same');
const zd = Array.from(z.dataSync()); const C = 5; const N = zd.length / C;
const dz = new Float64Array(zd.length);
for (let c = 0; c < C; c++) {
  let m = 0; for (let i = 0; i < N; i++) m += zd[i * C + c]; m /= N;
  let v = 0; for (let i = 0; i < N; i++) v += (zd[i * C + c] - m) ** 2; v /= N;
  const r = 1 / Math.sqrt(v + 1e-5);
  const xh = Array.from({ length: N }, (_, i) => (zd[i * C + c] - m) * r);
  const dy = xh.map((t) => 2 * t);
  const s1 = dy.reduce((p, q) => p + q, 0); const s2 = dy.reduce((p, q, i) => p + q * xh[i], 0);
  for (let i = 0; i < N; i++) dz[i * C + c] = r / N * (N * dy[i] - s1 - xh[i] * s2);
}
const dzT = tf.tensor(Array.from(dz), z.shape);
const ref = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xi as tf.Tensor4D, model.layers[1].getWeights()[0] as tf.Tensor4D, 1, 'same'), dzT)))(x).dataSync();
const err = (p: ArrayLike<number>) => { let m = 0, d = 0; for (let i = 0; i < p.length; i++) { m = Math.max(m, Math.abs(ref[i])); d = Math.max(d, Math.abs(p[i] - ref[i])); } return d / m; };
console.log('tfjs original vs f64', err(a), 'fast vs f64', err(b));
