/**
 * Does pruning buy real speed? FLOPs ratio vs measured latency ratio of pruned models (Li et al.'s
 * filter pruning with planPruning({ all: true, amount }) + applyPlan) against the unpruned one.
 *
 *   npx tsx scripts/bench-pruned-speed.ts [--config configs/yolov4-small.json] [--size 416]
 *       [--amounts 0.25,0.5,0.7] [--round-to 1,8] [--backends wasm,cpu] [--threads 1] [--runs 5] [--fold]
 *
 * Forward latency, batch 1, medians of alternating runs (unpruned, pruned a, pruned b, ...) after one
 * warm-up. --fold measures BN-folded models (src/speed/fold-bn.ts) as eval/predict would run them.
 * The pure-JS cpu backend is slow (~6 s per small-model forward at 416): keep --runs small there.
 */
import * as tf from '@tensorflow/tfjs';
import { loadConfigFile } from '../src/model/config.ts';
import { buildYolov4, countTrainableParams } from '../src/model/yolov4.ts';
import { summarizeModel } from '../src/model/summary.ts';
import { applyPlan, planPruning } from '../src/prune/index.ts';
import { selectBackend, type BackendChoice } from '../src/backend/select.ts';
import { foldBatchNorm } from '../src/speed/fold-bn.ts';
import { enableWasmThreads, wasmThreadsCount } from '../src/speed/wasm-threads.ts';
import { flag, fmtS, loadavg, markdownTable, median, value } from './bench-vs-pytorch-util.ts';

const configPath = value('config', 'configs/yolov4-small.json');
const size = Number(value('size', '416'));
const amounts = value('amounts', '0.25,0.5,0.7').split(',').map(Number);
const roundTos = value('round-to', '1').split(',').map(Number);
const backends = value('backends', 'wasm').split(',') as BackendChoice[];
const threads = Number(value('threads', '1'));
const runs = Number(value('runs', '5'));
const fold = flag('fold');

if (threads > 1 && backends.includes('wasm')) await enableWasmThreads({ threads });
await selectBackend(backends[0], { quiet: true });

const base = buildYolov4(loadConfigFile(configPath));
// Non-trivial weights so L1 ranking means something (the builder's init is fine) and BN stats are
// defaults; the speed does not depend on the values.
const variants: { name: string; model: tf.LayersModel; flops: number; params: number }[] = [];
const baseFlops = summarizeModel(base, size).flops;
variants.push({ name: 'unpruned', model: fold ? foldBatchNorm(base) : base, flops: baseFlops, params: countTrainableParams(base) });
for (const roundTo of roundTos) {
  for (const amount of amounts) {
    const plan = planPruning(base, { all: true, amount, roundTo, inputSize: size });
    const { model } = applyPlan(base, plan);
    variants.push({
      name: `amount ${amount}${roundTos.length > 1 || roundTo !== 1 ? `, roundTo ${roundTo}` : ''}`,
      model: fold ? foldBatchNorm(model) : model,
      flops: summarizeModel(model, size).flops,
      params: countTrainableParams(model),
    });
    if (fold) model.dispose();
  }
}

const rows: string[][] = [];
for (const b of backends) {
  await selectBackend(b, { quiet: true });
  const t = b === 'wasm' ? (await wasmThreadsCount()) ?? 1 : 1;
  const label = `${tf.getBackend()} (${t} thread${t === 1 ? '' : 's'})`;
  const x = tf.randomUniform([1, size, size, 3]);
  const times = variants.map(() => [] as number[]);
  const n = b === 'cpu' ? Math.min(runs, 2) : runs;
  const load0 = loadavg();
  for (let i = 0; i <= n; i++) {
    for (let v = 0; v < variants.length; v++) {
      const t0 = performance.now();
      const outs = variants[v].model.predict(x) as tf.Tensor[];
      await Promise.all(outs.map((o) => o.data()));
      tf.dispose(outs);
      if (i > 0) times[v].push(performance.now() - t0);
    }
    console.error(`${label} run ${i}: ${times.map((ts) => fmtS(ts.at(-1) ?? NaN)).join(', ')}`);
  }
  const load = `${load0} → ${loadavg()}`;
  const baseMs = median(times[0]);
  variants.forEach((v, k) => {
    const ms = median(times[k]);
    rows.push([label, v.name, `${(v.params / 1e6).toFixed(2)} M`, `${(v.flops / 1e9).toFixed(2)} G`,
      `${(baseFlops / v.flops).toFixed(2)}x`, fmtS(ms), `${(baseMs / ms).toFixed(2)}x`, String(n), load]);
  });
  x.dispose();
}
console.log(`${configPath} at ${size}, batch 1, forward${fold ? ', BN folded' : ''}; FLOPs = 2 x conv MACs (src/model/summary.ts)`);
console.log(markdownTable(['backend', 'model', 'params', 'FLOPs', 'FLOPs reduction', 'median latency', 'speedup', 'runs', 'load'], rows));
