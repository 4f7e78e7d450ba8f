/**
 * The module tree of the reference PyTorch YOLOv4, bubbliiiing/yolov4-pytorch `nets.yolo.YoloBody`
 * (CSPDarkNet backbone in `nets.CSPdarknet`), for any residual block counts and conv widths: the
 * same classes, child names, child order and module attributes its `__init__` creates, so that
 * torch.save of this tree gives the bytes PyTorch gives for a (pruned) YoloBody.
 */
import type { TorchTensor } from './torch/index.ts';
import { PyFloat, PyGlobal, PyList, PyTuple, TorchExportError, type PyValue, type TorchModuleNode } from './torch/write/index.ts';

/** Where the tree takes its tensors and the few attributes that are not fixed by the architecture. */
export interface YoloBodySource {
  /** Residual blocks per backbone stage (the reference has [1, 2, 8, 8, 4]). */
  blocks: number[];
  /** The tensor under a reference state-dict key, e.g. "backbone.conv1.bn.running_var". */
  tensor(key: string): TorchTensor;
  /** eps and momentum (PyTorch's meaning) of the BatchNorm2d at `prefix`, e.g. "conv1.0.bn". */
  batchNorm(prefix: string): { eps: number; momentum: number };
  /** negative_slope of the LeakyReLU at `prefix`, e.g. "conv1.0.relu". */
  leakySlope(prefix: string): number;
}

const NETS_YOLO = 'nets.yolo';
const NETS_CSP = 'nets.CSPdarknet';
const cls = {
  YoloBody: new PyGlobal(NETS_YOLO, 'YoloBody'),
  SpatialPyramidPooling: new PyGlobal(NETS_YOLO, 'SpatialPyramidPooling'),
  Upsample: new PyGlobal(NETS_YOLO, 'Upsample'),
  CSPDarkNet: new PyGlobal(NETS_CSP, 'CSPDarkNet'),
  ResblockBody: new PyGlobal(NETS_CSP, 'Resblock_body'),
  Resblock: new PyGlobal(NETS_CSP, 'Resblock'),
  BasicConv: new PyGlobal(NETS_CSP, 'BasicConv'),
  Mish: new PyGlobal(NETS_CSP, 'Mish'),
  Conv2d: new PyGlobal('torch.nn.modules.conv', 'Conv2d'),
  BatchNorm2d: new PyGlobal('torch.nn.modules.batchnorm', 'BatchNorm2d'),
  LeakyReLU: new PyGlobal('torch.nn.modules.activation', 'LeakyReLU'),
  MaxPool2d: new PyGlobal('torch.nn.modules.pooling', 'MaxPool2d'),
  NnUpsample: new PyGlobal('torch.nn.modules.upsampling', 'Upsample'),
  Sequential: new PyGlobal('torch.nn.modules.container', 'Sequential'),
  ModuleList: new PyGlobal('torch.nn.modules.container', 'ModuleList'),
};

/** CSPDarkNet's plain attributes; pruning does not touch them. */
const BACKBONE_INPLANES = 32;
const BACKBONE_FEATURE_CHANNELS = [64, 128, 256, 512, 1024];
const SPP_POOL_SIZES = [5, 9, 13];

function node(c: PyGlobal, parts: Partial<Omit<TorchModuleNode, 'cls'>> = {}): TorchModuleNode {
  return { cls: c, version: 1, params: [], buffers: [], children: [], attrs: [], ...parts };
}

const container = (c: PyGlobal, children: TorchModuleNode[]): TorchModuleNode =>
  node(c, { children: children.map((m, i): [string, TorchModuleNode] => [String(i), m]) });

const pair = (v: number) => new PyTuple([v, v]);

export function yoloBodyModuleTree(src: YoloBodySource): TorchModuleNode {
  if (src.blocks.length !== 5) throw new TorchExportError(`YoloBody has 5 backbone stages, got ${src.blocks.length} block counts`);

  const conv2d = (prefix: string, stride: number, withBias: boolean): TorchModuleNode => {
    const weight = src.tensor(`${prefix}.weight`);
    if (weight.shape.length !== 4 || weight.shape[2] !== weight.shape[3]) {
      throw new TorchExportError(`"${prefix}.weight" has shape [${weight.shape}], not a square conv kernel [out, in, k, k]`);
    }
    const [out, inp, k] = weight.shape;
    const pad = Math.floor(k / 2);
    const attrs: [string, PyValue][] = [
      ['in_channels', inp], ['out_channels', out], ['kernel_size', pair(k)], ['stride', pair(stride)],
      ['padding', pair(pad)], ['dilation', pair(1)], ['transposed', false], ['output_padding', pair(0)],
      ['groups', 1], ['padding_mode', 'zeros'], ['_reversed_padding_repeated_twice', new PyTuple([pad, pad, pad, pad])],
    ];
    return node(cls.Conv2d, { params: [['weight', weight], ['bias', withBias ? src.tensor(`${prefix}.bias`) : null]], attrs });
  };

  const batchNorm = (prefix: string): TorchModuleNode => {
    const t = (name: string) => src.tensor(`${prefix}.${name}`);
    const { eps, momentum } = src.batchNorm(prefix);
    return node(cls.BatchNorm2d, {
      version: 2,
      params: [['weight', t('weight')], ['bias', t('bias')]],
      buffers: [['running_mean', t('running_mean')], ['running_var', t('running_var')], ['num_batches_tracked', t('num_batches_tracked')]],
      attrs: [['num_features', t('weight').shape[0]], ['eps', new PyFloat(eps)], ['momentum', new PyFloat(momentum)],
        ['affine', true], ['track_running_stats', true]],
    });
  };

  /** CSPdarknet.BasicConv: conv (no bias) + bn + Mish. */
  const basicConv = (prefix: string, stride = 1): TorchModuleNode => node(cls.BasicConv, {
    children: [['conv', conv2d(`${prefix}.conv`, stride, false)], ['bn', batchNorm(`${prefix}.bn`)], ['activation', node(cls.Mish)]],
  });

  /** yolo.conv2d(): Sequential(conv, bn, LeakyReLU). */
  const convLeaky = (prefix: string, stride = 1): TorchModuleNode => node(cls.Sequential, {
    children: [
      ['conv', conv2d(`${prefix}.conv`, stride, false)],
      ['bn', batchNorm(`${prefix}.bn`)],
      ['relu', node(cls.LeakyReLU, { attrs: [['negative_slope', new PyFloat(src.leakySlope(`${prefix}.relu`))], ['inplace', false]] })],
    ],
  });

  const stage = (s: number): TorchModuleNode => {
    const p = `backbone.stages.${s}`;
    const resblocks = Array.from({ length: src.blocks[s] }, (_, b) => node(cls.Resblock, {
      children: [['block', container(cls.Sequential, [basicConv(`${p}.blocks_conv.${b}.block.0`), basicConv(`${p}.blocks_conv.${b}.block.1`)])]],
    }));
    return node(cls.ResblockBody, {
      children: [
        ['downsample_conv', basicConv(`${p}.downsample_conv`, 2)],
        ['split_conv0', basicConv(`${p}.split_conv0`)],
        ['split_conv1', basicConv(`${p}.split_conv1`)],
        ['blocks_conv', container(cls.Sequential, [...resblocks, basicConv(`${p}.blocks_conv.${src.blocks[s]}`)])],
        ['concat_conv', basicConv(`${p}.concat_conv`)],
      ],
    });
  };

  const backbone = node(cls.CSPDarkNet, {
    children: [['conv1', basicConv('backbone.conv1')], ['stages', container(cls.ModuleList, [0, 1, 2, 3, 4].map(stage))]],
    attrs: [['inplanes', BACKBONE_INPLANES], ['feature_channels', new PyList(BACKBONE_FEATURE_CHANNELS)], ['num_features', 1]],
  });

  const convs = (prefix: string, n: number) =>
    container(cls.Sequential, Array.from({ length: n }, (_, i) => convLeaky(`${prefix}.${i}`)));

  const spp = node(cls.SpatialPyramidPooling, {
    children: [['maxpools', container(cls.ModuleList, SPP_POOL_SIZES.map((k) => node(cls.MaxPool2d, {
      attrs: [['kernel_size', k], ['stride', 1], ['padding', Math.floor(k / 2)], ['dilation', 1], ['return_indices', false], ['ceil_mode', false]],
    })))]],
  });

  const upsample = (prefix: string) => node(cls.Upsample, {
    children: [['upsample', container(cls.Sequential, [
      convLeaky(`${prefix}.upsample.0`),
      node(cls.NnUpsample, {
        attrs: [['name', 'Upsample'], ['size', null], ['scale_factor', new PyFloat(2)], ['mode', 'nearest'],
          ['align_corners', null], ['recompute_scale_factor', null]],
      }),
    ])]],
  });

  const head = (prefix: string) => container(cls.Sequential, [convLeaky(`${prefix}.0`), conv2d(`${prefix}.1`, 1, true)]);

  // Children in the order YoloBody.__init__ assigns them (the order of state_dict keys).
  return node(cls.YoloBody, {
    children: [
      ['backbone', backbone],
      ['conv1', convs('conv1', 3)],
      ['SPP', spp],
      ['conv2', convs('conv2', 3)],
      ['upsample1', upsample('upsample1')],
      ['conv_for_P4', convLeaky('conv_for_P4')],
      ['make_five_conv1', convs('make_five_conv1', 5)],
      ['upsample2', upsample('upsample2')],
      ['conv_for_P3', convLeaky('conv_for_P3')],
      ['make_five_conv2', convs('make_five_conv2', 5)],
      ['yolo_head3', head('yolo_head3')],
      ['down_sample1', convLeaky('down_sample1', 2)],
      ['make_five_conv3', convs('make_five_conv3', 5)],
      ['yolo_head2', head('yolo_head2')],
      ['down_sample2', convLeaky('down_sample2', 2)],
      ['make_five_conv4', convs('make_five_conv4', 5)],
      ['yolo_head1', head('yolo_head1')],
    ],
  });
}
