import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { Mish } from '../src/model/mish.ts';
import {
  applyPlan, buildDependencyGraph, checkExactness, countFlops, countParams, findGroups, formatPlan, planPruning,
  silenceChannels, type PruneGroup, type PrunePlan, type Strategy,
} from '../src/prune/index.ts';

const backendModule = './_backend.ts';
if (existsSync(new URL(backendModule, import.meta.url))) await import(backendModule);

type T = tf.SymbolicTensor;

/** conv (no bias) -> BN -> Mish or LeakyReLU, named like the YOLOv4 builder: `${p}.conv|bn|activation|relu`. */
function cba(p: string, x: T, filters: number, k: number, stride = 1, act: 'mish' | 'leaky' | 'relu' = 'leaky'): T {
  if (stride > 1) x = tf.layers.zeroPadding2d({ padding: Math.floor(k / 2), name: `${p}.pad` }).apply(x) as T;
  x = tf.layers.conv2d({ name: `${p}.conv`, filters, kernelSize: k, strides: stride, padding: stride > 1 ? 'valid' : 'same', useBias: false }).apply(x) as T;
  x = tf.layers.batchNormalization({ name: `${p}.bn`, epsilon: 1e-5 }).apply(x) as T;
  if (act === 'mish') return new Mish({ name: `${p}.activation` }).apply(x) as T;
  if (act === 'relu') return tf.layers.reLU({ name: `${p}.relu` }).apply(x) as T;
  return tf.layers.leakyReLU({ name: `${p}.relu`, alpha: 0.1 }).apply(x) as T;
}
const head = (name: string, x: T, filters = 6): T => tf.layers.conv2d({ name, filters, kernelSize: 1, useBias: true }).apply(x) as T;

/** A CSP stage: downsample, split convs, 2 residual blocks x + conv3x3(conv1x1(x)), 1x1, concat, 1x1, head. */
function cspModel(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 4], name: 'x' });
  let x = cba('stem', input, 8, 3, 1, 'mish');
  x = cba('down', x, 16, 3, 2, 'mish');
  const x0 = cba('split_conv0', x, 8, 1, 1, 'mish');
  let x1 = cba('split_conv1', x, 8, 1, 1, 'mish');
  for (let b = 0; b < 2; b++) {
    const h = cba(`blocks.${b}.block.1`, cba(`blocks.${b}.block.0`, x1, 6, 1, 1, 'mish'), 8, 3, 1, 'mish');
    x1 = tf.layers.add({ name: `blocks.${b}.add` }).apply([x1, h]) as T;
  }
  x1 = cba('blocks.2', x1, 8, 1, 1, 'mish');
  const cat = tf.layers.concatenate({ name: 'cat' }).apply([x1, x0]) as T;
  const y = cba('concat_conv', cat, 16, 1, 1, 'mish');
  return tf.model({ name: 'csp', inputs: input, outputs: head('head.1', y) });
}

/** SPP: 1x1 conv, max-pools 5/9/13 (stride 1, same), cat([mp13, mp9, mp5, x]), 1x1 conv, head. */
function sppModel(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 3], name: 'x' });
  const x = cba('conv1', input, 8, 1);
  const pools = [5, 9, 13].map((k, i) => tf.layers.maxPooling2d({ name: `SPP.maxpools.${i}`, poolSize: k, strides: 1, padding: 'same' }).apply(x) as T);
  const cat = tf.layers.concatenate({ name: 'SPP.cat' }).apply([pools[2], pools[1], pools[0], x]) as T;
  const y = cba('conv2', cat, 8, 1);
  return tf.model({ name: 'spp', inputs: input, outputs: head('head.1', y) });
}

/**
 * Neck path: a 1x1 conv, nearest upsampling, concat with another branch (offset 5), nested in a second
 * concat after the 6-channel backbone output (so the upsampled channels land at offset 6 + 5 = 11).
 * Two heads: one on the neck, one on the low-resolution path.
 */
function neckModel(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'x' });
  const p = cba('backbone', input, 6, 3);
  const d = cba('down', p, 8, 3, 2);
  const u = tf.layers.upSampling2d({ name: 'upsample.1', size: [2, 2], interpolation: 'nearest' }).apply(cba('upsample.0', d, 4, 1)) as T;
  const b = cba('branch', p, 5, 1);
  const cat = tf.layers.concatenate({ name: 'cat' }).apply([b, u]) as T;
  const cat2 = tf.layers.concatenate({ name: 'cat2' }).apply([p, cat]) as T;
  const y = cba('five.0', cat2, 8, 1);
  return tf.model({ name: 'neck', inputs: input, outputs: [head('head1.1', y), head('head2.1', cba('head2.0', d, 6, 3))] });
}

/** Depthwise chain (multipliers 1 and 2), a separable conv, global pooling and dense layers. */
function depthwiseModel(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'x' });
  let x = cba('pw1', input, 8, 1, 1, 'relu');
  x = tf.layers.depthwiseConv2d({ name: 'dw1', kernelSize: 3, padding: 'same', depthMultiplier: 1 }).apply(x) as T;
  x = tf.layers.batchNormalization({ name: 'dw1.bn' }).apply(x) as T;
  x = tf.layers.reLU({ name: 'dw1.relu' }).apply(x) as T;
  x = tf.layers.depthwiseConv2d({ name: 'dw2', kernelSize: 3, padding: 'same', depthMultiplier: 2 }).apply(x) as T;
  x = tf.layers.batchNormalization({ name: 'dw2.bn' }).apply(x) as T;
  x = tf.layers.leakyReLU({ name: 'dw2.relu', alpha: 0.1 }).apply(x) as T;
  x = cba('pw2', x, 6, 1, 1, 'mish');
  x = tf.layers.separableConv2d({ name: 'sep', filters: 5, kernelSize: 3, padding: 'same', depthMultiplier: 2 }).apply(x) as T;
  x = tf.layers.batchNormalization({ name: 'sep.bn' }).apply(x) as T;
  x = tf.layers.reLU({ name: 'sep.relu' }).apply(x) as T;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as T;
  x = tf.layers.dense({ name: 'fc', units: 7, activation: 'relu' }).apply(x) as T;
  x = tf.layers.dense({ name: 'fc2', units: 6, activation: 'relu' }).apply(x) as T;
  return tf.model({ name: 'dw', inputs: input, outputs: tf.layers.dense({ name: 'out', units: 3 }).apply(x) as T });
}

/** Seeded random weights: kernels ~ U(+-1/sqrt(fan-in)), BN with non-trivial statistics. */
function randomize(model: tf.LayersModel, seed: number) {
  let s = seed;
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const values = layer.weights.map((w) => {
      const name = w.originalName;
      const shape = w.shape as number[];
      s += 1;
      if (name.endsWith('gamma')) return tf.randomUniform(shape, 0.5, 1.5, 'float32', s);
      if (name.endsWith('moving_variance')) return tf.randomUniform(shape, 0.5, 2, 'float32', s);
      if (name.endsWith('beta') || name.endsWith('moving_mean') || name.endsWith('bias')) return tf.randomUniform(shape, -0.5, 0.5, 'float32', s);
      const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const a = 1.5 / Math.sqrt(fanIn);
      return tf.randomUniform(shape, -a, a, 'float32', s);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

const memberList = (g: PruneGroup) => g.members.map((m) => `${m.layer}:${m.dim}@${m.offset}+${m.channels.length}`).sort();
const sorted = (xs: string[]) => [...xs].sort();
const groupOf = (groups: PruneGroup[], producer: string) => groups.find((g) => g.producers.includes(producer))!;

test('residual chain: all producers tied by the adds form one group with the right members', () => {
  const model = cspModel();
  const groups = findGroups(buildDependencyGraph(model));
  const g = groupOf(groups, 'blocks.1.block.1.conv');
  assert.is(g.root, 'split_conv1.conv');
  assert.equal(g.producers, ['split_conv1.conv', 'blocks.0.block.1.conv', 'blocks.1.block.1.conv']);
  assert.is(g.n, 8);
  assert.equal(memberList(g), sorted([
    'blocks.0.block.0.conv:in@0+8',
    'blocks.0.block.1.bn:bn@0+8', 'blocks.0.block.1.conv:out@0+8',
    'blocks.1.block.0.conv:in@0+8',
    'blocks.1.block.1.bn:bn@0+8', 'blocks.1.block.1.conv:out@0+8',
    'blocks.2.conv:in@0+8',
    'split_conv1.bn:bn@0+8', 'split_conv1.conv:out@0+8',
  ]));
  for (const m of g.members) assert.equal(m.channels, [0, 1, 2, 3, 4, 5, 6, 7]);
  // The concat: blocks.2 at offset 0, split_conv0 at offset 8 of concat_conv's inputs.
  assert.ok(memberList(groupOf(groups, 'blocks.2.conv')).includes('concat_conv.conv:in@0+8'));
  assert.ok(memberList(groupOf(groups, 'split_conv0.conv')).includes('concat_conv.conv:in@8+8'));
  // The down conv feeds both split convs.
  assert.equal(memberList(groupOf(groups, 'down.conv')), sorted(['down.bn:bn@0+16', 'down.conv:out@0+16', 'split_conv0.conv:in@0+16', 'split_conv1.conv:in@0+16']));
  // 11 producers, 3 tied into 1 by the adds: 9 groups; concat_conv (feeds the head) and the head are fixed.
  assert.is(groups.length, 7);
  assert.not.ok(groups.some((x) => x.members.some((m) => m.layer === 'head.1')));
  // concat_conv feeds the output conv: fixed by policy, unless allowed.
  assert.not.ok(groups.some((x) => x.root === 'concat_conv.conv'));
  const all = findGroups(buildDependencyGraph(model), { includeUnprunable: true });
  assert.match(all.find((x) => x.root === 'concat_conv.conv')!.reason!, /feed output layer 'head.1'/);
  assert.match(all.find((x) => x.root === 'head.1')!.reason!, /reach model output/);
  assert.ok(findGroups(buildDependencyGraph(model), { pruneOutputInputs: true }).some((x) => x.root === 'concat_conv.conv'));
  model.dispose();
});

test('concat offsets: SPP inputs at 0/8/16/24, nested concat puts the upsampled branch at 6 + 5', () => {
  const spp = sppModel();
  const g = groupOf(findGroups(buildDependencyGraph(spp)), 'conv1.conv');
  assert.equal(memberList(g), sorted(['conv1.bn:bn@0+8', 'conv1.conv:out@0+8', 'conv2.conv:in@0+8', 'conv2.conv:in@16+8', 'conv2.conv:in@24+8', 'conv2.conv:in@8+8']));
  const plan = planPruning(spp, { layer: 'conv1', amount: 0.25 });
  const removed = plan.groups[0].remove;
  assert.is(removed.length, 2);
  const consumer = plan.groups[0].deps.filter((d) => d.layer === 'conv2.conv').flatMap((d) => d.indices);
  assert.equal(consumer, [0, 8, 16, 24].flatMap((o) => removed.map((i) => o + i)));
  spp.dispose();

  const neck = neckModel();
  const groups = findGroups(buildDependencyGraph(neck));
  const up = groupOf(groups, 'upsample.0.conv');
  assert.equal(memberList(up), sorted(['five.0.conv:in@11+4', 'upsample.0.bn:bn@0+4', 'upsample.0.conv:out@0+4']));
  assert.ok(memberList(groupOf(groups, 'branch.conv')).includes('five.0.conv:in@6+5'));
  assert.ok(memberList(groupOf(groups, 'backbone.conv')).includes('five.0.conv:in@0+6'));
  const p2 = planPruning(neck, { layer: 'upsample.0', amount: 0.5 });
  const r = p2.groups[0].remove;
  assert.equal(p2.groups[0].deps.find((d) => d.layer === 'five.0.conv')!.indices, r.map((i) => 11 + i));
  neck.dispose();
});

test('depthwise multiplier repeats channels; GAP feeds Dense; Flatten repeats per position', () => {
  const model = depthwiseModel();
  const groups = findGroups(buildDependencyGraph(model));
  const g = groupOf(groups, 'pw1.conv');
  assert.equal(memberList(g), sorted([
    'dw1.bn:bn@0+8', 'dw1:bias@0+8', 'dw1:depthwise@0+8', 'dw2.bn:bn@0+16', 'dw2:bias@0+16', 'dw2:depthwise@0+8',
    'pw1.bn:bn@0+8', 'pw1.conv:out@0+8', 'pw2.conv:in@0+16',
  ]));
  assert.equal(g.members.find((m) => m.layer === 'pw2.conv')!.channels, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]);
  assert.equal(memberList(groupOf(groups, 'pw2.conv')), sorted(['pw2.bn:bn@0+6', 'pw2.conv:out@0+6', 'sep:depthwise@0+6', 'sep:in@0+12']));
  assert.equal(memberList(groupOf(groups, 'sep')), sorted(['fc:in@0+5', 'sep.bn:bn@0+5', 'sep:bias@0+5', 'sep:out@0+5']));
  assert.equal(memberList(groupOf(groups, 'fc')), sorted(['fc2:in@0+7', 'fc:bias@0+7', 'fc:out@0+7']));
  assert.not.ok(groups.some((x) => x.root === 'fc2')); // feeds the output layer
  model.dispose();

  const input = tf.input({ shape: [2, 3, 4], name: 'x' });
  const c = tf.layers.conv2d({ name: 'c', filters: 4, kernelSize: 1 }).apply(input) as T;
  const f = tf.layers.flatten({ name: 'flat' }).apply(c) as T;
  const d = tf.layers.dense({ name: 'd', units: 5 }).apply(f) as T;
  const flat = tf.model({ inputs: input, outputs: tf.layers.dense({ name: 'o', units: 2 }).apply(d) as T });
  const fg = groupOf(findGroups(buildDependencyGraph(flat)), 'c');
  const din = fg.members.find((m) => m.layer === 'd')!;
  assert.is(din.channels.length, 24);
  assert.equal(din.channels.slice(0, 8), [0, 1, 2, 3, 0, 1, 2, 3]);
  const plan = planPruning(flat, { layer: 'c', amount: 0.5 });
  const r = plan.groups[0].remove;
  assert.equal(plan.groups[0].deps.find((x) => x.layer === 'd')!.indices, [0, 1, 2, 3, 4, 5].flatMap((p) => r.map((i) => p * 4 + i)));
  assertExact(flat, plan, tf.randomNormal([2, 2, 3, 4], 0, 1, 'float32', 3));
  flat.dispose();
});

test('shared layer ties the channels it reads; barriers are reported and block pruning with a reason', () => {
  const input = tf.input({ shape: [4, 4, 3], name: 'x' });
  const a = tf.layers.conv2d({ name: 'a', filters: 4, kernelSize: 1 }).apply(input) as T;
  const b = tf.layers.conv2d({ name: 'b', filters: 4, kernelSize: 1 }).apply(input) as T;
  const shared = tf.layers.conv2d({ name: 'shared', filters: 3, kernelSize: 1 });
  const sa = shared.apply(a) as T;
  const sb = shared.apply(b) as T;
  const sum = tf.layers.add({ name: 'sum' }).apply([sa, sb]) as T;
  const r = tf.layers.reshape({ name: 'r', targetShape: [16, 3] }).apply(sum) as T;
  const model = tf.model({ inputs: input, outputs: tf.layers.dense({ name: 'o', units: 2 }).apply(r) as T });
  const graph = buildDependencyGraph(model);
  assert.equal(graph.barriers.map((x) => `${x.layer}:${x.className}`), ['r:Reshape']);
  const groups = findGroups(graph, { includeUnprunable: true });
  const g = groupOf(groups, 'a');
  assert.equal(g.producers, ['a', 'b']);
  assert.ok(g.prunable);
  assert.equal(memberList(g), sorted(['a:bias@0+4', 'a:out@0+4', 'b:bias@0+4', 'b:out@0+4', 'shared:in@0+4']));
  const s = groupOf(groups, 'shared');
  assert.not.ok(s.prunable);
  assert.throws(() => planPruning(model, { layer: 'shared', amount: 0.5 }), /'r' \(Reshape\), which the pruner does not see through/);
  const plan = planPruning(model, { layer: 'a', amount: 0.5 });
  assertExact(model, plan, tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 5));
  model.dispose();

  // A producer with a channel-mixing activation keeps its width.
  const x = tf.input({ shape: [4, 4, 3], name: 'x' });
  const sm = tf.layers.conv2d({ name: 'sm', filters: 4, kernelSize: 1, activation: 'softmax' }).apply(x) as T;
  const m2 = tf.model({ inputs: x, outputs: head('head.1', tf.layers.conv2d({ name: 'c', filters: 4, kernelSize: 1 }).apply(sm) as T) });
  assert.throws(() => planPruning(m2, { layer: 'sm', amount: 0.5 }), /'softmax' activation of 'sm', which mixes channels/);
  m2.dispose();
});

test('tied residual group: score from the root conv, or sum / mean / max over its producers', () => {
  const model = cspModel();
  randomize(model, 17);
  const producers = ['split_conv1.conv', 'blocks.0.block.1.conv', 'blocks.1.block.1.conv'];
  // L1 of each filter computed here from the kernels (HWIO, out = last axis).
  const l1 = producers.map((p) => {
    const k = model.getLayer(p).getWeights()[0];
    const out = k.shape[3] as number;
    const data = k.dataSync();
    const sums = new Array<number>(out).fill(0);
    for (let i = 0; i < data.length; i++) sums[i % out] += Math.abs(data[i]);
    return sums;
  });
  const expected = {
    root: l1[0],
    sum: l1[0].map((_, c) => l1[0][c] + l1[1][c] + l1[2][c]),
    mean: l1[0].map((_, c) => (l1[0][c] + l1[1][c] + l1[2][c]) / 3),
    max: l1[0].map((_, c) => Math.max(l1[0][c], l1[1][c], l1[2][c])),
  };
  for (const groupReduction of ['root', 'sum', 'mean', 'max'] as const) {
    const plan = planPruning(model, { layer: 'blocks.1.block.1', amount: 0.5, groupReduction });
    const g = plan.groups[0];
    assert.is(g.root, 'split_conv1.conv');
    g.scores.forEach((s, c) => assert.ok(Math.abs(s - expected[groupReduction][c]) < 1e-4, `${groupReduction} channel ${c}`));
    const order = [...g.scores.keys()].sort((a, b) => g.scores[a] - g.scores[b] || a - b);
    assert.equal(g.remove, order.slice(0, 4).sort((a, b) => a - b));
    // Every producer loses the same filters, once.
    assert.equal(g.deps.filter((d) => d.dim === 'out').map((d) => [d.layer, d.indices]), producers.map((p) => [p, g.remove]));
  }
  model.dispose();
});

test('scopes: module prefix, globs, amounts; unknown names list close matches', () => {
  const model = cspModel();
  let plan = planPruning(model, { layer: 'stem', amount: 0.5 });
  assert.equal(plan.groups.map((g) => g.root), ['stem.conv']);
  plan = planPruning(model, { layers: ['blocks.*'], amount: 0.5 });
  assert.equal(plan.groups.map((g) => g.root), ['split_conv1.conv', 'blocks.0.block.0.conv', 'blocks.1.block.0.conv', 'blocks.2.conv']);
  plan = planPruning(model, { amounts: { '*': 0.25, 'blocks.0.*': 0.5 } });
  const amounts = Object.fromEntries(plan.groups.map((g) => [g.root, g.amount]));
  assert.is(amounts['stem.conv'], 0.25);
  assert.is(amounts['blocks.0.block.0.conv'], 0.5);
  assert.is(amounts['split_conv1.conv'], 0.5); // the residual group holds blocks.0.block.1.conv
  assert.is(amounts['split_conv0.conv'], 0.25);
  assert.ok(plan.skipped.some((s) => s.layer === 'head.1'));
  plan = planPruning(model, { all: true, amount: 0.5, exclude: ['blocks.*'] });
  assert.equal(plan.groups.map((g) => g.root), ['stem.conv', 'down.conv', 'split_conv0.conv']);
  assert.throws(() => planPruning(model, { layer: 'stme', amount: 0.5 }), /no prunable layer matches 'stme'.*close matches: stem/);
  assert.throws(() => planPruning(model, { layers: ['block.*'], amount: 0.5 }), /close matches: blocks/);
  assert.throws(() => planPruning(model, { layer: 'blocks', amount: 0.5 }), /holds 5 prunable layers/);
  assert.throws(() => planPruning(model, { layer: 'stem.bn', amount: 0.5 }), /is a BatchNormalization/);
  assert.throws(() => planPruning(model, { layer: 'head.1', amount: 0.5 }), /output layer/);
  assert.throws(() => planPruning(model, { layer: 'stem' }), /no amount for 'stem.conv'/);
  assert.throws(() => planPruning(model, { all: true, amount: 0.5, exclude: ['nope*'] }), /exclude pattern 'nope\*' matches no layer/);
  assert.throws(() => planPruning(model, { amount: 0.5 }), /nothing to prune/);
  model.dispose();
});

/** Pruned outputs = silenced outputs; parameter counts agree with the plan; output shapes kept. */
function assertExact(model: tf.LayersModel, plan: PrunePlan, input: tf.Tensor, tol = 1e-5) {
  const { model: pruned } = applyPlan(model, plan);
  assert.is(countParams(pruned), countParams(model) - plan.paramsRemoved);
  assert.is(plan.paramsRemoved, plan.groups.reduce((a, g) => a + g.deps.reduce((b, d) => b + d.params, 0), 0));
  const report = checkExactness(model, plan, input, pruned);
  assert.equal(pruned.outputs.map((o) => o.shape), model.outputs.map((o) => o.shape));
  assert.ok(report.maxAbs > 1e-2, `outputs are not trivial (${report.maxAbs})`);
  assert.ok(report.maxAbsDiff < tol, `max |pruned - silenced| = ${report.maxAbsDiff}`);
  // Against the unsilenced original the outputs do change (the check is not vacuous).
  const moved = tf.tidy(() => {
    const a = ([] as tf.Tensor[]).concat(model.predict(input) as tf.Tensor | tf.Tensor[]);
    const b = ([] as tf.Tensor[]).concat(pruned.predict(input) as tf.Tensor | tf.Tensor[]);
    return Math.max(...a.map((x, i) => tf.max(tf.abs(tf.sub(x, b[i]))).dataSync()[0]));
  });
  pruned.dispose();
  input.dispose();
  return moved;
}

const STRATEGIES: Strategy[] = ['independent', 'greedy'];

for (const [name, build, shape] of [
  ['CSP stage with residual adds', cspModel, [2, 8, 8, 4]],
  ['SPP block', sppModel, [2, 6, 6, 3]],
  ['upsample + concat neck', neckModel, [2, 8, 8, 3]],
  ['depthwise / separable / dense chain', depthwiseModel, [2, 8, 8, 3]],
] as [string, () => tf.LayersModel, number[]][]) {
  test(`exactness (${name}): pruned == silenced at all 0.5, both strategies`, () => {
    const model = build();
    randomize(model, 11);
    for (const strategy of STRATEGIES) {
      const plan = planPruning(model, { all: true, amount: 0.5, strategy });
      assert.ok(plan.groups.length > 0);
      const first = plan.groups[0];
      assert.is(first.remove.length, Math.floor(0.5 * first.n));
      const moved = assertExact(model, plan, tf.randomNormal(shape, 0, 1, 'float32', 42));
      assert.ok(moved > 1e-4, 'pruning changed the unsilenced outputs');
    }
    model.dispose();
  });
}

test('silenced copy keeps shapes and zeroes exactly the chosen filters; no tensors leak; original untouched', () => {
  const model = cspModel();
  randomize(model, 3);
  const before = tf.memory().numTensors;
  const snapshot = model.getWeights().map((w) => Array.from(w.dataSync()));
  const plan = planPruning(model, { all: true, amount: 0.5, inputSize: 8 });
  formatPlan(plan);
  buildDependencyGraph(model);
  countFlops(model, 8);
  assert.is(tf.memory().numTensors, before, 'planning allocates no tensors');
  const silenced = silenceChannels(model, plan);
  const stemPlan = plan.groups.find((g) => g.root === 'stem.conv')!;
  const k = silenced.getLayer('stem.conv').getWeights()[0];
  assert.equal(k.shape, [3, 3, 4, 8]);
  const data = k.arraySync() as number[][][][];
  for (let o = 0; o < 8; o++) {
    const sum = data.flat(2).reduce((a, row) => a + Math.abs(row[o]), 0);
    assert.is(sum === 0, stemPlan.remove.includes(o), `filter ${o}`);
  }
  const gamma = silenced.getLayer('stem.bn').getWeights()[0].dataSync();
  stemPlan.remove.forEach((o) => assert.is(gamma[o], 0));
  silenced.dispose();
  const { model: pruned, history } = applyPlan(model, plan);
  assert.is(tf.memory().numTensors, before + pruned.weights.length);
  pruned.dispose();
  assert.is(tf.memory().numTensors, before, 'no tensors left after disposing the pruned model');
  assert.equal(model.getWeights().map((w) => Array.from(w.dataSync())), snapshot, 'original weights unchanged');
  assert.is(history.length, plan.groups.reduce((a, g) => a + g.deps.length, 0));
  assert.equal(Object.keys(history[0]).sort(), ['amount', 'date', 'dim', 'group', 'importance', 'indices', 'layer', 'offset', 'strategy']);
  // FLOPs after, predicted by the plan, equal those of the pruned model.
  const { model: again } = applyPlan(model, plan);
  assert.is(plan.flops!.after, countFlops(again, 8).flops);
  again.dispose();
  model.dispose();
});

test('plan printing lists each dependency with indices, counts and params, then totals', () => {
  const model = neckModel();
  const plan = planPruning(model, { layers: ['upsample.0'], amount: 0.5, inputSize: 8 });
  const text = formatPlan(plan);
  const r = plan.groups[0].remove;
  assert.match(text, `[ upsample.0.conv (dim: out) ] indices=[${r.join(', ')}] (2 of 4) params=-${2 * 8}`);
  assert.match(text, `[ upsample.0.bn (dim: bn) ] indices=[${r.join(', ')}] (2 of 4) params=-4`);
  assert.match(text, `[ five.0.conv (dim: in, offset 11) ] indices=[${r.map((i) => i + 11).join(', ')}] (2 of 4) params=-16`);
  assert.match(text, 'group total params=-36');
  assert.match(text, `Params: ${countParams(model).toLocaleString('en-US')} -> ${(countParams(model) - 36).toLocaleString('en-US')}`);
  assert.match(text, /FLOPs \(2 x multiply-adds\) at 8x8: /);
  model.dispose();
});

test('exactness through PReLU, Conv2DTranspose, pooling, cropping and Conv1D', () => {
  const input = tf.input({ shape: [6, 6, 3], name: 'x' });
  let x = tf.layers.conv2d({ name: 'a', filters: 6, kernelSize: 3, padding: 'same' }).apply(input) as T;
  x = tf.layers.prelu({ name: 'a.prelu' }).apply(x) as T;
  x = tf.layers.conv2dTranspose({ name: 't', filters: 5, kernelSize: 3, strides: 2, padding: 'same' }).apply(x) as T;
  x = tf.layers.batchNormalization({ name: 't.bn' }).apply(x) as T;
  x = tf.layers.reLU({ name: 't.relu' }).apply(x) as T;
  x = tf.layers.averagePooling2d({ name: 'pool', poolSize: 2 }).apply(x) as T;
  x = tf.layers.cropping2D({ name: 'crop', cropping: [[1, 0], [0, 1]] }).apply(x) as T;
  x = tf.layers.conv2d({ name: 'c', filters: 4, kernelSize: 1, activation: 'relu' }).apply(x) as T;
  const model = tf.model({ inputs: input, outputs: head('head.1', x) });
  randomize(model, 21);
  const groups = findGroups(buildDependencyGraph(model));
  assert.equal(memberList(groupOf(groups, 'a')), sorted(['a.prelu:alpha@0+6', 'a:bias@0+6', 'a:out@0+6', 't:in@0+6']));
  assert.equal(memberList(groupOf(groups, 't')), sorted(['c:in@0+5', 't.bn:bn@0+5', 't:bias@0+5', 't:out@0+5']));
  const plan = planPruning(model, { all: true, amount: 0.5 });
  assert.equal(plan.groups.map((g) => g.root), ['a', 't']);
  assert.equal(plan.groups[1].deps.find((d) => d.dim === 'out')!.sliced, [{ weight: 'kernel', axis: 2 }]);
  assertExact(model, plan, tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 4));
  model.dispose();

  const seqIn = tf.input({ shape: [10, 3], name: 's' });
  let y = tf.layers.conv1d({ name: 'c1', filters: 6, kernelSize: 3, activation: 'relu' }).apply(seqIn) as T;
  y = tf.layers.maxPooling1d({ name: 'mp', poolSize: 2 }).apply(y) as T;
  y = tf.layers.conv1d({ name: 'c2', filters: 4, kernelSize: 3, activation: 'relu' }).apply(y) as T;
  y = tf.layers.globalMaxPooling1d({ name: 'gmp' }).apply(y) as T;
  const m1 = tf.model({ inputs: seqIn, outputs: tf.layers.dense({ name: 'o', units: 2 }).apply(y) as T });
  randomize(m1, 8);
  const p1 = planPruning(m1, { layer: 'c1', amount: 0.5 });
  assertExact(m1, p1, tf.randomNormal([3, 10, 3], 0, 1, 'float32', 2));
  m1.dispose();
});

test('Sequential models are pruned too (rebuilt as functional with the same layer names)', () => {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 6, kernelSize: 3, name: 's1', activation: 'relu' }),
      tf.layers.batchNormalization({ name: 's1.bn' }),
      tf.layers.conv2d({ filters: 5, kernelSize: 3, name: 's2', activation: 'relu' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 4, name: 'd1', activation: 'relu' }),
      tf.layers.dense({ units: 3, name: 'd2' }),
    ],
  });
  randomize(model, 5);
  const plan = planPruning(model, { all: true, amount: 0.5 });
  assert.equal(plan.groups.map((g) => g.root), ['s1', 's2']);
  assertExact(model, plan, tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 9));
  model.dispose();
});

test.run();
