/**
 * Cost of pruning itself and what it buys, on the full 80-class YOLOv4 (fresh init):
 * - time to build the dependency graph (+ groups) and to plan `--all --amount 0.3` (L1, greedy),
 * - time of applyPlan (a new, smaller model with the surviving weights copied),
 * - forward latency (batch 1) before and after pruning `--all` at each amount, on the default backend
 *   (`auto`: tfjs-node-gpu, tfjs-node, wasm, cpu), median of --runs after one warm-up run.
 *
 *   npx tsx scripts/bench-prune.ts [--config configs/yolov4.json] [--size 416] [--amounts 0.25,0.5]
 *       [--runs 3] [--backend auto] [--strategy greedy]
 *
 * Prints a markdown table (stdout) and progress (stderr). Not a test.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendChoice } from '../src/backend/select.ts';
import { loadConfigFile } from '../src/model/config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { applyPlan, buildDependencyGraph, countFlops, countParams, findGroups, planPruning, type Strategy } from '../src/prune/index.ts';
import { fmtS, loadavg, markdownTable, median, value } from './bench-vs-pytorch-util.ts';

const configPath = value('config', 'configs/yolov4.json');
const size = Number(value('size', '416'));
const amounts = value('amounts', '0.25,0.5').split(',').map(Number);
const runs = Number(value('runs', '3'));
const strategy = value('strategy', 'greedy') as Strategy;
const backend = await selectBackend(value('backend', 'auto') as BackendChoice, { quiet: true });
const log = (l: string) => console.error(l);

const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now();
  const r = f();
  return [r, performance.now() - t0];
};

const t0 = performance.now();
const config = loadConfigFile(configPath);
const [base, buildMs] = time(() => buildYolov4(config));
log(`built ${config.name} (${countParams(base).toLocaleString('en-US')} params) in ${fmtS(buildMs)}; backend ${backend.name} (${backend.detail})`);

// Graph + plan: once cold (first call in the process), then three times warm (medians).
const [, coldMs] = time(() => planPruning(base, { all: true, amount: 0.3, strategy, inputSize: size }));
const graphMs: number[] = [];
const groupsMs: number[] = [];
const planMs: number[] = [];
const planWithGraphMs: number[] = [];
let plan03!: ReturnType<typeof planPruning>;
for (let i = 0; i < 3; i++) {
  const [graph, g] = time(() => buildDependencyGraph(base));
  graphMs.push(g);
  const [groups, gr] = time(() => findGroups(graph));
  groupsMs.push(gr);
  if (i === 0) log(`graph: ${graph.layers.length} layers, ${groups.length} prunable groups`);
  const [, p] = time(() => planPruning(base, { all: true, amount: 0.3, strategy, graph }));
  planWithGraphMs.push(p);
  const [plan, pf] = time(() => planPruning(base, { all: true, amount: 0.3, strategy, inputSize: size }));
  planMs.push(pf);
  plan03 = plan;
}
log(`plan --all 0.3: ${plan03.paramsBefore.toLocaleString('en-US')} -> ${plan03.paramsAfter.toLocaleString('en-US')} params`);

interface Variant { name: string; model: tf.LayersModel; params: number; flops: number; applyMs?: number; planMs?: number }
const variants: Variant[] = [{ name: 'unpruned', model: base, params: countParams(base), flops: countFlops(base, size).flops }];
for (const amount of amounts) {
  const [plan, pMs] = time(() => planPruning(base, { all: true, amount, strategy, inputSize: size }));
  const [{ model }, aMs] = time(() => applyPlan(base, plan));
  variants.push({ name: `--all ${amount}`, model, params: plan.paramsAfter, flops: plan.flops!.after, applyMs: aMs, planMs: pMs });
  log(`applyPlan --all ${amount}: ${fmtS(aMs)}`);
}
const [apply03, apply03Ms] = time(() => applyPlan(base, plan03));
apply03.model.dispose();

// Forward latency: alternate the variants so drifts in machine load hit all of them alike.
const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 1);
const times = variants.map(() => [] as number[]);
const lastMs = variants.map(() => NaN);
const load0 = loadavg();
for (let i = 0; i <= runs; i++) {
  for (let v = 0; v < variants.length; v++) {
    const ts = performance.now();
    const outs = variants[v].model.predict(x) as tf.Tensor[];
    await Promise.all(outs.map((o) => o.data()));
    tf.dispose(outs);
    const ms = performance.now() - ts;
    if (i > 0) times[v].push(ms);
    lastMs[v] = ms;
  }
  log(`${i === 0 ? 'warm-up' : `run ${i}`}: ${variants.map((v, k) => `${v.name} ${fmtS(lastMs[k])}`).join(', ')}`);
}
x.dispose();

const med = (xs: number[]) => fmtS(median(xs));
console.log(`\n### Pruning cost: ${config.name}, ${size}x${size}, strategy ${strategy}, backend ${backend.name} (${backend.detail})\n`);
console.log(markdownTable(['step', 'time (median of 3, warm)'], [
  ['buildDependencyGraph', med(graphMs)],
  ['findGroups', med(groupsMs)],
  ['planPruning --all 0.3, graph given (groups + L1 scores + selection)', med(planWithGraphMs)],
  ['planPruning --all 0.3, everything (graph + groups + plan + FLOPs)', med(planMs)],
  ['the same, cold (first call in the process)', fmtS(coldMs)],
  ['applyPlan --all 0.3 (build the smaller model + copy weights)', fmtS(apply03Ms)],
]));
const baseMs = median(times[0]);
console.log(`\n### Forward latency, batch 1, ${size}x${size}, median of ${runs} after 1 warm-up (load ${load0} -> ${loadavg()})\n`);
console.log(markdownTable(['model', 'params', 'GFLOPs', 'plan', 'applyPlan', 'forward', 'speed-up'], variants.map((v, k) => [
  v.name, v.params.toLocaleString('en-US'), (v.flops / 1e9).toFixed(2), v.planMs === undefined ? '' : fmtS(v.planMs),
  v.applyMs === undefined ? '' : fmtS(v.applyMs), med(times[k]), `${(baseMs / median(times[k])).toFixed(2)}x`,
])));
console.log(`\ntotal ${fmtS(performance.now() - t0)}`);
for (const v of variants) v.model.dispose();
