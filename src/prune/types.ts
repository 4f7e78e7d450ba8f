/**
 * Plain-data types of the pruner: graphs, groups and plans hold numbers and strings only, never
 * tensors, so they can be printed, serialized, compared in tests and kept around for free.
 */

/**
 * Which part of a layer a dependency touches.
 * - `out`: a producer's filters (conv kernel last axis, Dense kernel axis 1, separable pointwise axis 3)
 * - `in`: a consumer's input channels (conv kernel axis -2, Dense kernel axis 0, separable pointwise axis 2)
 * - `bias`: the bias entries of the channels a layer outputs
 * - `bn`: BatchNormalization gamma, beta, moving mean and moving variance
 * - `depthwise`: a depthwise kernel's input-channel axis (DepthwiseConv2D, SeparableConv2D)
 * - `alpha`: PReLU's per-channel slopes
 */
export type Dim = 'out' | 'in' | 'bias' | 'bn' | 'depthwise' | 'alpha';

/** A weight of a layer (by its short name, e.g. `kernel`, `gamma`) and the axis a dependency slices. */
export interface WeightAxis {
  weight: string;
  axis: number;
}

export interface WeightInfo {
  /** Short name: the part of the variable's original name after the last `/` (`kernel`, `moving_mean`...). */
  name: string;
  shape: number[];
  /** A parameter (trainable by nature). BN moving statistics are not, whatever `layer.trainable` says. */
  trainable: boolean;
}

/** How the pruner treats a layer class. */
export type LayerKind =
  | 'input' // InputLayer: fixed channels
  | 'producer' // makes new channels from its input: Conv*, Dense, SeparableConv2D
  | 'depthwise' // DepthwiseConv2D: out channel c*mult+m comes from in channel c
  | 'bn' // per-channel affine with weights
  | 'prelu' // per-channel slopes
  | 'passthrough' // channel i in = channel i out (activations, pooling, padding, upsampling, dropout...)
  | 'merge' // Add/Multiply/...: all inputs and the output share channel indices
  | 'concat' // Concatenate
  | 'split' // ChannelSplit (darknet [route] groups/group_id): one of G equal channel groups; the groups are tied
  | 'flatten' // Flatten: channel c appears once per spatial position
  | 'barrier'; // the pruner cannot see through it: its input and output channels stay as they are

/** The tensor a layer produced at one call: `${layer}:${nodeIndex}:${tensorIndex}`. */
export type TensorKey = string;

export interface GraphLayer {
  name: string;
  className: string;
  kind: LayerKind;
  /** Position in the model's topological order. */
  index: number;
  /** Inputs of each call (node) of the layer. */
  inputs: TensorKey[][];
  /** Outputs of each call (node) of the layer. */
  outputs: TensorKey[][];
  weights: WeightInfo[];
  /** Why the layer is a barrier (kind `barrier` only). */
  barrierReason?: string;
}

/**
 * A dependency of a layer on channels, before grouping: local position p of the layer's sliced axes
 * carries channel class `classes[p]`.
 */
export interface GraphMember {
  layer: string;
  dim: Dim;
  classes: number[];
  /** Start positions of the concatenated pieces the layer reads (concat offsets), 0 first. */
  segments: number[];
  params: WeightAxis[];
}

/** Channels created by one layer (a producer's filters, a model input, a barrier's output). */
export interface ChannelSpace {
  layer: string;
  kind: 'out' | 'input' | 'barrier';
  /** Atom ids of its channels: atoms[i] is channel i. */
  atoms: number[];
}

export interface Barrier {
  layer: string;
  className: string;
  reason: string;
}

/**
 * How channels flow through a model. Channels are "atoms" (one per channel a producer, input or
 * barrier creates); merges (Add...) and shared layers tie atoms into classes: all atoms of a class are
 * removed together or not at all.
 */
export interface DependencyGraph {
  modelName: string;
  layers: GraphLayer[];
  /** Atom ids per channel position (last axis) of every tensor in the model. */
  tensors: Record<TensorKey, number[]>;
  outputs: TensorKey[];
  spaces: ChannelSpace[];
  /** Class id of every atom. */
  classOf: number[];
  classCount: number;
  /** Per class, why it cannot be pruned for structural reasons (model input/output, barrier), or null. */
  fixedReason: (string | null)[];
  members: GraphMember[];
  /** Producers whose output reaches a model output through weightless layers only (detection heads). */
  outputProducers: string[];
  /** The BatchNormalization that directly consumes each producer's output (for `bn-scale`). */
  bnAfter: Record<string, string>;
  barriers: Barrier[];
}

/** One dependency of a group: a contiguous run of one layer's axis that carries the group's channels. */
export interface GroupMember {
  layer: string;
  className: string;
  dim: Dim;
  /** First local position of the run (e.g. the concat offset of an input channel run). */
  offset: number;
  /** Group channel index of each position offset, offset+1, ... of the run. */
  channels: number[];
  /** Weights and axes the run slices. */
  params: WeightAxis[];
}

export interface PruneGroup {
  /** The root layer's name (unique). */
  id: string;
  /** The first producer in topological order; its filter index is the group channel index. */
  root: string;
  /** Every layer whose filters create the group's channels (several when tied by residual adds). */
  producers: string[];
  /** Channel count of the shared channel space. */
  n: number;
  /** Channels that cannot be removed, with the first reason found. */
  fixed: number[];
  prunable: boolean;
  reason?: string;
  members: GroupMember[];
}

export type Strategy = 'independent' | 'greedy';
export type Importance = 'l1' | 'l2' | 'bn-scale' | 'random';
/** How a group tied across several producers (residual adds) scores a channel. */
export type GroupReduction = 'root' | 'sum' | 'mean' | 'max';

/** A dependency of a planned group, with its removed local indices and parameter count. */
export interface PlannedDependency {
  layer: string;
  className: string;
  dim: Dim;
  offset: number;
  /** Run length (the group's channels as this layer sees them). */
  span: number;
  /** Size of the sliced axis of this layer before this dependency is applied. */
  size: number;
  /** Removed local indices (offset included), ascending. */
  indices: number[];
  /** Parameters (trainable by nature) removed, counted on the network as shrunk by earlier dependencies. */
  params: number;
  sliced: WeightAxis[];
}

export interface PlannedGroup {
  id: string;
  root: string;
  producers: string[];
  amount: number;
  n: number;
  /** Importance score of every group channel (lower = removed first). */
  scores: number[];
  /** Removed group channel indices (= root filter indices), ascending. */
  remove: number[];
  keep: number;
  deps: PlannedDependency[];
  params: number;
}

export interface PrunePlan {
  modelName: string;
  strategy: Strategy;
  importance: Importance;
  groupReduction: GroupReduction;
  roundTo: number;
  seed: number;
  groups: PlannedGroup[];
  /** Groups in scope that were left alone, and why. */
  skipped: { layer: string; reason: string }[];
  /** Original weight shapes of every layer the plan touches (guards against applying it to another model). */
  shapes: Record<string, Record<string, number[]>>;
  paramsBefore: number;
  paramsRemoved: number;
  paramsAfter: number;
  /** Multiply-adds x 2 of conv/dense layers, at `inputSize`, when planPruning was given one. */
  flops?: { inputSize: number[]; before: number; after: number };
}
