/**
 * Applying a plan: a new, smaller tf.LayersModel with the same layer names, built from the original's
 * config with narrower producers (filters / units), then filled with the surviving weights sliced by
 * tf.gather (conv kernel HWIO: out = axis 3, in = axis 2; depthwise kernel [kh, kw, in, mult]; BN gamma,
 * beta, moving mean and variance; bias). The original model is never modified.
 *
 * silenceChannels makes the exactness reference: a copy of the original with the chosen filters zeroed,
 * their biases zeroed and their BN gamma and beta set to 0, so the chosen channels carry exactly 0 after
 * BN and after any activation with f(0) = 0. The pruned model must compute the same outputs.
 */
import * as tf from '@tensorflow/tfjs';
import { shortName } from '../model/weight-name.ts';
import { widthKey } from './layers.ts';
import { functionalConfig, rebuildModel } from '../model/topology.ts';
import type { PruneHistoryRecord } from '../io/checkpoint.ts';
import type { PrunePlan } from './types.ts';
import { PruneGraphError } from './errors.ts';

/** Removed indices per layer -> weight -> axis. */
type Cuts = Map<string, Map<string, Map<number, Set<number>>>>;

function collectCuts(plan: PrunePlan, filter: (dim: string, weight: string) => boolean = () => true): Cuts {
  const cuts: Cuts = new Map();
  for (const g of plan.groups) {
    for (const d of g.deps) {
      for (const { weight, axis } of d.sliced) {
        if (!filter(d.dim, weight)) continue;
        let byWeight = cuts.get(d.layer);
        if (!byWeight) cuts.set(d.layer, (byWeight = new Map()));
        let byAxis = byWeight.get(weight);
        if (!byAxis) byWeight.set(weight, (byAxis = new Map()));
        let set = byAxis.get(axis);
        if (!set) byAxis.set(axis, (set = new Set()));
        for (const i of d.indices) set.add(i);
      }
    }
  }
  return cuts;
}

function checkPlanMatches(model: tf.LayersModel, plan: PrunePlan) {
  for (const [layer, weights] of Object.entries(plan.shapes)) {
    let live: tf.layers.Layer;
    try {
      live = model.getLayer(layer);
    } catch {
      throw new PruneGraphError(`the plan does not fit model '${model.name}': it has no layer '${layer}' (plan made for '${plan.modelName}')`);
    }
    for (const w of live.weights) {
      const want = weights[shortName(w.originalName ?? w.name)];
      if (want && want.join(',') !== w.shape.join(',')) {
        throw new PruneGraphError(`the plan does not fit model '${model.name}': '${w.originalName}' has shape [${w.shape}], the plan expects [${want}]`);
      }
    }
  }
}

/** Copies every layer's weights from `from` to `to` (same layer names), transformed per weight. */
function copyWeights(from: tf.LayersModel, to: tf.LayersModel, transform: (layer: string, weight: string, value: tf.Tensor) => tf.Tensor) {
  for (const target of to.layers) {
    if (target.weights.length === 0) continue;
    const source = from.getLayer(target.name);
    tf.tidy(() => {
      const values = source.weights.map((w) => transform(target.name, shortName(w.originalName ?? w.name), w.read()));
      target.setWeights(values);
    });
  }
}

export function applyPlan(model: tf.LayersModel, plan: PrunePlan): { model: tf.LayersModel; history: PruneHistoryRecord[] } {
  checkPlanMatches(model, plan);
  const cuts = collectCuts(plan);
  const cfg = functionalConfig(model);
  const outRemoved = new Map<string, number>();
  for (const g of plan.groups) {
    for (const d of g.deps) if (d.dim === 'out') outRemoved.set(d.layer, (outRemoved.get(d.layer) ?? 0) + d.indices.length);
  }
  for (const entry of cfg.layers) {
    const removed = outRemoved.get(entry.name);
    if (!removed) continue;
    const k = widthKey(entry.className);
    entry.config[k] = Number(entry.config[k]) - removed;
  }
  const pruned = rebuildModel(cfg);
  copyWeights(model, pruned, (layer, weight, value) => {
    const axes = cuts.get(layer)?.get(weight);
    if (!axes) return value;
    let v = value;
    for (const [axis, removed] of axes) {
      const keep: number[] = [];
      for (let i = 0; i < v.shape[axis]; i++) if (!removed.has(i)) keep.push(i);
      v = tf.gather(v, tf.tensor1d(keep, 'int32'), axis);
    }
    // A fresh tensor: the wasm backend (4.22) keeps gather's internal rank-4 shape on the output's
    // data, and FusedConv2D then rejects such a tensor as bias ("only supports rank-1 bias").
    return tf.tensor(v.dataSync(), v.shape, v.dtype);
  });
  const date = new Date().toISOString();
  const history: PruneHistoryRecord[] = plan.groups.flatMap((g) => g.deps.map((d) => ({
    layer: d.layer, dim: d.dim, indices: [...d.indices], offset: d.offset, group: g.id,
    strategy: plan.strategy, amount: g.amount, importance: plan.importance, date,
  })));
  return { model: pruned, history };
}

/**
 * A copy of the model (same shapes) in which the plan's chosen channels are silenced: producer filters
 * and biases zeroed, depthwise kernels zeroed, BN gamma and beta set to 0 (moving statistics kept).
 */
export function silenceChannels(model: tf.LayersModel, plan: PrunePlan): tf.LayersModel {
  checkPlanMatches(model, plan);
  const silenced = new Set(['out:kernel', 'out:pointwise_kernel', 'bias:bias', 'bn:gamma', 'bn:beta', 'depthwise:depthwise_kernel']);
  const cuts = collectCuts(plan, (dim, weight) => silenced.has(`${dim}:${weight}`));
  const copy = rebuildModel(functionalConfig(model));
  copyWeights(model, copy, (layer, weight, value) => {
    const axes = cuts.get(layer)?.get(weight);
    if (!axes) return value;
    let v = value;
    for (const [axis, removed] of axes) {
      const mask = new Float32Array(v.shape[axis]).fill(1);
      for (const i of removed) mask[i] = 0;
      const shape = v.shape.map((d, i) => (i === axis ? d : 1));
      v = tf.mul(v, tf.tensor(mask, shape));
    }
    return v;
  });
  return copy;
}
