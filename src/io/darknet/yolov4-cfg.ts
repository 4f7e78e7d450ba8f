/**
 * Our YOLOv4 (model/layout.ts, the PyTorch reference's layer names) written as a darknet .cfg with the
 * sections of AlexeyAB's yolov4.cfg, for any widths, block counts and class count.
 *
 * The two layouts correspond one to one: darknet's [convolutional] sections come in exactly the order
 * of yolov4ConvLayout, so conv k of the cfg is layout conv k (`darknetConvNames`). The graph differs
 * only in ordering conventions that the sections below reproduce:
 * - a CSP stage routes back to the downsample conv (`layers=-2`) before split_conv1, and concatenates
 *   [blocks output, split_conv0] (`layers=-1,-N`), as the reference's cat([x1, x0]);
 * - SPP is maxpool 5, 9, 13 of the same input concatenated as [mp13, mp9, mp5, x];
 * - darknet's heads come in the order they are computed: stride 8 first (yolo_head3, mask of our
 *   last head), so [yolo] section h holds our output 2 - h.
 */
import { headChannels, type Yolov4Config } from '../../model/config.ts';
import { yolov4ConvLayout, type ConvSpec } from '../../model/layout.ts';

/** Our output index of darknet's [yolo] section h (darknet: stride 8, 16, 32; ours: 32, 16, 8). */
export const darknetHeadToOutput = (h: number): number => 2 - h;

/** The tfjs layer names that darknet conv k (k-th [convolutional] section) maps to. */
export interface NativeConvNames {
  conv: string;
  /** The BatchNormalization after it; absent for the head output convs (linear, with bias). */
  bn?: string;
}

export function darknetConvNames(blocks: number[]): NativeConvNames[] {
  return yolov4ConvLayout(blocks).map((s) => (s.isHeadOutput
    ? { conv: s.name }
    : { conv: s.name, bn: `${s.name.replace(/\.conv$/, '')}.bn` }));
}

/**
 * Training settings of AlexeyAB's yolov4.cfg, kept so the exported file trains in darknet as the
 * original would. They do not change the forward pass.
 */
const NET_TRAINING = [
  'batch=64', 'subdivisions=8', 'momentum=0.949', 'decay=0.0005', 'angle=0', 'saturation=1.5', 'exposure=1.5',
  'hue=.1', 'learning_rate=0.0013', 'burn_in=1000', 'max_batches=500500', 'policy=steps', 'steps=400000,450000',
  'scales=.1,.1', 'mosaic=1',
];
const YOLO_TRAINING = [
  'jitter=.3', 'ignore_thresh=.7', 'truth_thresh=1', 'iou_thresh=0.213', 'cls_normalizer=1.0',
  'iou_normalizer=0.07', 'iou_loss=ciou', 'nms_kind=greedynms', 'beta_nms=0.6', 'max_delta=5',
];

/**
 * The cfg text. Widths come from `widths` (e.g. read off a pruned model) or the config's; the input
 * size, anchors, masks, scale_x_y and classes from the config.
 */
export function yolov4DarknetCfgText(config: Yolov4Config, widths: Record<string, number> = config.widths): string {
  const layout = new Map<string, ConvSpec>(yolov4ConvLayout(config.blocks).map((s) => [s.name, s]));
  const sections: string[] = [];
  const add = (header: string, lines: string[]): number => sections.push([header, ...lines].join('\n')) - 1;

  const conv = (prefix: string): number => {
    const name = `${prefix}.conv`;
    const spec = layout.get(name)!;
    return add('[convolutional]', [
      'batch_normalize=1', `filters=${widths[name]}`, `size=${spec.kernel}`, `stride=${spec.stride}`, 'pad=1',
      `activation=${spec.activation}`,
    ]);
  };
  const route = (...from: number[]): number => {
    const self = sections.length;
    // Relative references inside a block, absolute ones across the network, as AlexeyAB writes them.
    const refs = from.map((i) => (self - i <= 40 ? String(i - self) : String(i)));
    return add('[route]', [`layers=${refs.join(',')}`]);
  };
  const seq = (prefix: string, n: number): number => {
    let last = -1;
    for (let i = 0; i < n; i++) last = conv(`${prefix}.${i}`);
    return last;
  };

  conv('backbone.conv1');
  const stageOut: number[] = [];
  for (let s = 0; s < 5; s++) {
    const p = `backbone.stages.${s}`;
    const down = conv(`${p}.downsample_conv`);
    const split0 = conv(`${p}.split_conv0`);
    route(down);
    conv(`${p}.split_conv1`);
    for (let b = 0; b < config.blocks[s]; b++) {
      conv(`${p}.blocks_conv.${b}.block.0`);
      conv(`${p}.blocks_conv.${b}.block.1`);
      add('[shortcut]', ['from=-3', 'activation=linear']);
    }
    const blocksOut = conv(`${p}.blocks_conv.${config.blocks[s]}`);
    route(blocksOut, split0);
    stageOut.push(conv(`${p}.concat_conv`));
  }

  const sppIn = seq('conv1', 3);
  const pool = (size: number) => add('[maxpool]', ['stride=1', `size=${size}`]);
  const mp5 = pool(5);
  route(sppIn);
  const mp9 = pool(9);
  route(sppIn);
  const mp13 = pool(13);
  route(mp13, mp9, mp5, sppIn);
  const p5 = seq('conv2', 3);

  const upsampled = (prefix: string) => {
    conv(`${prefix}.upsample.0`);
    return add('[upsample]', ['stride=2']);
  };
  const topDown = (upPrefix: string, lateral: number, lateralConv: string, five: string): number => {
    const up = upsampled(upPrefix);
    route(lateral);
    const side = conv(lateralConv);
    route(side, up);
    return seq(five, 5);
  };
  const p4 = topDown('upsample1', stageOut[3], 'conv_for_P4', 'make_five_conv1');
  const p3 = topDown('upsample2', stageOut[2], 'conv_for_P3', 'make_five_conv2');

  const head = (prefix: string, output: number) => {
    conv(`${prefix}.0`);
    add('[convolutional]', ['size=1', 'stride=1', 'pad=1', `filters=${headChannels(config)}`, 'activation=linear']);
    const scale = config.scaleXY?.[output];
    add('[yolo]', [
      `mask=${config.anchorMask[output].join(',')}`,
      `anchors=${config.anchors.map((a) => `${a[0]},${a[1]}`).join(', ')}`,
      `classes=${config.numClasses}`, `num=${config.anchors.length}`,
      ...(scale !== undefined && scale !== 1 ? [`scale_x_y=${scale}`] : []),
      ...YOLO_TRAINING,
    ]);
  };
  const bottomUp = (from: number, downConv: string, lateral: number, five: string): number => {
    route(from);
    const down = conv(downConv);
    route(down, lateral);
    return seq(five, 5);
  };
  head('yolo_head3', 2);
  const n4 = bottomUp(p3, 'down_sample1', p4, 'make_five_conv3');
  head('yolo_head2', 1);
  bottomUp(n4, 'down_sample2', p5, 'make_five_conv4');
  head('yolo_head1', 0);

  const net = ['[net]', ...NET_TRAINING.slice(0, 2), `width=${config.inputSize}`, `height=${config.inputSize}`, 'channels=3',
    ...NET_TRAINING.slice(2)].join('\n');
  return `${[net, ...sections].join('\n\n')}\n`;
}
