/**
 * Channel importance of a group (Li et al. 2017 and common baselines):
 * - `l1` (default): sum of |w| over a filter's kernels (all kh, kw and input channels), Li et al.'s s_j
 * - `l2`: the filter's Euclidean norm
 * - `bn-scale`: |gamma| of the BatchNormalization that directly follows the producer (network slimming)
 * - `random`: a seeded uniform baseline
 *
 * With the greedy strategy, kernels acting on input channels already removed by earlier groups of the
 * plan are left out of the sums (`removedIn`), as in the paper.
 *
 * A group tied across several producers (residual adds) scores channel c by `groupReduction`:
 * - `root` (default): the score of filter c of the root producer (the first in topological order),
 *   the paper's single-layer criterion; a channel the root does not create takes the first producer's
 *   that does
 * - `sum` / `mean` / `max`: over every producer that creates channel c (raw, unnormalized scores)
 */
import type * as tf from '@tensorflow/tfjs';
import { shortName } from '../model/weight-name.ts';
import { dimParams } from './layers.ts';
import type { DependencyGraph, GroupReduction, Importance, PruneGroup } from './types.ts';
import { mulberry32 } from '../util/mulberry32.ts';
import { PruneGraphError, PruneOptionError } from './errors.ts';

export interface ScoreContext {
  model: tf.LayersModel;
  graph: DependencyGraph;
  importance: Importance;
  reduction: GroupReduction;
  seed: number;
  /** Greedy: removed local input positions per layer (on the `in` axis). Null for `independent`. */
  removedIn: Map<string, Set<number>> | null;
  /** Per-producer (out x in) sums of |w| or w^2, filled lazily. */
  cache?: Map<string, { out: number; in: number; sums: Float64Array }>;
}

export function scoreGroup(group: PruneGroup, ctx: ScoreContext): Float64Array {
  const scores = new Float64Array(group.n);
  if (ctx.importance === 'random') {
    const rand = mulberry32((ctx.seed ^ hashString(group.id)) >>> 0);
    for (let c = 0; c < group.n; c++) scores[c] = rand();
    return scores;
  }
  const perProducer: { channels: number[]; values: Float64Array }[] = [];
  for (const producer of group.producers) {
    const member = group.members.find((m) => m.layer === producer && m.dim === 'out');
    if (!member) continue;
    const values = producerScores(producer, ctx, group.root);
    if (values === null) continue;
    perProducer.push({ channels: member.channels, values });
  }
  if (perProducer.length === 0) {
    throw new PruneOptionError(`group '${group.id}': no producer can be scored with '${ctx.importance}'`);
  }
  const covered = new Float64Array(group.n); // producers covering each channel
  const acc = new Float64Array(group.n);
  const seen = new Uint8Array(group.n);
  for (const { channels, values } of perProducer) {
    // Sum over positions of this producer that carry the same channel (a depthwise multiplier may repeat it).
    const mine = new Float64Array(group.n);
    const has = new Uint8Array(group.n);
    channels.forEach((c, j) => {
      mine[c] += values[j];
      has[c] = 1;
    });
    for (let c = 0; c < group.n; c++) {
      if (!has[c]) continue;
      covered[c]++;
      switch (ctx.reduction) {
        case 'root':
          if (!seen[c]) acc[c] = mine[c];
          break;
        case 'sum':
        case 'mean':
          acc[c] += mine[c];
          break;
        case 'max':
          acc[c] = seen[c] ? Math.max(acc[c], mine[c]) : mine[c];
          break;
      }
      seen[c] = 1;
    }
  }
  for (let c = 0; c < group.n; c++) {
    scores[c] = !seen[c] ? Infinity : ctx.reduction === 'mean' ? acc[c] / covered[c] : acc[c];
  }
  return scores;
}

/** Score of each filter of one producer, or null when it cannot be scored (bn-scale without BN). */
function producerScores(name: string, ctx: ScoreContext, root: string): Float64Array | null {
  if (ctx.importance === 'bn-scale') {
    const bn = ctx.graph.bnAfter[name];
    if (!bn) {
      if (name === root && ctx.reduction === 'root') {
        throw new PruneOptionError(`importance 'bn-scale' needs a BatchNormalization right after '${name}'; use 'l1' for this layer`);
      }
      return null;
    }
    const gamma = weightData(ctx.model, bn, 'gamma');
    if (!gamma) throw new PruneOptionError(`importance 'bn-scale': '${bn}' has no gamma (scale: false)`);
    return Float64Array.from(gamma, Math.abs);
  }
  const stats = kernelSums(name, ctx);
  const removed = ctx.removedIn?.get(name);
  const out = new Float64Array(stats.out);
  for (let o = 0; o < stats.out; o++) {
    let s = 0;
    const row = o * stats.in;
    for (let i = 0; i < stats.in; i++) if (!removed || !removed.has(i)) s += stats.sums[row + i];
    out[o] = ctx.importance === 'l2' ? Math.sqrt(s) : s;
  }
  return out;
}

/** (out x in) sums over the other kernel axes of |w| (l1) or w^2 (l2). */
function kernelSums(name: string, ctx: ScoreContext) {
  ctx.cache ??= new Map();
  const hit = ctx.cache.get(`${name}|${ctx.importance}`);
  if (hit) return hit;
  const gl = ctx.graph.layers.find((l) => l.name === name)!;
  const outAxis = dimParams(gl.className, 'out', gl.weights)[0];
  const inAxis = dimParams(gl.className, 'in', gl.weights)[0];
  if (!outAxis || !inAxis || outAxis.weight !== inAxis.weight) {
    throw new PruneGraphError(`cannot score '${name}' (${gl.className}): no kernel with input and output axes`);
  }
  const shape = gl.weights.find((w) => w.name === outAxis.weight)!.shape;
  const data = weightData(ctx.model, name, outAxis.weight)!;
  const nOut = shape[outAxis.axis];
  const nIn = shape[inAxis.axis];
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const sums = new Float64Array(nOut * nIn);
  const square = ctx.importance === 'l2';
  const rank = shape.length;
  if (outAxis.axis === rank - 1 && inAxis.axis === rank - 2) {
    // The usual layout (conv HWIO, Dense [in, out]): ((spatial * nIn) + i) * nOut + o.
    for (let f = 0, i = 0; f < data.length; f += nOut, i = (i + 1) % nIn) {
      const row = i;
      for (let o = 0; o < nOut; o++) {
        const v = data[f + o];
        sums[o * nIn + row] += square ? v * v : Math.abs(v);
      }
    }
  } else {
    for (let f = 0; f < data.length; f++) {
      const o = Math.floor(f / strides[outAxis.axis]) % nOut;
      const i = Math.floor(f / strides[inAxis.axis]) % nIn;
      const v = data[f];
      sums[o * nIn + i] += square ? v * v : Math.abs(v);
    }
  }
  const stats = { out: nOut, in: nIn, sums };
  ctx.cache.set(`${name}|${ctx.importance}`, stats);
  return stats;
}

/** Values of a layer weight by short name (no new tensors: reads the variable). */
export function weightData(model: tf.LayersModel, layer: string, weight: string): Float32Array | null {
  const w = model.getLayer(layer).weights.find((v) => shortName(v.originalName ?? v.name) === weight);
  return w ? (w.read().dataSync() as Float32Array) : null;
}

export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
