/**
 * How a budget is spread over the groups (`allocation`). Each allocation is a ladder: rung 0 prunes
 * nothing, every next rung prunes at least as much of every group, and the last rung prunes as much as
 * the allocation ever would. budget.ts climbs it by bisection until the target is met, so an
 * allocation only says in what ORDER channels go, never how many.
 *
 * - `uniform`: the same amount for every group (today's `--amount`); the rungs are every amount at
 *   which some group loses one more channel (all k/n), so consecutive rungs differ by at most one
 *   channel per group.
 * - `global`: every channel of every group in one ranking, by its importance divided by the mean
 *   importance of its group (so a wide layer's small filters and a narrow layer's small filters
 *   compare), least important first; a group stops losing channels at `minChannels`. Ranked on the
 *   original weights (the `independent` scores); with the `greedy` strategy the plan then picks
 *   which channels of each group on the shrinking network, as always.
 * - `sensitivity`: Li et al.'s sensitivity curves (accuracy vs. fraction removed, each group pruned
 *   alone). Steps (group, its next ratio) are taken greedily: the smallest damage per unit of cost
 *   saved (FLOPs or parameters) among every group's next step; the rungs walk each step one channel at
 *   a time. Steep curves are taken last or never: the sensitive layers are left alone, as in the paper.
 */
import type * as tf from '@tensorflow/tfjs';
import { scoreGroup } from './importance.ts';
import { countToRemove } from './select.ts';
import type { DependencyGraph, GroupReduction, Importance, PruneGroup } from './types.ts';
import { PruneOptionError } from './errors.ts';

export type Allocation = 'uniform' | 'global' | 'sensitivity';
export const ALLOCATIONS: readonly Allocation[] = ['uniform', 'global', 'sensitivity'];

/** Amounts per group root (only the groups that lose something). */
export type GroupAmounts = Record<string, number>;

export interface AllocationLadder {
  /** Index of the last rung (rung 0 = nothing pruned). */
  top: number;
  amountsAt(rung: number): GroupAmounts;
}

/** A cost of the network (FLOPs or parameters). */
export type CostMetric = 'flops' | 'params';

/** One group's sensitivity curve: the damage and the network's cost when it alone is pruned at each ratio. */
export interface SensitivityCurve {
  group: string;
  /** The group's channel count when the curve was measured. */
  n: number;
  /** damage: metric lost vs. the unpruned network (higher = worse); flops / params of the whole network. */
  points: { ratio: number; damage: number; flops: number; params: number }[];
}

export interface SensitivityTable {
  /** Cost of the unpruned network the curves were measured on. */
  baseline: { flops: number; params: number };
  curves: SensitivityCurve[];
}

/** Largest number of channels a group may lose (all but minChannels and its fixed ones). */
function maxRemovable(g: PruneGroup, minChannels: number | undefined): number {
  return countToRemove(g.n, 1, { fixed: g.fixed.length, minChannels });
}

export function uniformLadder(groups: PruneGroup[], minChannels: number | undefined): AllocationLadder {
  const amounts = new Set<number>();
  for (const g of groups) for (let k = 1; k <= maxRemovable(g, minChannels); k++) amounts.add(k / g.n);
  const rungs = [...amounts].sort((a, b) => a - b);
  return {
    top: rungs.length,
    amountsAt: (rung) => (rung === 0 ? {} : Object.fromEntries(groups.map((g) => [g.root, rungs[rung - 1]]))),
  };
}

export interface GlobalRankingContext {
  model: tf.LayersModel;
  graph: DependencyGraph;
  importance: Importance;
  reduction: GroupReduction;
  seed: number;
}

/** Channels in global order: each group's scores divided by their mean over the group's removable channels. */
export function globalOrder(groups: PruneGroup[], ctx: GlobalRankingContext, minChannels: number | undefined): { group: number; channel: number; score: number }[] {
  const entries: { group: number; channel: number; score: number }[] = [];
  groups.forEach((g, gi) => {
    const scores = scoreGroup(g, { ...ctx, removedIn: null });
    const fixed = new Set(g.fixed);
    const free = [...scores.keys()].filter((c) => !fixed.has(c));
    const mean = free.reduce((a, c) => a + scores[c], 0) / Math.max(1, free.length);
    const mine = free.map((c) => ({ group: gi, channel: c, score: mean > 0 ? scores[c] / mean : 0 }));
    // Only the group's lowest channels can ever go: all but minChannels (ties: lower index first, as select.ts).
    mine.sort((a, b) => a.score - b.score || a.channel - b.channel);
    entries.push(...mine.slice(0, maxRemovable(g, minChannels)));
  });
  return entries.sort((a, b) => a.score - b.score || a.group - b.group || a.channel - b.channel);
}

export function globalLadder(groups: PruneGroup[], ctx: GlobalRankingContext, minChannels: number | undefined): AllocationLadder {
  const order = globalOrder(groups, ctx, minChannels);
  return {
    top: order.length,
    amountsAt: (rung) => {
      const counts = new Array<number>(groups.length).fill(0);
      for (let i = 0; i < rung; i++) counts[order[i].group]++;
      const out: GroupAmounts = {};
      groups.forEach((g, gi) => { if (counts[gi] > 0) out[g.root] = counts[gi] / g.n; });
      return out;
    },
  };
}

/**
 * The greedy steps of the sensitivity allocation, in order: each is (group root, ratio), the step with
 * the smallest damage per cost saved among every group's next point; ties go to the earlier group.
 * Points that save nothing (too narrow a group for the ratio) are merged into the next one.
 */
export function sensitivitySteps(groups: PruneGroup[], table: SensitivityTable, metric: CostMetric): { group: string; ratio: number; efficiency: number }[] {
  const curves = new Map(table.curves.map((c) => [c.group, c]));
  const ladders: { root: string; points: { ratio: number; damage: number; cost: number }[]; at: number }[] = [];
  for (const g of groups) {
    const c = curves.get(g.root);
    if (!c) continue;
    let last = { ratio: 0, damage: 0, cost: table.baseline[metric] };
    const points = [last];
    for (const p of [...c.points].sort((a, b) => a.ratio - b.ratio)) {
      if (p.ratio <= 0 || !(p[metric] < last.cost)) continue;
      points.push((last = { ratio: p.ratio, damage: p.damage, cost: p[metric] }));
    }
    ladders.push({ root: g.root, points, at: 0 });
  }
  const steps: { group: string; ratio: number; efficiency: number }[] = [];
  for (;;) {
    let best: (typeof ladders)[number] | undefined;
    let bestEff = Infinity;
    for (const l of ladders) {
      if (l.at + 1 >= l.points.length) continue;
      const from = l.points[l.at];
      const to = l.points[l.at + 1];
      const eff = (to.damage - from.damage) / (from.cost - to.cost);
      if (best === undefined || eff < bestEff) {
        best = l;
        bestEff = eff;
      }
    }
    if (!best) return steps;
    best.at++;
    steps.push({ group: best.root, ratio: best.points[best.at].ratio, efficiency: bestEff });
  }
}

/**
 * The sensitivity ladder climbs each step one channel at a time (amounts k/n from the previous
 * ratio's count to the step's), so the budget stops inside a step instead of overshooting by a
 * whole ratio of a wide group.
 */
export function sensitivityLadder(groups: PruneGroup[], table: SensitivityTable, metric: CostMetric): AllocationLadder {
  const widthOf = new Map(groups.map((g) => [g.root, g.n]));
  const count = (ratio: number, n: number) => Math.floor(ratio * n + 1e-9);
  const rungs: { group: string; amount: number }[] = [];
  const reached = new Map<string, number>();
  for (const step of sensitivitySteps(groups, table, metric)) {
    const n = widthOf.get(step.group)!;
    const from = reached.get(step.group) ?? 0;
    const to = count(step.ratio, n);
    for (let k = from + 1; k <= to; k++) rungs.push({ group: step.group, amount: k / n });
    reached.set(step.group, Math.max(from, to));
  }
  return {
    top: rungs.length,
    amountsAt: (rung) => {
      const out: GroupAmounts = {};
      for (let i = 0; i < rung; i++) out[rungs[i].group] = rungs[i].amount;
      return out;
    },
  };
}

/**
 * A table measured on another model is refused, naming the first mismatch: a group the model does
 * not have, or one of another width. Groups of the model missing from the table are left alone.
 */
export function checkSensitivityTable(table: SensitivityTable, allGroups: PruneGroup[], modelName: string): void {
  const byRoot = new Map(allGroups.map((g) => [g.root, g]));
  for (const c of table.curves) {
    const g = byRoot.get(c.group);
    if (!g) throw new PruneOptionError(`the sensitivity table is for another model: its group '${c.group}' is not a group of '${modelName}'`);
    if (g.n !== c.n) throw new PruneOptionError(`the sensitivity table is for another model: group '${c.group}' has ${c.n} channels in the table but ${g.n} in '${modelName}'`);
  }
}
