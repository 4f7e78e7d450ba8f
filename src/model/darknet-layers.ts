/**
 * Serializable tfjs layers that darknet graphs need beyond the built-in ones. Importing this module
 * registers them, so checkpoints of imported darknet models reload with `tf.loadLayersModel`.
 *
 * - `ChannelSplit`: darknet's `[route] groups=G group_id=K` on one input: channels
 *   [K * C/G, (K + 1) * C/G) of a channels-last tensor.
 * - `DarknetYolo`: the identity at each detection output. Its config carries the `[yolo]` section's
 *   mask, anchors, classes and scale_x_y and, on the first output, the whole darknet cfg text (every
 *   key kept as written) and the .weights header, so an imported model can be written back to a
 *   `.cfg` + `.weights` after pruning or fine-tuning (layer configs survive both; see src/io/darknet/).
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from './errors.ts';

export interface ChannelSplitArgs {
  groups: number;
  groupId: number;
  name?: string;
  trainable?: boolean;
}

export class ChannelSplit extends tf.layers.Layer {
  static className = 'ChannelSplit';
  readonly groups: number;
  readonly groupId: number;

  constructor(args: ChannelSplitArgs) {
    super(args);
    if (!Number.isInteger(args.groups) || args.groups < 1) throw new ModelError(`ChannelSplit: groups must be a positive integer, got ${args.groups}`);
    if (!Number.isInteger(args.groupId) || args.groupId < 0 || args.groupId >= args.groups) {
      throw new ModelError(`ChannelSplit: groupId must be in [0, ${args.groups}), got ${args.groupId}`);
    }
    this.groups = args.groups;
    this.groupId = args.groupId;
  }

  private part(channels: number): number {
    if (channels % this.groups !== 0) {
      throw new ModelError(`ChannelSplit '${this.name}': ${channels} channels cannot be split into ${this.groups} equal groups`);
    }
    return channels / this.groups;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const c = x.shape[x.rank - 1];
      const n = this.part(c);
      const begin = x.shape.map((_, i) => (i === x.rank - 1 ? this.groupId * n : 0));
      const size = x.shape.map((d, i) => (i === x.rank - 1 ? n : d));
      return tf.slice(x, begin, size);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = s[s.length - 1];
    return [...s.slice(0, -1), c === null ? null : this.part(c)];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groups: this.groups, groupId: this.groupId };
  }
}

/**
 * One `[yolo]` output. tfjs turns config keys and string values to snake_case when saving and back
 * to camelCase when loading, so the darknet cfg travels as a lowercase hex string of its UTF-8 text
 * (which both conversions leave alone) and the keys are plain camelCase words.
 */
export interface DarknetYoloArgs {
  /** Darknet layer index of the [yolo] section. */
  index: number;
  mask: number[];
  /** All anchors of the section, [w, h] in input pixels. */
  anchors: [number, number][];
  classes: number;
  scaleXy: number;
  /** The whole darknet cfg text, hex-encoded UTF-8 (stored on the first output only). */
  cfgHex?: string;
  /** The .weights header the model was loaded from (first output only). */
  weightsHeader?: { major: number; minor: number; revision: number; seen: number };
  name?: string;
  trainable?: boolean;
}

export class DarknetYolo extends tf.layers.Layer {
  static className = 'DarknetYolo';
  readonly index: number;
  readonly mask: number[];
  readonly anchors: [number, number][];
  readonly classes: number;
  readonly scaleXy: number;
  readonly cfgHex?: string;
  /** Set by the .weights loader; written back by export. */
  weightsHeader?: DarknetYoloArgs['weightsHeader'];

  constructor(args: DarknetYoloArgs) {
    super(args);
    this.index = args.index;
    this.mask = [...args.mask];
    this.anchors = args.anchors.map((a) => [a[0], a[1]]);
    this.classes = args.classes;
    this.scaleXy = args.scaleXy;
    if (args.cfgHex !== undefined) {
      if (!/^[0-9a-f]*$/.test(args.cfgHex)) throw new ModelError(`DarknetYolo '${args.name}': cfgHex must be lowercase hex`);
      this.cfgHex = args.cfgHex;
    }
    if (args.weightsHeader) this.weightsHeader = { ...args.weightsHeader };
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    // The identity (like Dropout at inference): decoding happens outside the model.
    return Array.isArray(inputs) ? inputs[0] : inputs;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      ...super.getConfig(),
      index: this.index,
      mask: this.mask,
      anchors: this.anchors,
      classes: this.classes,
      scaleXy: this.scaleXy,
    };
    if (this.cfgHex !== undefined) config.cfgHex = this.cfgHex;
    if (this.weightsHeader) config.weightsHeader = { ...this.weightsHeader };
    return config;
  }
}

/** UTF-8 text -> lowercase hex (safe inside tfjs layer configs). */
export function textToHex(text: string): string {
  return Buffer.from(text, 'utf8').toString('hex');
}

export function hexToText(hex: string): string {
  return Buffer.from(hex, 'hex').toString('utf8');
}

tf.serialization.registerClass(ChannelSplit);
tf.serialization.registerClass(DarknetYolo);
