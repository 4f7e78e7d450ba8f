/**
 * Structured filter pruning after Li et al., "Pruning Filters for Efficient ConvNets" (ICLR 2017),
 * for any tf.LayersModel (nothing YOLOv4-specific):
 *
 *   const plan = planPruning(model, { layers: ['conv2.*'], amount: 0.4, strategy: 'greedy', inputSize: 416 });
 *   console.log(formatPlan(plan));
 *   const { model: pruned, history } = applyPlan(model, plan);
 *
 * See graph.ts (how channels are followed), groups.ts (what is removed together), importance.ts
 * (scores and tied groups), select.ts (counts and ties), plan.ts (scopes and strategies), apply.ts;
 * budget.ts and allocate.ts prune to a FLOPs or parameter target (uniform, global or sensitivity allocation).
 */
export { buildDependencyGraph, type GraphOptions } from './graph.ts';
export { findGroups, type FindGroupsOptions } from './groups.ts';
export { groupsInScope, planPruning, type PlanOptions, type RankingOptions } from './plan.ts';
export { formatPlan } from './format.ts';
export { planToBudget, formatBudget, type BudgetOptions, type BudgetResult, type BudgetTarget } from './budget.ts';
export {
  ALLOCATIONS, sensitivitySteps, type Allocation, type CostMetric, type GroupAmounts, type SensitivityCurve, type SensitivityTable,
} from './allocate.ts';
export { applyPlan, silenceChannels } from './apply.ts';
export { countParams, countFlops, type FlopCount, type LayerCost } from '../model/cost.ts';
export { countToRemove, selectLowest } from './select.ts';
export { matchesPattern } from './match.ts';
export type {
  DependencyGraph, Dim, GroupMember, GroupReduction, Importance, PlannedDependency, PlannedGroup,
  PruneGroup, PrunePlan, Strategy,
} from './types.ts';
export { checkExactness, type ExactnessReport } from './verify.ts';
export { PruneOptionError, PruneGraphError } from './errors.ts';
