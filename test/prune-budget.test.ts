import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { loadConfigFile } from '../src/model/config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { applyPlan, countFlops, countParams, formatBudget, planPruning, planToBudget } from '../src/prune/index.ts';

type T = tf.SymbolicTensor;

/**
 * x (4x4x3) -> A: 1x1 conv 3->4 -> B: 1x1 conv 4->6 -> C: 1x1 conv 6->3 -> D: 1x1 conv 3->2 (the
 * output head: never pruned, so C keeps its filters). Prunable groups: A (4) and B (6). No biases.
 * MACs = 16 x (3 nA + nA nB + 3 nB + 6): 960 unpruned.
 * L1 of A's filters: 1, 2, 3, 6 (mean 3, normalised 1/3, 2/3, 1, 2).
 * L1 of B's filters: 4, 4, 16, 16, 20, 36 (mean 16, normalised 0.25, 0.25, 1, 1, 1.25, 2.25),
 * uniform over B's inputs, so removing A's channels does not reorder B's (greedy = independent).
 */
function handNet(): tf.LayersModel {
  const input = tf.input({ shape: [4, 4, 3], name: 'x' });
  const conv = (name: string, filters: number, x: T) => tf.layers.conv2d({ name, filters, kernelSize: 1, useBias: false }).apply(x) as T;
  const model = tf.model({ name: 'hand', inputs: input, outputs: conv('D', 2, conv('C', 3, conv('B', 6, conv('A', 4, input)))) });
  const A = [[0.5, 1, 1, 2], [0.25, 0.5, 1, 2], [0.25, 0.5, 1, 2]]; // rows: inputs, columns: filters
  const bCol = [1, 1, 4, 4, 5, 9];
  model.getLayer('A').setWeights([tf.tensor4d([[A]], [1, 1, 3, 4])]);
  model.getLayer('B').setWeights([tf.tensor4d([[Array.from({ length: 4 }, () => bCol)]], [1, 1, 4, 6])]);
  model.getLayer('C').setWeights([tf.ones([1, 1, 6, 3])]);
  model.getLayer('D').setWeights([tf.ones([1, 1, 3, 2])]);
  return model;
}
const macs = (nA: number, nB: number) => 16 * (3 * nA + nA * nB + 3 * nB + 6);

test('hand network: the MACs formula is the cost counter\'s', () => {
  const model = handNet();
  assert.is(countFlops(model, 4).flops, 2 * macs(4, 6));
  model.dispose();
});

test('global: channels ranked across groups by normalised L1, least important first (hand computation)', () => {
  const model = handNet();
  // Global order: B0 .25, B1 .25, A0 .33, A1 .67, A2 1, B2 1, B3 1, ... Cost after each removal:
  // B0 848, B1 736, A0 624, A1 512. Target 0.55 x 960 = 528: four channels, A {0, 1} and B {0, 1}.
  assert.equal([macs(4, 5), macs(4, 4), macs(3, 4), macs(2, 4)], [848, 736, 624, 512]);
  for (const strategy of ['independent', 'greedy'] as const) {
    const r = planToBudget(model, { all: true, target: { metric: 'flops', ratio: 0.55 }, allocation: 'global', strategy, inputSize: 4 });
    assert.equal(r.plan.groups.map((g) => [g.root, g.remove]), [['A', [0, 1]], ['B', [0, 1]]], strategy);
    assert.is(r.plan.flops!.after, 2 * 512);
    assert.is(r.reached, 512 / 960);
    assert.equal(r.amounts, { A: 2 / 4, B: 2 / 6 });
    assert.is(r.moved, 2);
    // Raw L1 (not normalised) would have taken A's three weakest filters instead (528).
  }
  // With minChannels 3, A can lose one filter and B three: B0, B1, A0, then B2 (A1, A2 are blocked):
  // A 3 x B 3 = 528 <= 528.
  const m3 = planToBudget(model, { all: true, target: { metric: 'flops', ratio: 0.55 }, allocation: 'global', minChannels: 3, inputSize: 4 });
  assert.equal(m3.plan.groups.map((g) => [g.root, g.remove]), [['A', [0]], ['B', [0, 1, 2]]]);
  // The amounts reproduce the plan through planPruning's `amounts`.
  const again = planPruning(model, { amounts: m3.amounts, minChannels: 3, inputSize: 4 });
  assert.equal(again.groups.map((g) => g.remove), m3.plan.groups.map((g) => g.remove));
  model.dispose();
});

test('unreachable target: a usage error naming the smallest reachable value', () => {
  const model = handNet();
  // minChannels 3: at most A 3, B 3 -> 528 / 960 = 0.55.
  for (const allocation of ['uniform', 'global'] as const) {
    try {
      planToBudget(model, { all: true, target: { metric: 'flops', ratio: 0.5 }, allocation, minChannels: 3, inputSize: 4 });
      assert.unreachable('should throw');
    } catch (e) {
      assert.is((e as { exitCode?: number }).exitCode, 2);
      assert.match((e as Error).message, 'target-flops 0.5 cannot be reached');
      assert.match((e as Error).message, 'the smallest reachable value is 0.55 of the FLOPs');
    }
  }
  model.dispose();
});

test('uniform: bisection meets a FLOPs target within one channel per group (small model)', () => {
  const model = buildYolov4(loadConfigFile('configs/yolov4-small.json'));
  const before = countFlops(model, 256).flops;
  for (const ratio of [0.5, 0.7]) {
    const r = planToBudget(model, { all: true, target: { metric: 'flops', ratio }, allocation: 'uniform', inputSize: 256 });
    assert.ok(r.plan.flops!.after <= ratio * before, `${ratio}: reached ${r.reached}`);
    // One amount for all groups.
    assert.is(new Set(Object.values(r.amounts)).size, 1);
    // One channel fewer in every group that lost some: the target is missed.
    const lighter = Object.fromEntries(r.plan.groups.map((g) => [g.root, (g.remove.length - 1) / g.n]));
    const p = planPruning(model, { amounts: lighter, inputSize: 256, importance: 'random' });
    assert.ok(p.flops!.after > ratio * before, `${ratio}: ${p.flops!.after / before}`);
    assert.match(formatBudget(r), `Budget: keep ${ratio} of the FLOPs`);
    assert.match(formatBudget(r), `${r.moved} of ${r.inScope} groups moved`);
  }
  // The plan's count is the pruned model's.
  const r = planToBudget(model, { all: true, target: { metric: 'params', ratio: 0.6 }, allocation: 'global', inputSize: 256 });
  const { model: pruned } = applyPlan(model, r.plan);
  assert.is(countParams(pruned), r.plan.paramsAfter);
  assert.ok(r.plan.paramsAfter <= 0.6 * countParams(model));
  pruned.dispose();
  model.dispose();
});

test.run();
