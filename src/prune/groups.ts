/**
 * Pruning groups: the closed sets of (layer, dimension, channel run) that must lose the same channels.
 *
 * A group is a connected set of channel spaces: a producer's filters, plus every space tied to them by
 * a merge (the residual chain of a CSP stage is one group with one producer per Add input). Its channel
 * index is the root producer's filter index (root = first producer in topological order). Members are
 * every run of a layer axis carrying the group's channels: the producers' filters, biases and BN, and
 * every consumer's input channels at their offset (through pass-through layers and nested concats).
 *
 * Policy on top of the structural graph: channels reaching a model output directly, passing through a
 * barrier or coming from a model input are fixed; output producers (convs whose output reaches a model
 * output through weightless layers: the detection heads) are never pruned in either dimension, so the
 * channels they read are fixed too (unless `pruneOutputInputs`); excluded layers (name or glob) keep
 * all their channels in and out.
 */
import { closeMatches, matchesPattern } from './match.ts';
import type { DependencyGraph, Dim, GroupMember, PruneGroup } from './types.ts';
import { PruneOptionError } from './errors.ts';

export interface FindGroupsOptions {
  /** Layer names or globs whose channels are left alone, in and out (e.g. `yolo_head*`, `backbone.*`). */
  exclude?: string[];
  /** Also return groups that cannot be pruned (with `prunable: false` and a reason). */
  includeUnprunable?: boolean;
  /**
   * Let output convs lose input channels (so the layers feeding them become prunable). Default false:
   * output convs are never pruned in either dimension.
   */
  pruneOutputInputs?: boolean;
}

const DIM_ORDER: Record<Dim, number> = { out: 0, bias: 1, bn: 2, alpha: 3, depthwise: 4, in: 5 };

export function findGroups(graph: DependencyGraph, opts: FindGroupsOptions = {}): PruneGroup[] {
  const policy = policyFixed(graph, opts.exclude ?? [], !opts.pruneOutputInputs);
  const reasonOf = (c: number) => graph.fixedReason[c] ?? policy[c];
  const layerIndex = new Map(graph.layers.map((l) => [l.name, l]));

  // Components of classes linked by spaces.
  const parent = Array.from({ length: graph.classCount }, (_, i) => i);
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]];
      a = parent[a];
    }
    return a;
  };
  for (const s of graph.spaces) {
    const c0 = find(graph.classOf[s.atoms[0]]);
    for (const a of s.atoms) {
      const r = find(graph.classOf[a]);
      if (r !== c0) parent[Math.max(r, c0)] = Math.min(r, c0);
    }
  }

  interface Building { group: PruneGroup; channelOfClass: Map<number, number>; index: number }
  const byComponent = new Map<number, Building>();
  const topo = (layer: string) => layerIndex.get(layer)!.index;
  const producerSpaces = graph.spaces.filter((s) => s.kind === 'out' && s.atoms.length > 0).sort((a, b) => topo(a.layer) - topo(b.layer));
  for (const s of producerSpaces) {
    const comp = find(graph.classOf[s.atoms[0]]);
    let b = byComponent.get(comp);
    if (!b) {
      b = {
        group: { id: s.layer, root: s.layer, producers: [], n: 0, fixed: [], prunable: false, members: [] },
        channelOfClass: new Map(),
        index: topo(s.layer),
      };
      byComponent.set(comp, b);
    }
    b.group.producers.push(s.layer);
    for (const a of s.atoms) {
      const c = graph.classOf[a];
      if (!b.channelOfClass.has(c)) b.channelOfClass.set(c, b.channelOfClass.size);
    }
  }
  // Other spaces in a group (inputs, barriers) only add fixed channels.
  for (const s of graph.spaces) {
    if (s.kind === 'out') continue;
    const b = byComponent.get(find(graph.classOf[s.atoms[0]] ?? -1));
    if (!b) continue;
    for (const a of s.atoms) {
      const c = graph.classOf[a];
      if (!b.channelOfClass.has(c)) b.channelOfClass.set(c, b.channelOfClass.size);
    }
  }

  for (const b of byComponent.values()) {
    const g = b.group;
    g.n = b.channelOfClass.size;
    let firstReason: string | null = null;
    for (const [c, ch] of b.channelOfClass) {
      const r = reasonOf(c);
      if (r !== null) {
        g.fixed.push(ch);
        firstReason ??= r;
      }
    }
    g.fixed.sort((x, y) => x - y);
    const candidates = g.n - g.fixed.length;
    g.prunable = candidates >= 1 && (g.fixed.length > 0 || g.n >= 2);
    if (!g.prunable) g.reason = candidates === 0 ? `its channels ${firstReason}` : 'it has a single channel';
  }

  // Members: split every layer dependency into runs by group.
  for (const m of graph.members) {
    const layer = layerIndex.get(m.layer)!;
    let run: { b: Building; start: number } | null = null;
    const flush = (end: number) => {
      if (!run) return;
      const member: GroupMember = {
        layer: m.layer,
        className: layer.className,
        dim: m.dim,
        offset: run.start,
        channels: m.classes.slice(run.start, end).map((c) => run!.b.channelOfClass.get(c)!),
        params: m.params,
      };
      run.b.group.members.push(member);
      run = null;
    };
    const starts = new Set(m.segments);
    for (let p = 0; p < m.classes.length; p++) {
      const b = byComponent.get(find(m.classes[p]));
      if (run && (run.b !== b || starts.has(p))) flush(p);
      if (!run && b) run = { b, start: p };
    }
    flush(m.classes.length);
  }

  const groups = [...byComponent.values()].sort((a, b) => a.index - b.index).map((b) => b.group);
  for (const g of groups) {
    g.members.sort((x, y) => topo(x.layer) - topo(y.layer) || DIM_ORDER[x.dim] - DIM_ORDER[y.dim] || x.offset - y.offset);
  }
  return opts.includeUnprunable ? groups : groups.filter((g) => g.prunable);
}

/** Classes fixed by policy: excluded layers (in and out) and the inputs of output producers. */
function policyFixed(graph: DependencyGraph, exclude: string[], freezeOutputInputs: boolean): (string | null)[] {
  const reasons: (string | null)[] = new Array(graph.classCount).fill(null);
  const fixTensor = (k: string, reason: string) => {
    for (const a of graph.tensors[k] ?? []) {
      const c = graph.classOf[a];
      if (reasons[c] === null) reasons[c] = reason;
    }
  };
  for (const p of exclude) {
    const hits = graph.layers.filter((l) => matchesPattern(l.name, p));
    if (hits.length === 0) {
      throw new PruneOptionError(`exclude pattern '${p}' matches no layer of '${graph.modelName}'; close matches: ${closeMatches(p, graph.layers.map((l) => l.name)).join(', ')}`);
    }
    for (const l of hits) {
      for (const k of [...l.inputs.flat(), ...l.outputs.flat()]) fixTensor(k, `touch excluded layer '${l.name}'`);
    }
  }
  const byName = new Map(graph.layers.map((l) => [l.name, l]));
  for (const name of freezeOutputInputs ? graph.outputProducers : []) {
    for (const k of byName.get(name)!.inputs.flat()) fixTensor(k, `feed output layer '${name}' (output convs are never pruned)`);
  }
  return reasons;
}
