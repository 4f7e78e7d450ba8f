import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { applyPlan, countParams, countToRemove, planPruning, selectLowest } from '../src/prune/index.ts';

const backendModule = './_backend.ts';
if (existsSync(new URL(backendModule, import.meta.url))) await import(backendModule);

test('count removed is exactly floor(amount * n), never all', () => {
  assert.is(countToRemove(512, 0.4), 204); // 204.8
  assert.is(countToRemove(1024, 0.4), 409); // 409.6
  assert.is(countToRemove(10, 0.25), 2);
  assert.is(countToRemove(100, 0.29), 29); // 0.29 * 100 = 28.999999999999996 in floats
  assert.is(countToRemove(3, 0.5), 1);
  assert.is(countToRemove(7, 0), 0);
  assert.is(countToRemove(5, 1), 4); // at least one kept
  assert.is(countToRemove(1, 0.9), 0);
  assert.is(countToRemove(8, 0.9, { fixed: 6 }), 2); // only 2 candidates
  assert.throws(() => countToRemove(8, 1.5), /amount must be in \[0, 1\]/);
  assert.throws(() => countToRemove(8, -0.1), /amount/);
});

test('minChannels: groups keep at least that many channels; narrower groups are left alone', () => {
  assert.is(countToRemove(16, 0.5, { minChannels: 8 }), 8); // 16 -> 8: the floor is not in the way
  assert.is(countToRemove(12, 0.5, { minChannels: 8 }), 4); // 12 -> 6 would go below 8: 12 -> 8
  assert.is(countToRemove(8, 0.5, { minChannels: 8 }), 0); // already at the floor
  assert.is(countToRemove(4, 0.5, { minChannels: 8 }), 0); // below it: untouched
  assert.is(countToRemove(64, 0.95, { roundTo: 8, minChannels: 16 }), 48); // kept 8 by roundTo, raised to 16
  assert.throws(() => countToRemove(8, 0.5, { minChannels: 0 }), /minChannels/);
});

test('roundTo keeps a multiple of K (nearest, >= K, <= n)', () => {
  assert.is(countToRemove(64, 0.3, { roundTo: 8 }), 16); // kept 45 -> 48
  assert.is(countToRemove(64, 0.95, { roundTo: 8 }), 56); // kept 4 -> 8 (at least K)
  assert.is(countToRemove(20, 0.1, { roundTo: 8 }), 4); // kept 18 -> 16
  assert.is(countToRemove(20, 0.3, { roundTo: 8 }), 4); // kept 14 -> 16
  assert.is(countToRemove(36, 0.1, { roundTo: 8 }), 4); // kept 33 -> 32
  assert.is(countToRemove(12, 0.1, { roundTo: 8 }), 4); // kept 11 -> 8 (16 > 12)
  assert.is(countToRemove(6, 0.5, { roundTo: 8 }), 0); // narrower than K: left alone
  assert.is(countToRemove(12, 0, { roundTo: 8 }), 0); // nothing requested, nothing removed
  assert.is(countToRemove(24, 0.5, { roundTo: 8 }), 8); // kept 12 -> 1.5 rounds up to 16
});

test('selection: lowest scores, ties remove the lower index first, fixed never chosen', () => {
  assert.equal(selectLowest([5, 1, 3, 1, 0], 2), [1, 4]);
  assert.equal(selectLowest([2, 2, 2, 2], 2), [0, 1]);
  assert.equal(selectLowest([1, 0, 1, 0, 1], 3), [0, 1, 3]);
  assert.equal(selectLowest([0, 1, 2, 3], 2, [0]), [1, 2]);
  assert.equal(selectLowest([3, 2, 1], 0), []);
});

/**
 * input -> A: 1x1 conv 3->4 -> B: 1x1 conv 4->3 -> C: 1x1 conv 3->2 -> D: 1x1 conv 2->2 (output head,
 * never pruned, nor are its inputs: C stays whole). No biases.
 */
function abc(): tf.LayersModel {
  const input = tf.input({ shape: [2, 2, 3], name: 'x' });
  const a = tf.layers.conv2d({ name: 'A', filters: 4, kernelSize: 1, useBias: false }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ name: 'B', filters: 3, kernelSize: 1, useBias: false }).apply(a) as tf.SymbolicTensor;
  const c = tf.layers.conv2d({ name: 'C', filters: 2, kernelSize: 1, useBias: false }).apply(b) as tf.SymbolicTensor;
  const d = tf.layers.conv2d({ name: 'D', filters: 2, kernelSize: 1, useBias: false }).apply(c) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: d, name: 'abcd' });
  // A[0,0,i,o]: filter o over inputs i. L1: f0 0.3 (smallest), f1 3, f2 6, f3 3.5.
  const A = [
    [0.1, 1, 2, 1],
    [-0.1, 1, -2, -1.5],
    [0.1, 1, 2, 1],
  ];
  // B[0,0,i,o]: columns are B's filters, rows its input channels (= A's filters).
  //   filter 0 = [10, 1, 1, 1]: independent 13, greedy (A's channel 0 removed) 3
  //   filter 1 = [ 0, 3, 3, 3]: independent  9, greedy 9
  //   filter 2 = [ 1, 4, 4, 4]: independent 13, greedy 12
  // so at one filter removed, independent drops B's filter 1, greedy drops filter 0.
  const B = [
    [10, 0, 1],
    [1, 3, 4],
    [1, 3, -4],
    [-1, 3, 4],
  ];
  model.getLayer('A').setWeights([tf.tensor4d([[A]], [1, 1, 3, 4])]);
  model.getLayer('B').setWeights([tf.tensor4d([[B]], [1, 1, 4, 3])]);
  model.getLayer('C').setWeights([tf.ones([1, 1, 3, 2])]);
  model.getLayer('D').setWeights([tf.ones([1, 1, 2, 2])]);
  return model;
}

test('independent vs greedy pick different filters of B (hand-computed)', () => {
  const model = abc();
  // amount 0.34: A loses floor(1.36) = 1 filter, B floor(1.02) = 1.
  const ind = planPruning(model, { layers: ['A', 'B'], amount: 0.34, strategy: 'independent' });
  const gre = planPruning(model, { layers: ['B', 'A'], amount: 0.34, strategy: 'greedy' }); // order = topological anyway
  for (const plan of [ind, gre]) {
    assert.equal(plan.groups.map((g) => g.root), ['A', 'B']);
    assert.equal(plan.groups[0].remove, [0]); // A's filter 0 (L1 0.3)
    // A's group: A out, B in.
    assert.equal(plan.groups[0].deps.map((d) => [d.layer, d.dim, d.indices]), [['A', 'out', [0]], ['B', 'in', [0]]]);
  }
  assert.equal(ind.groups[1].remove, [1]);
  assert.equal(gre.groups[1].remove, [0]);
  assert.equal(gre.groups[1].deps.map((d) => [d.layer, d.dim, d.indices]), [['B', 'out', [0]], ['C', 'in', [0]]]);
  // Parameters: A out 1x3, B in 1x3; then B out 1x3 (B has 3 inputs left), C in 1x2.
  assert.equal(gre.groups.map((g) => g.deps.map((d) => d.params)), [[3, 3], [3, 2]]);
  const { model: pruned } = applyPlan(model, gre);
  assert.is(countParams(pruned), countParams(model) - gre.paramsRemoved);
  assert.is(countParams(model) - 11, countParams(pruned));
  // Surviving weights of B: inputs 1..3, filters 1..2.
  const b = pruned.getLayer('B').getWeights()[0];
  assert.equal(b.shape, [1, 1, 3, 2]);
  assert.equal(Array.from(b.dataSync()), [3, 4, 3, -4, 3, 4]);
  pruned.dispose();
  model.dispose();
});

test('l2 and bn-scale importance, random is seeded', () => {
  const input = tf.input({ shape: [4, 4, 2], name: 'x' });
  let x = tf.layers.conv2d({ name: 'c1', filters: 4, kernelSize: 1, useBias: false }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ name: 'c2', filters: 3, kernelSize: 1 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ name: 'head', filters: 2, kernelSize: 1 }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x });
  // Filters (over the 2 inputs): f0 = (1, 1): L1 2, L2 1.41; f1 = (1.8, 0): L1 1.8, L2 1.8; f2 = (3, 0); f3 = (4, 0).
  model.getLayer('c1').setWeights([tf.tensor4d([[[[1, 1.8, 3, 4], [1, 0, 0, 0]]]], [1, 1, 2, 4])]);
  model.getLayer('bn1').setWeights([tf.tensor1d([0.5, -0.1, 2, 1]), tf.zeros([4]), tf.zeros([4]), tf.ones([4])]);
  const pick = (importance: 'l1' | 'l2' | 'bn-scale' | 'random', seed = 0) =>
    planPruning(model, { layer: 'c1', amount: 0.25, importance, seed }).groups[0].remove;
  assert.equal(pick('l1'), [1]);
  assert.equal(pick('l2'), [0]);
  assert.equal(pick('bn-scale'), [1]); // |gamma| = 0.1
  assert.equal(pick('random', 7), pick('random', 7));
  const picks = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((s) => pick('random', s)[0]));
  assert.ok(picks.size > 1, 'different seeds give different picks');
  model.dispose();
});

test.run();
