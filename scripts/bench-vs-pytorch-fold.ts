/**
 * BatchNorm folding speed: unfolded vs folded forward, alternating, on one backend/thread count.
 *   npx tsx scripts/bench-vs-pytorch-fold.ts [--backend wasm] [--threads 1] [--runs 5] [--cases small256,small416,full416]
 */
import * as tf from '@tensorflow/tfjs';
import { loadConfigFile } from '../src/model/config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { foldBatchNorm } from '../src/speed/fold-bn.ts';
import type { BackendChoice } from '../src/backend/select.ts';
import { fmtS, loadavg, markdownTable, median, startBackend, value } from './bench-vs-pytorch-util.ts';

const backend = await startBackend(value('backend', 'wasm') as BackendChoice, Number(value('threads', '1')));
const runs = Number(value('runs', '5'));
const all = {
  small256: { name: 'small', config: 'configs/yolov4-small.json', size: 256 },
  small416: { name: 'small', config: 'configs/yolov4-small.json', size: 416 },
  full416: { name: 'full 80-class', config: 'configs/yolov4.json', size: 416 },
};
const cases = value('cases', 'small256,small416,full416').split(',').map((c) => all[c as keyof typeof all]);
const rows: string[][] = [];
const load0 = loadavg();
for (const c of cases) {
  const model = buildYolov4(loadConfigFile(c.config));
  const t0 = performance.now();
  const folded = foldBatchNorm(model);
  const foldMs = performance.now() - t0;
  const x = tf.randomUniform([1, c.size, c.size, 3]);
  const run = async (m: tf.LayersModel) => {
    const t = performance.now();
    const outs = m.predict(x) as tf.Tensor[];
    await Promise.all(outs.map((o) => o.data()));
    tf.dispose(outs);
    return performance.now() - t;
  };
  await run(model);
  await run(folded);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(await run(model));
    b.push(await run(folded));
  }
  const ma = median(a);
  const mb = median(b);
  rows.push([backend.label, c.name, String(c.size), fmtS(ma), fmtS(mb), `${(ma / mb).toFixed(2)}x`, fmtS(foldMs), String(runs)]);
  console.error(rows[rows.length - 1].join(' | '));
  tf.dispose(x);
  model.dispose();
  folded.dispose();
}
console.log(markdownTable(['backend', 'model', 'input', 'unfolded', 'folded', 'speedup', 'fold time', 'runs'], rows));
console.log(`\nload (1/5/15 min): before ${load0}, after ${loadavg()}`);
