/**
 * The typed spec of each darknet layer after resolving its cfg section (options, indices, output
 * shape), and the resolved network. Plain data, shared by the resolver, the builder and the weights.
 */
import type { DarknetCfg } from './cfg.ts';

export type DarknetActivation = 'linear' | 'leaky' | 'mish' | 'relu' | 'logistic' | 'swish' | 'relu6' | 'tanh' | 'elu' | 'selu';

export interface Shape3 {
  h: number;
  w: number;
  c: number;
}

interface Base {
  index: number;
  line: number;
  /** Output shape at the cfg's input size. */
  out: Shape3;
}

export interface ConvSpec extends Base {
  type: 'convolutional';
  filters: number;
  size: number;
  stride: number;
  /** Zero padding on every side (darknet's `padding`). */
  padding: number;
  groups: number;
  /** groups equals the input channels (and filters is a multiple of them). */
  depthwise: boolean;
  batchNormalize: boolean;
  activation: DarknetActivation;
  inChannels: number;
}

export interface ShortcutSpec extends Base {
  type: 'shortcut';
  /** Absolute indices of the `from` layers (the previous layer is the other input). */
  from: number[];
  activation: DarknetActivation;
}

export interface RouteSpec extends Base {
  type: 'route';
  /** Absolute indices. */
  layers: number[];
  groups: number;
  groupId: number;
}

export interface UpsampleSpec extends Base {
  type: 'upsample';
  stride: number;
}

export interface MaxpoolSpec extends Base {
  type: 'maxpool';
  size: number;
  stride: number;
  /** The TF padding mode that reproduces darknet's for this layer. */
  tfPadding: 'same' | 'valid';
}

export interface DropoutSpec extends Base {
  type: 'dropout';
  probability: number;
}

export interface YoloSpec extends Base {
  type: 'yolo';
  mask: number[];
  /** All anchors of the section (num of them), [w, h] in input pixels. */
  anchors: [number, number][];
  classes: number;
  scaleXY: number;
  newCoords: number;
}

export type LayerSpec = ConvSpec | ShortcutSpec | RouteSpec | UpsampleSpec | MaxpoolSpec | DropoutSpec | YoloSpec;

export interface DarknetNetwork {
  cfg: DarknetCfg;
  width: number;
  height: number;
  channels: number;
  layers: LayerSpec[];
  /** The [yolo] layers in cfg order (the model's outputs, in this order). */
  yolo: YoloSpec[];
}
