import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { loadConfigFile } from '../src/model/config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  applyPlan, countFlops, countParams, formatBudget, planPruning, planToBudget, sensitivitySteps, groupsInScope, type SensitivityTable,
} from '../src/prune/index.ts';
import { planBudgetJob, readSensitivityFile } from '../src/jobs/prune-budget.ts';
import type { PruneJobOptions } from '../src/jobs/prune-options.ts';
import type { Yolov4Config } from '../src/model/config.ts';

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
  // A excluded (its filters stay, so B's inputs too): only B can go, macs(4, 5) = 848 (0.88),
  // macs(4, 4) = 736 (0.77) -> B {0, 1} for 0.8.
  const ex = planToBudget(model, { all: true, target: { metric: 'flops', ratio: 0.8 }, allocation: 'global', exclude: ['A'], inputSize: 4 });
  assert.equal(ex.plan.groups.map((g) => [g.root, g.remove]), [['B', [0, 1]]]);
  assert.equal([ex.moved, ex.inScope], [1, 1]);
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

/**
 * A hand-made table for handNet at ratios 0.25, 0.5, 0.75 (FLOPs = 2 x macs(nA, nB), the group alone):
 *   A: nA 3, 2, 1 -> 1632, 1344, 1056; damage 0.02, 0.10, 0.40
 *   B: nB 5, 3, 2 -> 1696, 1248, 1024; damage 0.01, 0.03, 0.30
 * Damage per FLOP saved of each next step, greedily:
 *   B.25 0.01/224 = 4.5e-5  <  A.25 0.02/288 = 6.9e-5                  -> B 0.25
 *   B.5  0.02/448 = 4.5e-5  <  A.25 6.9e-5                             -> B 0.5
 *   A.25 6.9e-5             <  B.75 0.27/224 = 1.2e-3                  -> A 0.25
 *   A.5  0.08/288 = 2.8e-4  <  B.75                                    -> A 0.5
 *   A.75 0.30/288 = 1.04e-3 <  B.75 1.2e-3                             -> A 0.75, then B 0.75
 */
function handTable(): SensitivityTable {
  const pts = (flops: number[], damage: number[]) => [0.25, 0.5, 0.75].map((ratio, i) => ({ ratio, damage: damage[i], flops: flops[i], params: 0 }));
  return {
    baseline: { flops: 1920, params: 60 },
    curves: [
      { group: 'A', n: 4, points: pts([1632, 1344, 1056], [0.02, 0.10, 0.40]) },
      { group: 'B', n: 6, points: pts([1696, 1248, 1024], [0.01, 0.03, 0.30]) },
    ],
  };
}

test('sensitivity: the greedy steps of a hand-made table (hand computation)', () => {
  const model = handNet();
  assert.equal([macs(3, 6), macs(2, 6), macs(1, 6), macs(4, 5), macs(4, 3), macs(4, 2)].map((m) => 2 * m), [1632, 1344, 1056, 1696, 1248, 1024]);
  const groups = groupsInScope(model, { all: true });
  const steps = sensitivitySteps(groups, handTable(), 'flops');
  assert.equal(steps.map((s) => [s.group, s.ratio]), [['B', 0.25], ['B', 0.5], ['A', 0.25], ['A', 0.5], ['A', 0.75], ['B', 0.75]]);
  // Target 0.6 x 1920 = 1152. After B 0.5: macs(4, 3) = 624 -> 0.65; after A 0.25 too: macs(3, 3) = 528 -> 0.55.
  const r = planToBudget(model, { all: true, target: { metric: 'flops', ratio: 0.6 }, allocation: 'sensitivity', sensitivity: handTable(), inputSize: 4 });
  assert.equal(r.amounts, { B: 0.5, A: 0.25 });
  assert.equal(r.plan.groups.map((g) => [g.root, g.remove]), [['A', [0]], ['B', [0, 1, 2]]]);
  assert.is(r.reached, 528 / 960);
  // 0.7: B 0.5 alone (0.65); A is left alone.
  const r7 = planToBudget(model, { all: true, target: { metric: 'flops', ratio: 0.7 }, allocation: 'sensitivity', sensitivity: handTable(), inputSize: 4 });
  assert.equal(r7.amounts, { B: 0.5 });
  assert.is(r7.moved, 1);
  // 0.77: the step B 0.25 -> 0.5 (channels 1 -> 3) is walked one channel at a time: B loses 2
  // (macs(4, 4) = 736 -> 0.767), not the whole step's 3.
  const r77 = planToBudget(model, { all: true, target: { metric: 'flops', ratio: 0.77 }, allocation: 'sensitivity', sensitivity: handTable(), inputSize: 4 });
  assert.equal(r77.amounts, { B: 2 / 6 });
  assert.is(r77.reached, 736 / 960);
  // Every step taken: A 0.75, B 0.75 -> macs(1, 2) = 176; below is unreachable.
  try {
    planToBudget(model, { all: true, target: { metric: 'flops', ratio: 0.1 }, allocation: 'sensitivity', sensitivity: handTable(), inputSize: 4 });
    assert.unreachable('should throw');
  } catch (e) {
    assert.match((e as Error).message, `the smallest reachable value is ${Math.ceil((macs(1, 2) / 960) * 1e4) / 1e4} of the FLOPs`);
  }
  model.dispose();
});

test('sensitivity: a table of another model is refused, naming the first mismatch', () => {
  const model = handNet();
  const run = (t: SensitivityTable) => planToBudget(model, { all: true, target: { metric: 'flops', ratio: 0.6 }, allocation: 'sensitivity', sensitivity: t, inputSize: 4 });
  const other = handTable();
  other.curves[0].group = 'Z';
  assert.throws(() => run(other), (e: Error) => /its group 'Z' is not a group of 'hand'/.test(e.message) && (e as unknown as { exitCode: number }).exitCode === 2);
  const wider = handTable();
  wider.curves[1].n = 8;
  assert.throws(() => run(wider), /group 'B' has 8 channels in the table but 6 in 'hand'/);
  assert.throws(() => planToBudget(model, { all: true, target: { metric: 'flops', ratio: 0.6 }, allocation: 'sensitivity', inputSize: 4 }), /needs a sensitivity table/);
  model.dispose();
});

test('sensitivity.json (mAP metric) read back as curves: damage = baseline AP50 - AP50', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'yolo4-budget-'));
  try {
    const row = (group: string, n: number, ratio: number, flops: number, AP50: number) => ({ group, n, ratio, removed: Math.floor(ratio * n), params: 50, flops, AP50, AP: 0.1, outputChange: null, seconds: 0 });
    const file = path.join(dir, 'sensitivity.json');
    writeFileSync(file, JSON.stringify({
      metric: 'map', modelName: 'hand', baseline: row('(unpruned)', 0, 0, 1920, 0.5), groups: ['A'], ratios: [0.5],
      rows: [row('A', 4, 0.5, 1344, 0.4)],
    }));
    const t = await readSensitivityFile(file);
    assert.equal(t.baseline, { flops: 1920, params: 50 });
    assert.is(t.curves.length, 1);
    assert.is(t.curves[0].n, 4);
    assert.ok(Math.abs(t.curves[0].points[0].damage - 0.1) < 1e-12);
    writeFileSync(file, JSON.stringify({ rows: 3 }));
    await readSensitivityFile(file).then(() => assert.unreachable('should throw'), (e: Error) => assert.match(e.message, 'is not a sensitivity.json'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--target-speedup: FLOPs lowered round by round until the measured speed-up is reached', async () => {
  const model = handNet();
  // A fake clock: 10 ms of overhead plus 1 ms per 100 FLOPs, so 1/S of the FLOPs is not S times faster.
  const measure = async (m: tf.LayersModel) => 10 + countFlops(m, 4).flops / 100;
  const lines: string[] = [];
  const o = { all: true, targetSpeedup: 1.5, allocation: 'global', strategy: 'greedy', importance: 'l1', roundTo: 1, minChannels: 1, groupReduction: 'root', seed: 0 } as unknown as PruneJobOptions;
  const r = await planBudgetJob(model, {} as Yolov4Config, o, 4, (l) => lines.push(l), measure);
  const before = 10 + 1920 / 100;
  assert.ok(r.speedup!.reached >= 1.5, String(r.speedup!.reached));
  assert.is(r.speedup!.afterMs, 10 + r.plan.flops!.after / 100);
  assert.is(r.speedup!.beforeMs, before);
  // Round 1 aims at 1/1.5 of the FLOPs, which is not fast enough with the overhead: at least two rounds.
  assert.ok(lines.filter((l) => l.startsWith('speed-up round')).length >= 2, lines.join('\n'));
  model.dispose();
});

test.run();
