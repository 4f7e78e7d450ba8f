/**
 * Planning: which groups to prune (scope), how much (amounts), which channels (importance + strategy),
 * and what that removes from every layer. A plan is plain numbers; nothing is changed until applyPlan.
 *
 * Strategies for multi-layer pruning (Li et al. 2017, section 3.2), in topological order of the group
 * roots:
 * - `independent`: every group is ranked on the original kernels, counting the kernels that act on
 *   feature maps removed by earlier groups.
 * - `greedy` (default): groups are ranked in order on the already-shrunk network: a filter's norm leaves
 *   out the kernels whose input channels earlier groups of the plan removed.
 *
 * Scopes: `layer` (one conv by exact name, or the module prefix holding a single conv, e.g.
 * `backbone.conv1` -> `backbone.conv1.conv`), `layers` (globs: `conv2.*`; a plain prefix like `conv2.0`
 * matches the layers under it), `all` (every prunable group), `amounts` (per-pattern amounts, which also
 * select their groups). A group is in scope when any of its producers matches. A group's amount comes
 * from the LAST `amounts` key matching one of its producers, else from `amount`.
 *
 * Parameter counts per dependency are counted in plan order on the network as shrunk by the earlier
 * dependencies (like torch_pruning), so countParams(pruned) = paramsBefore - sum of them, exactly.
 */
import type * as tf from '@tensorflow/tfjs';
import { countFlops, countParams } from '../model/cost.ts';
import { buildDependencyGraph } from './graph.ts';
import { findGroups } from './groups.ts';
import { scoreGroup, type ScoreContext } from './importance.ts';
import { closeMatches, matchesPattern } from './match.ts';
import { countToRemove, selectLowest } from './select.ts';
import type { DependencyGraph, GroupReduction, Importance, PlannedDependency, PlannedGroup, PruneGroup, PrunePlan, Strategy } from './types.ts';
import { PruneOptionError } from './errors.ts';

export interface PlanOptions {
  /** One conv by exact name, or a module prefix that holds exactly one conv. */
  layer?: string;
  /** Globs / module prefixes of convs. */
  layers?: string[];
  /** Every prunable group. */
  all?: boolean;
  /** Fraction of each group's channels to remove, in [0, 1]. */
  amount?: number;
  /** Per-pattern amounts (globs allowed); the last matching key wins. */
  amounts?: Record<string, number>;
  strategy?: Strategy;
  importance?: Importance;
  /** Keep each pruned group's channel count a multiple of this. */
  roundTo?: number;
  /** Never leave a group with fewer channels than this (default 1); narrower groups are left alone. */
  minChannels?: number;
  /** Layers (names or globs) left alone, in and out. */
  exclude?: string[];
  /** Let output convs (detection heads) lose input channels; by default they keep all of them. */
  pruneOutputInputs?: boolean;
  groupReduction?: GroupReduction;
  /** Seed of the `random` importance. */
  seed?: number;
  /** Input spatial size for the FLOPs before/after (e.g. 416 or [416, 416]). */
  inputSize?: number | number[];
  /** A graph already built for this model. */
  graph?: DependencyGraph;
  /** Extra pass-through layer classes (custom element-wise layers). */
  passThrough?: string[];
}

/** How channels are ranked and bounded, without the scope and amounts: what the jobs that plan many times share. */
export type RankingOptions = Pick<PlanOptions, 'exclude' | 'strategy' | 'importance' | 'groupReduction' | 'roundTo' | 'minChannels' | 'pruneOutputInputs' | 'seed'>;

const STRATEGIES: Strategy[] = ['independent', 'greedy'];
const IMPORTANCES: Importance[] = ['l1', 'l2', 'bn-scale', 'random'];
const REDUCTIONS: GroupReduction[] = ['root', 'sum', 'mean', 'max'];

export function planPruning(model: tf.LayersModel, opts: PlanOptions): PrunePlan {
  const strategy = opts.strategy ?? 'greedy';
  const importance = opts.importance ?? 'l1';
  const groupReduction = opts.groupReduction ?? 'root';
  const roundTo = opts.roundTo ?? 1;
  const seed = opts.seed ?? 0;
  if (!STRATEGIES.includes(strategy)) throw new PruneOptionError(`unknown strategy '${strategy}' (${STRATEGIES.join(', ')})`);
  if (!IMPORTANCES.includes(importance)) throw new PruneOptionError(`unknown importance '${importance}' (${IMPORTANCES.join(', ')})`);
  if (!REDUCTIONS.includes(groupReduction)) throw new PruneOptionError(`unknown groupReduction '${groupReduction}' (${REDUCTIONS.join(', ')})`);
  checkAmount('amount', opts.amount);
  for (const [k, v] of Object.entries(opts.amounts ?? {})) checkAmount(`amounts['${k}']`, v);

  const graph = opts.graph ?? buildDependencyGraph(model, { passThrough: opts.passThrough });
  const groups = findGroups(graph, { exclude: opts.exclude, includeUnprunable: true, pruneOutputInputs: opts.pruneOutputInputs });
  const { selected, skipped } = resolveScope(graph, groups, opts);

  // Current weight shapes, updated dependency by dependency (for the parameter counts).
  const layerByName = new Map(graph.layers.map((l) => [l.name, l]));
  const current = new Map<string, Map<string, { shape: number[]; trainable: boolean }>>();
  const shapes: PrunePlan['shapes'] = {};
  const stateOf = (layer: string) => {
    let s = current.get(layer);
    if (!s) {
      const gl = layerByName.get(layer)!;
      s = new Map(gl.weights.map((w) => [w.name, { shape: [...w.shape], trainable: w.trainable }]));
      current.set(layer, s);
      shapes[layer] = Object.fromEntries(gl.weights.map((w) => [w.name, [...w.shape]]));
    }
    return s;
  };

  const ctx: ScoreContext = {
    model, graph, importance, reduction: groupReduction, seed,
    removedIn: strategy === 'greedy' ? new Map() : null,
  };
  const planned: PlannedGroup[] = [];
  for (const { group, amount } of selected) {
    const k = countToRemove(group.n, amount, { roundTo, fixed: group.fixed.length, minChannels: opts.minChannels });
    if (k === 0) {
      const why = roundTo > 1 ? ` (roundTo ${roundTo})` : opts.minChannels && opts.minChannels > 1 ? ` (minChannels ${opts.minChannels})` : '';
      skipped.push({ layer: group.root, reason: `amount ${amount} removes no channel of ${group.n}${why}` });
      continue;
    }
    const scores = scoreGroup(group, ctx);
    const remove = selectLowest(scores, k, group.fixed);
    const removeSet = new Set(remove);
    const deps: PlannedDependency[] = [];
    for (const m of group.members) {
      const indices: number[] = [];
      m.channels.forEach((c, p) => {
        if (removeSet.has(c)) indices.push(m.offset + p);
      });
      if (indices.length === 0) continue;
      const state = stateOf(m.layer);
      const size = state.get(m.params[0].weight)!.shape[m.params[0].axis];
      let params = 0;
      for (const { weight, axis } of m.params) {
        const w = state.get(weight)!;
        if (w.trainable) params += indices.length * w.shape.reduce((a, d, i) => (i === axis ? a : a * d), 1);
        w.shape[axis] -= indices.length;
      }
      if (m.dim === 'in' && ctx.removedIn) {
        let set = ctx.removedIn.get(m.layer);
        if (!set) ctx.removedIn.set(m.layer, (set = new Set()));
        for (const i of indices) set.add(i);
      }
      deps.push({ layer: m.layer, className: m.className, dim: m.dim, offset: m.offset, span: m.channels.length, size, indices, params, sliced: m.params });
    }
    planned.push({
      id: group.id, root: group.root, producers: group.producers, amount, n: group.n,
      scores: Array.from(scores), remove, keep: group.n - remove.length,
      deps, params: deps.reduce((a, d) => a + d.params, 0),
    });
  }

  const paramsBefore = countParams(model);
  const paramsRemoved = planned.reduce((a, g) => a + g.params, 0);
  const plan: PrunePlan = {
    modelName: graph.modelName, strategy, importance, groupReduction, roundTo, seed,
    groups: planned, skipped, shapes,
    paramsBefore, paramsRemoved, paramsAfter: paramsBefore - paramsRemoved,
  };
  if (opts.inputSize !== undefined) {
    const fc = countFlops(model, opts.inputSize);
    let after = 0;
    for (const l of fc.layers) {
      const state = current.get(l.name);
      const orig = shapes[l.name];
      for (const t of l.terms) {
        let ratio = 1;
        if (state) for (const s of t.scales) ratio *= state.get(s.weight)!.shape[s.axis] / orig[s.weight][s.axis];
        after += t.macs * ratio;
      }
    }
    plan.flops = { inputSize: fc.inputSize, before: fc.flops, after: 2 * Math.round(after) };
  }
  return plan;
}

/**
 * The prunable groups a scope selects (layer, layers, all or the keys of amounts), in topological
 * order, with the same names, errors and exclusions as planPruning; amounts are not needed.
 */
export function groupsInScope(model: tf.LayersModel, opts: PlanOptions): PruneGroup[] {
  const graph = opts.graph ?? buildDependencyGraph(model, { passThrough: opts.passThrough });
  const groups = findGroups(graph, { exclude: opts.exclude, includeUnprunable: true, pruneOutputInputs: opts.pruneOutputInputs });
  return resolveScope(graph, groups, { ...opts, amount: opts.amount ?? 0 }).selected.map((s) => s.group);
}

function checkAmount(what: string, v: number | undefined) {
  if (v === undefined) return;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new PruneOptionError(`${what} must be a number in [0, 1], got ${JSON.stringify(v)}`);
}

interface Selection {
  selected: { group: PruneGroup; amount: number }[];
  skipped: { layer: string; reason: string }[];
}

function resolveScope(graph: DependencyGraph, groups: PruneGroup[], opts: PlanOptions): Selection {
  const groupOfProducer = new Map<string, PruneGroup>();
  for (const g of groups) for (const p of g.producers) groupOfProducer.set(p, g);
  const producers = graph.layers.filter((l) => l.kind === 'producer').map((l) => l.name);
  const suggestions = (q: string) => {
    const names = new Set<string>();
    for (const p of producers) {
      const parts = p.split('.');
      for (let i = 1; i <= parts.length; i++) names.add(parts.slice(0, i).join('.'));
    }
    return closeMatches(q, [...names]).join(', ');
  };
  const unknown = (q: string) => new PruneOptionError(`no prunable layer matches '${q}' in model '${graph.modelName}'; close matches: ${suggestions(q)}`);
  /** Why a producer cannot be pruned (a phrase to put after its name). */
  const explain = (name: string, g: PruneGroup | undefined) => {
    if (graph.outputProducers.includes(name)) return 'is an output layer (its output is a model output): never pruned';
    if (!g) return 'creates no prunable channels';
    return `cannot be pruned: ${g.reason ?? 'no prunable channel'}`;
  };

  const chosen = new Map<PruneGroup, string>(); // group -> the name that selected it
  const skipped: Selection['skipped'] = [];
  const take = (name: string, strict: boolean) => {
    const g = groupOfProducer.get(name);
    if (g && g.prunable) {
      if (!chosen.has(g)) chosen.set(g, name);
    } else if (strict) {
      throw new PruneOptionError(`'${name}' ${explain(name, g)}`);
    } else if (!skipped.some((s) => s.layer === name)) {
      skipped.push({ layer: name, reason: explain(name, g) });
    }
  };

  if (opts.layer !== undefined) {
    const q = opts.layer;
    let name: string | undefined = producers.find((p) => p === q);
    if (!name) {
      const exact = graph.layers.find((l) => l.name === q);
      if (exact) throw new PruneOptionError(`'${q}' is a ${exact.className}, not a conv/dense layer; name the layer that creates its channels`);
      const under = producers.filter((p) => p.startsWith(`${q}.`));
      if (under.length > 1) {
        throw new PruneOptionError(`'${q}' holds ${under.length} prunable layers (${under.slice(0, 6).join(', ')}${under.length > 6 ? ', ...' : ''}); use layers: ['${q}.*'] or name one`);
      }
      if (under.length === 0) throw unknown(q);
      name = under[0];
    }
    take(name, true);
  }
  for (const p of opts.layers ?? []) {
    const hits = producers.filter((n) => matchesPattern(n, p));
    if (hits.length === 0) throw unknown(p);
    for (const h of hits) take(h, hits.length === 1);
  }
  for (const p of Object.keys(opts.amounts ?? {})) {
    const hits = producers.filter((n) => matchesPattern(n, p));
    if (hits.length === 0) throw unknown(p);
    for (const h of hits) take(h, false);
  }
  if (opts.all) {
    for (const g of groups) {
      if (g.prunable) {
        if (!chosen.has(g)) chosen.set(g, g.root);
      } else {
        skipped.push({ layer: g.root, reason: explain(g.root, g) });
      }
    }
  }
  if (opts.layer === undefined && !opts.layers && !opts.amounts && !opts.all) {
    throw new PruneOptionError('nothing to prune: give layer, layers, amounts or all');
  }

  const selected: Selection['selected'] = [];
  const order = new Map(graph.layers.map((l) => [l.name, l.index]));
  for (const g of [...chosen.keys()].sort((a, b) => order.get(a.root)! - order.get(b.root)!)) {
    let amount: number | undefined;
    for (const [k, v] of Object.entries(opts.amounts ?? {})) {
      if (g.producers.some((p) => matchesPattern(p, k))) amount = v;
    }
    amount ??= opts.amount;
    if (amount === undefined) throw new PruneOptionError(`no amount for '${chosen.get(g)}': give amount or a matching amounts key`);
    selected.push({ group: g, amount });
  }
  return { selected, skipped };
}
