/**
 * BatchNormalization folding for inference: every Conv2D / DepthwiseConv2D whose only consumer is a
 * BatchNormalization over its channels becomes one conv with bias,
 *
 *   s  = gamma / sqrt(movingVariance + epsilon)
 *   w' = w * s                      (per output channel)
 *   b' = beta + (b - movingMean) * s   (b = 0 when the conv had no bias)
 *
 * so conv + bias runs as one FusedConv2D kernel and the BN pass disappears. Activations and every
 * other layer are kept (same names, same weights); folded convs keep their names. Works on any
 * functional or sequential LayersModel: the structure is read with model/topology.ts's
 * functionalConfig, edited, rebuilt with rebuildModel, and filled with the (folded) weights.
 *
 * The result is for inference only (training needs the BN statistics): keep the original for
 * training and fold a copy for eval/predict/export. The original model is never modified.
 */
import * as tf from '@tensorflow/tfjs';
import { functionalConfig, rebuildModel, type FunctionalConfig, type InboundRef, type LayerConfigEntry } from '../model/topology.ts';
import { ModelError } from '../model/errors.ts';

export interface FoldReport {
  /** conv name -> BN name folded into it. */
  folded: Map<string, string>;
  /** BN layers left alone, with why (e.g. "input is a Concatenate, not a conv"). */
  skipped: { layer: string; reason: string }[];
}

export interface FoldOptions {
  /** Receives what was folded and what was not. */
  report?: (r: FoldReport) => void;
}

const CONVS = new Set(['Conv2D', 'DepthwiseConv2D']);

/** Every reference [layer, node, tensor] in the config, for rewiring. */
function* allRefs(cfg: FunctionalConfig): Generator<InboundRef | [string, number, number]> {
  for (const l of cfg.layers) for (const node of l.inboundNodes) for (const ref of node) yield ref;
  for (const ref of cfg.outputLayers) yield ref;
}

function bnAxisOk(bn: LayerConfigEntry): boolean {
  const axis = bn.config.axis;
  const a = Array.isArray(axis) ? axis : [axis];
  return a.length === 1 && (a[0] === -1 || a[0] === 3 || a[0] === undefined);
}

/** The folds that are valid in this config: conv name -> BN entry. */
function findFolds(cfg: FunctionalConfig): { pairs: Map<string, LayerConfigEntry>; skipped: FoldReport['skipped'] } {
  const byName = new Map(cfg.layers.map((l) => [l.name, l]));
  const uses = new Map<string, number>(); // layer name -> number of references to any of its outputs
  for (const ref of allRefs(cfg)) uses.set(ref[0], (uses.get(ref[0]) ?? 0) + 1);
  const pairs = new Map<string, LayerConfigEntry>();
  const skipped: FoldReport['skipped'] = [];
  for (const bn of cfg.layers) {
    if (bn.className !== 'BatchNormalization') continue;
    const skip = (reason: string) => skipped.push({ layer: bn.name, reason });
    if (bn.inboundNodes.length !== 1 || bn.inboundNodes[0].length !== 1) { skip('BN is shared or has several inputs'); continue; }
    if (!bnAxisOk(bn)) { skip(`BN axis ${JSON.stringify(bn.config.axis)} is not the channels-last axis`); continue; }
    const [srcName, nodeIndex, tensorIndex] = bn.inboundNodes[0][0];
    const conv = byName.get(srcName);
    if (!conv || !CONVS.has(conv.className)) { skip(`input '${srcName}' is a ${conv?.className ?? 'missing layer'}, not a conv`); continue; }
    if (nodeIndex !== 0 || tensorIndex !== 0 || conv.inboundNodes.length !== 1) { skip(`conv '${srcName}' is shared`); continue; }
    if ((uses.get(srcName) ?? 0) !== 1) { skip(`conv '${srcName}' output is also used elsewhere`); continue; }
    const act = conv.config.activation ?? 'linear';
    if (act !== 'linear' && act !== null) { skip(`conv '${srcName}' has activation '${String(act)}' before the BN`); continue; }
    if (conv.config.dataFormat === 'channelsFirst') { skip(`conv '${srcName}' is channelsFirst`); continue; }
    pairs.set(conv.name, bn);
  }
  return { pairs, skipped };
}

const weightName = (v: tf.LayerVariable) => {
  const n = v.originalName ?? v.name;
  return n.slice(n.lastIndexOf('/') + 1);
};

/** Returns a new model with BN folded into the preceding convs (see the file comment). */
export function foldBatchNorm(model: tf.LayersModel, opts: FoldOptions = {}): tf.LayersModel {
  const cfg = functionalConfig(model);
  const { pairs, skipped } = findFolds(cfg);
  const bnToConv = new Map([...pairs].map(([conv, bn]) => [bn.name, conv]));

  // Edit the structure: convs get a bias, BN entries go, references to a BN point at its conv.
  for (const entry of cfg.layers) {
    if (pairs.has(entry.name)) {
      entry.config.useBias = true;
      entry.config.biasInitializer = { className: 'Zeros', config: {} };
      entry.config.biasRegularizer = null;
      entry.config.biasConstraint = null;
    }
  }
  cfg.layers = cfg.layers.filter((l) => !bnToConv.has(l.name));
  for (const ref of allRefs(cfg)) {
    const conv = bnToConv.get(ref[0]);
    if (conv !== undefined) {
      ref[0] = conv;
      ref[1] = 0;
      ref[2] = 0;
    }
  }

  const folded = rebuildModel(cfg);
  try {
    for (const target of folded.layers) {
      if (target.weights.length === 0) continue;
      const source = model.getLayer(target.name);
      const bnEntry = pairs.get(target.name);
      tf.tidy(() => {
        if (bnEntry === undefined) {
          target.setWeights(source.weights.map((w) => w.read()));
          return;
        }
        const bn = model.getLayer(bnEntry.name);
        const bw = new Map(bn.weights.map((w) => [weightName(w), w.read()]));
        const eps = Number(bnEntry.config.epsilon ?? 1e-3);
        const mean = bw.get('moving_mean');
        const variance = bw.get('moving_variance');
        if (!mean || !variance) throw new ModelError(`BN '${bn.name}' has no moving statistics`);
        const gamma = bw.get('gamma') ?? tf.onesLike(mean);
        const beta = bw.get('beta') ?? tf.zerosLike(mean);
        const scale = tf.div(gamma, tf.sqrt(tf.add(variance, eps)));
        const sw = new Map(source.weights.map((w) => [weightName(w), w.read()]));
        const isDepthwise = source.getClassName() === 'DepthwiseConv2D';
        const kernelKey = isDepthwise ? 'depthwise_kernel' : 'kernel';
        const kernel = sw.get(kernelKey);
        if (!kernel) throw new ModelError(`conv '${source.name}' has no ${kernelKey}`);
        // Conv2D kernel [kh, kw, in, out]: scale the last axis. Depthwise [kh, kw, in, mult]:
        // output channel c = i * mult + m, so scale viewed as [in, mult].
        const s = isDepthwise ? tf.reshape(scale, [kernel.shape[2] as number, kernel.shape[3] as number]) : scale;
        const k2 = tf.mul(kernel, s);
        const oldBias = sw.get('bias') ?? tf.zerosLike(mean);
        const b2 = tf.add(beta, tf.mul(tf.sub(oldBias, mean), scale));
        const values = target.weights.map((w) => {
          const n = weightName(w);
          // Fresh tensors (see prune/apply.ts: wasm keeps internal shapes on some op outputs).
          if (n === kernelKey) return tf.tensor(k2.dataSync(), k2.shape, 'float32');
          if (n === 'bias') return tf.tensor1d(b2.dataSync() as Float32Array, 'float32');
          throw new ModelError(`folded conv '${target.name}': unexpected weight '${n}'`);
        });
        target.setWeights(values);
      });
    }
  } catch (err) {
    folded.dispose();
    throw err;
  }
  opts.report?.({ folded: new Map([...pairs].map(([c, bn]) => [c, bn.name])), skipped });
  return folded;
}
