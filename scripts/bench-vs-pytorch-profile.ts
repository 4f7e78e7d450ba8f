/**
 * Per-kernel time breakdown (tf.profile) of a forward pass or a training step.
 *   npx tsx scripts/bench-vs-pytorch-profile.ts [--config configs/yolov4.json] [--size 416] [--batch 1]
 *       [--mode forward|folded|train] [--threads 1] [--top 15] [--fast]
 */
import * as tf from '@tensorflow/tfjs';
import { loadConfigFile } from '../src/model/config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { foldBatchNorm } from '../src/speed/fold-bn.ts';
import type { BackendChoice } from '../src/backend/select.ts';
import { flag, loadavg, markdownTable, startBackend, value } from './bench-vs-pytorch-util.ts';
import { installSpeedups } from '../src/speed/install.ts';

const backend = await startBackend(value('backend', 'wasm') as BackendChoice, Number(value('threads', '1')));
const config = value('config', 'configs/yolov4.json');
const size = Number(value('size', '416'));
const batch = Number(value('batch', '1'));
const mode = value('mode', 'forward');
const top = Number(value('top', '15'));
if (flag('fast')) installSpeedups();
let model = buildYolov4(loadConfigFile(config));
if (mode === 'folded') model = foldBatchNorm(model);
const x = tf.randomUniform([batch, size, size, 3]);

const step = () => {
  if (mode === 'train') {
    const { value: loss, grads } = tf.variableGrads(() => {
      const outs = model.apply(x, { training: true }) as tf.Tensor[];
      return tf.addN(outs.map((o) => tf.mean(tf.square(o)))) as tf.Scalar;
    }, model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
    loss.dataSync();
    tf.dispose([loss, ...Object.values(grads)]);
  } else {
    const outs = model.predict(x) as tf.Tensor[];
    outs.forEach((o) => o.dataSync());
    tf.dispose(outs);
  }
};
step(); // warm-up
const t0 = performance.now();
const info = await tf.profile(step);
const wall = performance.now() - t0;
const byKernel = new Map<string, { ms: number; n: number }>();
let total = 0;
for (const k of info.kernels) {
  const ms = Number(k.kernelTimeMs) || 0;
  total += ms;
  const e = byKernel.get(k.name) ?? { ms: 0, n: 0 };
  e.ms += ms;
  e.n += 1;
  byKernel.set(k.name, e);
}
const rows = [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)
  .map(([name, e]) => [name, String(e.n), e.ms.toFixed(0), `${((100 * e.ms) / total).toFixed(1)}%`]);
console.log(`${backend.label}; ${config} at ${size}, batch ${batch}, ${mode}${flag('fast') ? ' +fast BN grad/Mish' : ''}; wall ${wall.toFixed(0)} ms (profiled), kernels ${total.toFixed(0)} ms; load ${loadavg()}`);
console.log(markdownTable(['kernel', 'calls', 'ms', 'share'], rows));
