/**
 * Model cost, the one place that counts: parameter count and FLOPs of any tf.LayersModel, with one
 * shape propagation. `info` (model/summary.ts), the pruner's plan costs and the benchmarks are views of it.
 *
 * Parameters: weights that are trainable by nature (BN moving mean/variance excluded, whether or not a
 * layer is frozen at the moment): the number PyTorch reports.
 *
 * FLOPs = 2 x multiply-adds of the conv and dense layers (BN, activations, pooling, adds and biases are
 * not counted), the usual convention; `macs` is reported too. Spatial sizes are propagated from the
 * given input size with each layer's own shape inference, so models with open H and W work.
 */
import type * as tf from '@tensorflow/tfjs';
import { functionalConfig, outputShapes, type Shape } from './topology.ts';
import { shortName } from './weight-name.ts';
import { ModelError } from './errors.ts';

/** A weight of a layer by its short name (`kernel`, `moving_mean`...), and whether it is trainable by nature. */
export interface LayerWeight {
  name: string;
  shape: number[];
  trainable: boolean;
}

export function layerWeights(layer: tf.layers.Layer): LayerWeight[] {
  // `_nonTrainableWeights` holds the weights that are never trained (BN moving statistics), while
  // `trainableWeights` also depends on whether the layer is frozen at the moment.
  const intrinsic = (layer as unknown as { _nonTrainableWeights?: { name: string }[] })._nonTrainableWeights;
  const nonTrainable = new Set((intrinsic ?? layer.nonTrainableWeights).map((w) => w.name));
  return layer.weights.map((w) => ({
    name: shortName(w.originalName ?? w.name),
    shape: w.shape.map((d) => d as number),
    trainable: !nonTrainable.has(w.name),
  }));
}

const volume = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Parameters of one layer: trainable ones, and the never-trained ones (BN moving statistics). */
export function layerParams(layer: tf.layers.Layer): { trainable: number; nonTrainable: number } {
  let trainable = 0;
  let nonTrainable = 0;
  for (const w of layerWeights(layer)) {
    if (w.trainable) trainable += volume(w.shape);
    else nonTrainable += volume(w.shape);
  }
  return { trainable, nonTrainable };
}

/** Trainable parameters, the number PyTorch reports; with includeNonTrainable, BN moving statistics too. */
export function countParams(model: tf.LayersModel, opts: { includeNonTrainable?: boolean } = {}): number {
  let n = 0;
  for (const layer of model.layers) {
    const p = layerParams(layer);
    n += p.trainable + (opts.includeNonTrainable ? p.nonTrainable : 0);
  }
  return n;
}

/** Weights that are never trained (BN moving mean and variance). */
export function countNonTrainableParams(model: tf.LayersModel): number {
  return model.layers.reduce((n, layer) => n + layerParams(layer).nonTrainable, 0);
}

/** A weight of a layer (by its short name) and one of its axes. */
export interface WeightAxisRef {
  weight: string;
  axis: number;
}

/** Multiply-adds of a layer as a sum of terms, each linear in the sizes of the listed weight axes. */
export interface MacTerm {
  macs: number;
  scales: WeightAxisRef[];
}

export interface LayerCost {
  name: string;
  className: string;
  macs: number;
  terms: MacTerm[];
}

export interface FlopCount {
  inputSize: number[];
  macs: number;
  flops: number;
  /** The layers that do multiply-adds. */
  layers: LayerCost[];
  /** Every layer's first input and output shape (first call), batch 1, in model order. */
  shapes: LayerShapes[];
}

export interface LayerShapes {
  name: string;
  input?: Shape;
  output: Shape;
}

/**
 * `inputSize`: the spatial size of the (image) inputs, a number for square or [h, w] (or more dims);
 * optional when the model's input shape is fully known.
 */
export function countFlops(model: tf.LayersModel, inputSize?: number | number[]): FlopCount {
  const cfg = functionalConfig(model);
  const shapes = new Map<string, Shape>();
  const layers: LayerCost[] = [];
  const layerShapes: LayerShapes[] = [];
  let usedSize: number[] = [];
  const size = (s: Shape, from = 1, to = s.length) => {
    let p = 1;
    for (let i = from; i < to; i++) {
      const d = s[i];
      if (typeof d !== 'number') throw new ModelError(`countFlops: unknown size in shape ${JSON.stringify(s)}; pass inputSize`);
      p *= d;
    }
    return p;
  };
  for (const entry of cfg.layers) {
    const live = entry.className === 'InputLayer' ? undefined : model.getLayer(entry.name);
    const nodes = entry.className === 'InputLayer' || entry.inboundNodes.length === 0 ? [[]] : entry.inboundNodes;
    const terms: MacTerm[] = [];
    nodes.forEach((node, nodeIndex) => {
      const ins = node.map(([l, n, t]) => shapes.get(`${l}:${n}:${t}`)!);
      let outs: Shape[];
      if (entry.className === 'InputLayer') {
        const s = [...((entry.config.batchInputShape as Shape | undefined) ?? (model.getLayer(entry.name).outputShape as Shape))];
        s[0] = 1;
        const spatial = inputSize === undefined ? [] : Array.isArray(inputSize) ? inputSize : new Array(Math.max(0, s.length - 2)).fill(inputSize);
        for (let i = 1; i < s.length - 1; i++) if (spatial[i - 1] !== undefined) s[i] = spatial[i - 1];
        usedSize = s.slice(1, -1) as number[];
        outs = [s];
      } else {
        outs = outputShapes(live, entry.className, entry.config, ins);
      }
      outs.forEach((s, t) => shapes.set(`${entry.name}:${nodeIndex}:${t}`, s));
      if (nodeIndex === 0) layerShapes.push({ name: entry.name, input: ins[0], output: outs[0] });
      if (live) terms.push(...macTerms(entry.className, live, ins, outs, size));
    });
    const macs = terms.reduce((a, t) => a + t.macs, 0);
    if (terms.length > 0) layers.push({ name: entry.name, className: entry.className, macs, terms });
  }
  const macs = layers.reduce((a, l) => a + l.macs, 0);
  return { inputSize: usedSize, macs, flops: 2 * macs, layers, shapes: layerShapes };
}

function macTerms(className: string, layer: tf.layers.Layer, ins: Shape[], outs: Shape[], size: (s: Shape, from?: number, to?: number) => number): MacTerm[] {
  const weights = layerWeights(layer);
  const w = (n: string) => weights.find((x) => x.name === n);
  const out = outs[0];
  switch (className) {
    case 'Conv1D':
    case 'Conv2D':
    case 'Conv3D': {
      const k = w('kernel')!;
      const r = k.shape.length;
      return [{ macs: size(out, 1, out.length - 1) * volume(k.shape), scales: [{ weight: 'kernel', axis: r - 2 }, { weight: 'kernel', axis: r - 1 }] }];
    }
    case 'Conv2DTranspose':
    case 'Conv3DTranspose': {
      const k = w('kernel')!;
      const r = k.shape.length;
      // Every input position scatters the whole kernel.
      return [{ macs: size(ins[0], 1, ins[0].length - 1) * volume(k.shape), scales: [{ weight: 'kernel', axis: r - 2 }, { weight: 'kernel', axis: r - 1 }] }];
    }
    case 'DepthwiseConv2D': {
      const k = w('depthwise_kernel')!;
      return [{ macs: size(out, 1, out.length - 1) * volume(k.shape), scales: [{ weight: 'depthwise_kernel', axis: 2 }] }];
    }
    case 'SeparableConv2D': {
      const dk = w('depthwise_kernel')!;
      const pk = w('pointwise_kernel')!;
      const hw = size(out, 1, out.length - 1);
      return [
        { macs: hw * volume(dk.shape), scales: [{ weight: 'depthwise_kernel', axis: 2 }] },
        { macs: hw * volume(pk.shape), scales: [{ weight: 'pointwise_kernel', axis: 2 }, { weight: 'pointwise_kernel', axis: 3 }] },
      ];
    }
    case 'Dense': {
      const k = w('kernel')!;
      return [{ macs: size(ins[0], 1, ins[0].length - 1) * volume(k.shape), scales: [{ weight: 'kernel', axis: 0 }, { weight: 'kernel', axis: 1 }] }];
    }
    default:
      return [];
  }
}
