/**
 * What the pruner knows about each tfjs layer class: how channels flow through it and which weight
 * axes a dependency slices. Anything not listed is a barrier (its channels are left alone), which is
 * always safe; the graph reports every barrier so users see why a layer cannot be pruned.
 */
import type * as tf from '@tensorflow/tfjs';
import { shortName } from '../model/weight-name.ts';
import { layerWeights } from '../model/cost.ts';
import type { Dim, LayerKind, WeightAxis, WeightInfo } from './types.ts';

const PRODUCERS = new Set([
  'Conv1D', 'Conv2D', 'Conv3D', 'Conv2DTranspose', 'Conv3DTranspose', 'SeparableConv2D', 'Dense',
]);

/** Layers that map channel i to channel i and keep channels-last layout. */
const PASS_THROUGH = new Set([
  'Mish', 'ReLU', 'LeakyReLU', 'ELU', 'ThresholdedReLU',
  'Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout',
  'MaxPooling1D', 'MaxPooling2D', 'MaxPooling3D', 'AveragePooling1D', 'AveragePooling2D', 'AveragePooling3D',
  'GlobalAveragePooling1D', 'GlobalAveragePooling2D', 'GlobalMaxPooling1D', 'GlobalMaxPooling2D',
  'ZeroPadding2D', 'Cropping2D', 'UpSampling2D', 'RepeatVector', 'Rescaling', 'Resizing', 'CenterCrop',
  'RandomWidth', 'Identity',
  'DarknetYolo', // identity at a darknet detection output (src/model/darknet-layers.ts)
]);

/**
 * Layers that output one of G equal groups of their input channels (darknet's [route] groups/group_id,
 * src/model/darknet-layers.ts), configured by `groups` and `groupId`. The graph ties channel j of every
 * group together, so pruning the source removes the same positions from each group and the groups stay
 * equal: the split layer itself never changes.
 */
const SPLITS = new Set(['ChannelSplit']);

const MERGES = new Set(['Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum']);

/** Element-wise activations an `Activation` layer may name (softmax mixes channels: barrier). */
const ELEMENTWISE_ACTIVATIONS = new Set([
  'linear', 'relu', 'relu6', 'elu', 'selu', 'softplus', 'softsign', 'sigmoid', 'hardSigmoid', 'hard_sigmoid',
  'tanh', 'swish', 'mish', 'gelu', 'gelu_new',
]);

export function isElementwiseActivation(name: string): boolean {
  return ELEMENTWISE_ACTIVATIONS.has(name);
}

/** Known layers whose channel use the pruner does not follow. */
const NOT_FOLLOWED = new Set([
  'Dot', 'Embedding', 'Masking', 'CategoryEncoding', 'RNN', 'SimpleRNN', 'GRU', 'LSTM', 'ConvRNN2D', 'ConvLSTM2D',
  'TimeDistributed', 'Bidirectional',
]);

export interface KindInfo {
  kind: LayerKind;
  reason?: string;
}

/** Classifies a layer by class name and config. `extraPassThrough` lets users declare custom layers. */
export function layerKind(className: string, config: Record<string, unknown>, extraPassThrough: ReadonlySet<string> = new Set()): KindInfo {
  if (config.dataFormat === 'channelsFirst') {
    return { kind: 'barrier', reason: 'uses channelsFirst data format (only channelsLast is followed)' };
  }
  if (className === 'InputLayer') return { kind: 'input' };
  if (PRODUCERS.has(className)) return { kind: 'producer' };
  if (className === 'DepthwiseConv2D') return { kind: 'depthwise' };
  if (className === 'BatchNormalization') {
    const axis = config.axis;
    if (axis === -1 || axis === undefined || axis === null) return { kind: 'bn' };
    // A positive axis is checked against the rank by the graph builder.
    if (typeof axis === 'number') return { kind: 'bn' };
    return { kind: 'barrier', reason: `normalizes over axis ${JSON.stringify(axis)}` };
  }
  if (className === 'PReLU') return { kind: 'prelu' };
  if (PASS_THROUGH.has(className) || extraPassThrough.has(className)) return { kind: 'passthrough' };
  if (className === 'Activation') {
    const act = String(config.activation);
    if (ELEMENTWISE_ACTIVATIONS.has(act)) return { kind: 'passthrough' };
    return { kind: 'barrier', reason: `activation '${act}' mixes channels` };
  }
  if (MERGES.has(className)) return { kind: 'merge' };
  if (className === 'Concatenate') return { kind: 'concat' };
  if (SPLITS.has(className)) return { kind: 'split' };
  if (className === 'Flatten') return { kind: 'flatten' };
  if (className === 'Softmax') return { kind: 'barrier', reason: 'softmax mixes channels' };
  if (className === 'LayerNormalization') return { kind: 'barrier', reason: 'normalizes across channels' };
  if (className === 'Reshape' || className === 'Permute') return { kind: 'barrier', reason: 'rearranges the channel axis' };
  if (NOT_FOLLOWED.has(className)) return { kind: 'barrier', reason: `${className} layers are not followed` };
  if (className === 'Model' || className === 'Functional' || className === 'Sequential') {
    return { kind: 'barrier', reason: 'nested models are not followed' };
  }
  return { kind: 'barrier', reason: `unknown layer class '${className}': the pruner does not know how it uses channels` };
}

/** Short weight names with their shapes, and whether each is a parameter by nature (model/cost.ts reads them). */
export function weightInfos(layer: tf.layers.Layer): WeightInfo[] {
  return layerWeights(layer);
}

/** Config key that holds a producer's output width. */
export function widthKey(className: string): 'filters' | 'units' {
  return className === 'Dense' ? 'units' : 'filters';
}

/** Weight axes a dimension of a layer slices, limited to the weights the layer has. */
export function dimParams(className: string, dim: Dim, weights: WeightInfo[]): WeightAxis[] {
  const has = (n: string) => weights.find((w) => w.name === n);
  const out: WeightAxis[] = [];
  const push = (n: string, axis: (rank: number) => number) => {
    const w = has(n);
    if (w) out.push({ weight: n, axis: axis(w.shape.length) });
  };
  const transpose = className === 'Conv2DTranspose' || className === 'Conv3DTranspose';
  switch (dim) {
    case 'out':
      if (className === 'SeparableConv2D') push('pointwise_kernel', (r) => r - 1);
      else if (className === 'Dense') push('kernel', () => 1);
      else push('kernel', (r) => (transpose ? r - 2 : r - 1));
      break;
    case 'in':
      if (className === 'SeparableConv2D') push('pointwise_kernel', (r) => r - 2);
      else if (className === 'Dense') push('kernel', () => 0);
      else push('kernel', (r) => (transpose ? r - 1 : r - 2));
      break;
    case 'bias':
      push('bias', () => 0);
      break;
    case 'bn':
      for (const n of ['gamma', 'beta', 'moving_mean', 'moving_variance']) push(n, () => 0);
      break;
    case 'depthwise':
      push('depthwise_kernel', () => 2);
      break;
    case 'alpha':
      push('alpha', (r) => r - 1);
      break;
  }
  return out;
}
