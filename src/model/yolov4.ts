/**
 * YOLOv4 (CSPDarknet53 + SPP + PANet + 3 heads) as a tfjs functional LayersModel.
 *
 * Layer names mirror the PyTorch state-dict prefixes of the common implementation
 * (bubbliiiing/yolov4-pytorch), e.g. `backbone.stages.2.blocks_conv.0.block.1.conv`, `conv2.2.bn`,
 * `yolo_head1.1`, so a layer is named the same way in both worlds.
 *
 * Layout is NHWC. Input: [batch, H, W, 3], RGB / 255, H and W multiples of 32 (any size: the
 * spatial dims are left open). Outputs, in this order: yolo_head1 (stride 32), yolo_head2 (stride 16),
 * yolo_head3 (stride 8), each [batch, H/s, W/s, anchorsPerHead * (5 + classes)].
 */
import * as tf from '@tensorflow/tfjs';
import { Mish } from './mish.ts';
import { ConfigError, headChannels, resolveConfig, type Yolov4Config, type Yolov4ConfigInput } from './config.ts';
import { yolov4ConvLayout, type ConvSpec } from './layout.ts';
import { InternalError } from '../util/errors.ts';

type T = tf.SymbolicTensor;

const BN_EPSILON = 1e-5; // PyTorch's default
const BN_MOMENTUM = 0.9; // PyTorch's momentum 0.1 expressed the Keras way

export function buildYolov4(configInput: Yolov4Config | Yolov4ConfigInput = {}): tf.LayersModel {
  // Resolving is idempotent, so resolved and partial configs take the same path.
  const config = resolveConfig(configInput);
  const specs = new Map<string, ConvSpec>(yolov4ConvLayout(config.blocks).map((s) => [s.name, s]));

  /** Conv (no bias) -> BN -> activation, named `${prefix}.conv|bn|activation|relu`. */
  const convBlock = (prefix: string, x: T): T => {
    const spec = specs.get(`${prefix}.conv`);
    if (!spec) throw new InternalError(`internal: no conv spec for ${prefix}`);
    const filters = config.widths[spec.name];
    if (filters === undefined) throw new ConfigError(`config has no width for conv "${spec.name}"`);
    if (spec.stride > 1) {
      // PyTorch pads k//2 on every side; TF 'same' would pad only bottom/right at stride 2.
      x = tf.layers.zeroPadding2d({ padding: Math.floor(spec.kernel / 2), name: `${prefix}.pad` }).apply(x) as T;
    }
    x = tf.layers.conv2d({
      name: spec.name,
      filters,
      kernelSize: spec.kernel,
      strides: spec.stride,
      padding: spec.stride > 1 ? 'valid' : 'same',
      useBias: false,
    }).apply(x) as T;
    x = tf.layers.batchNormalization({ name: `${prefix}.bn`, axis: -1, epsilon: BN_EPSILON, momentum: BN_MOMENTUM }).apply(x) as T;
    if (spec.activation === 'mish') return new Mish({ name: `${prefix}.activation` }).apply(x) as T;
    return tf.layers.leakyReLU({ name: `${prefix}.relu`, alpha: 0.1 }).apply(x) as T;
  };

  const concat = (name: string, xs: T[]): T => tf.layers.concatenate({ name, axis: -1 }).apply(xs) as T;

  const cspStage = (s: number, x: T): T => {
    const p = `backbone.stages.${s}`;
    x = convBlock(`${p}.downsample_conv`, x);
    const x0 = convBlock(`${p}.split_conv0`, x);
    let x1 = convBlock(`${p}.split_conv1`, x);
    for (let b = 0; b < config.blocks[s]; b++) {
      const h = convBlock(`${p}.blocks_conv.${b}.block.1`, convBlock(`${p}.blocks_conv.${b}.block.0`, x1));
      x1 = tf.layers.add({ name: `${p}.blocks_conv.${b}.add` }).apply([x1, h]) as T;
    }
    x1 = convBlock(`${p}.blocks_conv.${config.blocks[s]}`, x1);
    return convBlock(`${p}.concat_conv`, concat(`${p}.cat`, [x1, x0]));
  };

  const spp = (x: T): T => {
    // Output order cat([mp13, mp9, mp5, x]) as in the reference.
    const pools = [5, 9, 13].map((k, i) =>
      tf.layers.maxPooling2d({ name: `SPP.maxpools.${i}`, poolSize: k, strides: 1, padding: 'same' }).apply(x) as T);
    return concat('SPP.cat', [pools[2], pools[1], pools[0], x]);
  };

  const upsample = (p: string, x: T): T =>
    tf.layers.upSampling2d({ name: `${p}.upsample.1`, size: [2, 2], interpolation: 'nearest' }).apply(convBlock(`${p}.upsample.0`, x)) as T;

  const seq = (p: string, n: number, x: T): T => {
    for (let i = 0; i < n; i++) x = convBlock(`${p}.${i}`, x);
    return x;
  };

  const head = (p: string, x: T): T =>
    tf.layers.conv2d({ name: `${p}.1`, filters: headChannels(config), kernelSize: 1, useBias: true }).apply(convBlock(`${p}.0`, x)) as T;

  const input = tf.input({ name: 'input', shape: [null, null, 3] });
  let x = convBlock('backbone.conv1', input);
  const stageOut: T[] = [];
  for (let s = 0; s < 5; s++) {
    x = cspStage(s, x);
    stageOut.push(x);
  }
  const [x2, x1, x0] = [stageOut[2], stageOut[3], stageOut[4]];

  let p5 = seq('conv2', 3, spp(seq('conv1', 3, x0)));
  let p4 = seq('make_five_conv1', 5, concat('cat_P4', [convBlock('conv_for_P4', x1), upsample('upsample1', p5)]));
  const p3 = seq('make_five_conv2', 5, concat('cat_P3', [convBlock('conv_for_P3', x2), upsample('upsample2', p4)]));
  p4 = seq('make_five_conv3', 5, concat('cat_P3_down', [convBlock('down_sample1', p3), p4]));
  p5 = seq('make_five_conv4', 5, concat('cat_P4_down', [convBlock('down_sample2', p4), p5]));

  const outputs = [head('yolo_head1', p5), head('yolo_head2', p4), head('yolo_head3', p3)];
  return tf.model({ name: config.name, inputs: input, outputs });
}

/** Output widths of every conv, read back from a built model (the inverse of config.widths). */
export function convWidthsOf(model: tf.LayersModel): Record<string, number> {
  const widths: Record<string, number> = {};
  for (const layer of model.layers) {
    if (layer.getClassName() === 'Conv2D') widths[layer.name] = (layer.getConfig().filters as number);
  }
  return widths;
}

// Counting lives in model/cost.ts; the old name stays because eight files (CLI, scripts, tests) call it.
export { countParams as countTrainableParams, countNonTrainableParams } from './cost.ts';
