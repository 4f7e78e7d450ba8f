/**
 * Pruning to a budget: keep a fraction of the network's FLOPs or parameters instead of naming an
 * amount. The allocation (allocate.ts) orders what goes; this file finds, by bisection on that
 * order, the first plan that meets the target, and plans it with the usual strategy and importance.
 *
 *   const r = planToBudget(model, { all: true, target: { metric: 'flops', ratio: 0.5 }, allocation: 'global', inputSize: 416 });
 *   console.log(formatPlan(r.plan)); console.log(formatBudget(r));
 *   // r.amounts: the per-group amounts chosen, a valid `amounts` for planPruning (keys are group roots)
 *
 * Costs are the plan's own (planPruning counts them with model/cost.ts). They depend only on how many
 * channels each group loses, not which, so the probes of the bisection rank with the cheap `random`
 * importance and only the final plan ranks for real. A target below what the allocation can reach
 * (every group down to minChannels, or every step of the sensitivity table taken) is a
 * PruneOptionError naming the smallest reachable value.
 */
import type * as tf from '@tensorflow/tfjs';
import {
  ALLOCATIONS, checkSensitivityTable, globalLadder, sensitivityLadder, uniformLadder,
  type Allocation, type AllocationLadder, type CostMetric, type GroupAmounts, type SensitivityTable,
} from './allocate.ts';
import { buildDependencyGraph } from './graph.ts';
import { findGroups } from './groups.ts';
import { groupsInScope, planPruning, type PlanOptions } from './plan.ts';
import type { PrunePlan } from './types.ts';
import { PruneOptionError } from './errors.ts';

export interface BudgetTarget {
  metric: CostMetric;
  /** Fraction of the reference cost to keep, in (0, 1]. */
  ratio: number;
}

export interface BudgetOptions extends Omit<PlanOptions, 'amount' | 'amounts'> {
  target: BudgetTarget;
  allocation?: Allocation;
  /** Needed by the `sensitivity` allocation. */
  sensitivity?: SensitivityTable;
  /** Cost the ratio is a fraction of (default: the model's own); iterative steps aim at a fraction of the original. */
  reference?: number;
}

export interface BudgetResult {
  plan: PrunePlan;
  /** Per group root, the amount planned (groups that lose nothing are left out). */
  amounts: GroupAmounts;
  target: BudgetTarget;
  allocation: Allocation;
  reference: number;
  /** Cost after the plan, and as a fraction of the reference. */
  cost: number;
  reached: number;
  /** Groups that lose channels, of the groups in scope. */
  moved: number;
  inScope: number;
}

const WHAT: Record<CostMetric, string> = { flops: 'FLOPs', params: 'parameters' };

export function planToBudget(model: tf.LayersModel, opts: BudgetOptions): BudgetResult {
  const allocation = opts.allocation ?? 'uniform';
  if (!ALLOCATIONS.includes(allocation)) throw new PruneOptionError(`unknown allocation '${allocation}' (${ALLOCATIONS.join(', ')})`);
  const { metric, ratio } = opts.target;
  if (metric !== 'flops' && metric !== 'params') throw new PruneOptionError(`unknown target metric '${metric}' (flops, params)`);
  if (!(ratio > 0 && ratio <= 1)) throw new PruneOptionError(`target-${metric} must be in (0, 1], got ${ratio}`);
  if (metric === 'flops' && opts.inputSize === undefined) throw new PruneOptionError('a FLOPs target needs inputSize');
  const graph = opts.graph ?? buildDependencyGraph(model, { passThrough: opts.passThrough });
  const base: PlanOptions = { ...opts, graph };
  const groups = groupsInScope(model, base);

  let ladder: AllocationLadder;
  if (allocation === 'uniform') {
    ladder = uniformLadder(groups, opts.minChannels);
  } else if (allocation === 'global') {
    ladder = globalLadder(groups, {
      model, graph, importance: opts.importance ?? 'l1', reduction: opts.groupReduction ?? 'root', seed: opts.seed ?? 0,
    }, opts.minChannels);
  } else {
    if (!opts.sensitivity) throw new PruneOptionError('the sensitivity allocation needs a sensitivity table');
    checkSensitivityTable(opts.sensitivity, findGroups(graph, { includeUnprunable: true, pruneOutputInputs: opts.pruneOutputInputs }), graph.modelName);
    ladder = sensitivityLadder(groups, opts.sensitivity, metric);
  }

  const costOf = (plan: PrunePlan) => (metric === 'flops' ? plan.flops!.after : plan.paramsAfter);
  const plan = (amounts: GroupAmounts, probe: boolean) => planPruning(model, {
    ...base, amount: 0, amounts: nonEmpty(amounts, groups[0]?.root), layer: undefined, layers: undefined, all: undefined,
    ...(probe ? { importance: 'random' as const, strategy: 'independent' as const } : {}),
  });
  const first = plan({}, true);
  const reference = opts.reference ?? costOf(first);
  const reachedAt = (rung: number) => costOf(plan(ladder.amountsAt(rung), true)) / reference;
  const meets = (r: number) => r <= ratio;

  let lo = 0;
  let hi = ladder.top;
  if (meets(costOf(first) / reference)) {
    hi = 0;
  } else {
    const smallest = groups.length ? reachedAt(hi) : 1;
    if (!meets(smallest)) {
      const bounds = [`allocation ${allocation}`, `minChannels ${opts.minChannels ?? 1}`, ...(opts.exclude?.length ? [`exclude ${opts.exclude.join(' ')}`] : [])];
      throw new PruneOptionError(`target-${metric} ${ratio} cannot be reached (${bounds.join(', ')}, ${groups.length} groups in scope): the smallest reachable value is ${ceil4(smallest)} of the ${WHAT[metric]}`);
    }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (meets(reachedAt(mid))) hi = mid;
      else lo = mid;
    }
  }
  const amounts = ladder.amountsAt(hi);
  const final = plan(amounts, false);
  const cost = costOf(final);
  return {
    plan: final, amounts, target: opts.target, allocation, reference, cost, reached: cost / reference,
    moved: final.groups.filter((g) => g.remove.length > 0).length, inScope: groups.length,
  };
}

/** planPruning needs a scope: with nothing to remove, the first group at amount 0. */
function nonEmpty(amounts: GroupAmounts, someRoot: string | undefined): GroupAmounts {
  return Object.keys(amounts).length || someRoot === undefined ? amounts : { [someRoot]: 0 };
}

/** Rounded up, so that the value printed is reachable. */
const ceil4 = (x: number) => Math.ceil(x * 1e4) / 1e4;

/** The budget lines printed after the plan: target, what was reached, how many groups moved. */
export function formatBudget(r: BudgetResult): string {
  const what = WHAT[r.target.metric];
  const unit = (v: number) => (r.target.metric === 'flops' ? `${(v / 1e9).toFixed(3)} G` : Math.round(v).toLocaleString('en-US'));
  return [
    `Budget: keep ${Number(r.target.ratio.toPrecision(4))} of the ${what} (${unit(r.target.ratio * r.reference)} of ${unit(r.reference)}), allocation ${r.allocation}`,
    `Budget: reached ${r.reached.toFixed(4)} of the ${what} (${unit(r.cost)}); ${r.moved} of ${r.inScope} groups moved`,
  ].join('\n');
}
