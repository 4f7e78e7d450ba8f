/**
 * Every conv of YOLOv4 in build order, with its PyTorch state-dict prefix as name and its standard
 * (unpruned, width multiplier 1) output width. The builder takes widths from the config by these names.
 */
export interface ConvSpec {
  /** tfjs layer name of the Conv2D, equal to the PyTorch module path of the conv, e.g. "conv2.0.conv". */
  name: string;
  kernel: number;
  stride: number;
  standardWidth: number;
  /** Backbone convs use Mish, the neck and heads LeakyReLU(0.1); head outputs are linear with bias. */
  activation: 'mish' | 'leaky' | 'linear';
  isHeadOutput: boolean;
}

const STAGE_WIDTHS = [64, 128, 256, 512, 1024];

export function yolov4ConvLayout(blocks: number[]): ConvSpec[] {
  const specs: ConvSpec[] = [];
  const mish = (prefix: string, width: number, kernel: number, stride = 1) =>
    specs.push({ name: `${prefix}.conv`, kernel, stride, standardWidth: width, activation: 'mish', isHeadOutput: false });
  const leaky = (prefix: string, width: number, kernel: number, stride = 1) =>
    specs.push({ name: `${prefix}.conv`, kernel, stride, standardWidth: width, activation: 'leaky', isHeadOutput: false });

  mish('backbone.conv1', 32, 3);
  STAGE_WIDTHS.forEach((out, s) => {
    const p = `backbone.stages.${s}`;
    const first = s === 0;
    // Stage 0 keeps the full width in its split and halves only the resblock's hidden conv.
    const split = first ? out : out / 2;
    const hidden = first ? out / 2 : out / 2;
    mish(`${p}.downsample_conv`, out, 3, 2);
    mish(`${p}.split_conv0`, split, 1);
    mish(`${p}.split_conv1`, split, 1);
    for (let b = 0; b < blocks[s]; b++) {
      mish(`${p}.blocks_conv.${b}.block.0`, hidden, 1);
      mish(`${p}.blocks_conv.${b}.block.1`, split, 3);
    }
    mish(`${p}.blocks_conv.${blocks[s]}`, split, 1);
    mish(`${p}.concat_conv`, out, 1);
  });

  const three = (p: string, a: number, b: number) => {
    leaky(`${p}.0`, a, 1);
    leaky(`${p}.1`, b, 3);
    leaky(`${p}.2`, a, 1);
  };
  const five = (p: string, a: number, b: number) => {
    leaky(`${p}.0`, a, 1);
    leaky(`${p}.1`, b, 3);
    leaky(`${p}.2`, a, 1);
    leaky(`${p}.3`, b, 3);
    leaky(`${p}.4`, a, 1);
  };
  const head = (p: string, width: number) => {
    leaky(`${p}.0`, width, 3);
    specs.push({ name: `${p}.1`, kernel: 1, stride: 1, standardWidth: 0, activation: 'linear', isHeadOutput: true });
  };

  three('conv1', 512, 1024);
  three('conv2', 512, 1024);
  leaky('upsample1.upsample.0', 256, 1);
  leaky('conv_for_P4', 256, 1);
  five('make_five_conv1', 256, 512);
  leaky('upsample2.upsample.0', 128, 1);
  leaky('conv_for_P3', 128, 1);
  five('make_five_conv2', 128, 256);
  head('yolo_head3', 256);
  leaky('down_sample1', 256, 3, 2);
  five('make_five_conv3', 256, 512);
  head('yolo_head2', 512);
  leaky('down_sample2', 512, 3, 2);
  five('make_five_conv4', 512, 1024);
  head('yolo_head1', 1024);
  return specs;
}
