/**
 * tfjs layers as ONNX nodes. tfjs runs NHWC; the ONNX graph runs NCHW from its input on, so no
 * transposes are written: kernels are re-laid out once ([kh, kw, in, out] -> [out, in, kh, kw]) and
 * channel axes map to axis 1. Every value is a 4-D image tensor (export.ts checks that).
 *
 * ZeroPadding2D is kept pending on its value and absorbed into the pads of a following 'valid' conv
 * (how PyTorch writes its padded convs); any other consumer gets an explicit Pad node.
 */
import type * as tf from '@tensorflow/tfjs';
import type { LayerConfigEntry } from '../../model/topology.ts';
import { shortName } from '../../model/weight-name.ts';
import { emitActivation, isExportedActivation } from './activations.ts';
import { OnnxExportError } from './errors.ts';
import { attr, type OnnxGraphBuilder } from './graph.ts';

/** Zero padding on each side, written by layer `layer` (a ZeroPadding2D). */
interface Pads { top: number; bottom: number; left: number; right: number; layer: string }

/** A converted tensor: its ONNX value name, channel count and spatial stride from the input. */
export interface OnnxValue {
  name: string;
  channels: number;
  /** Output side = ceil(input side / stride) for every input size; null when not of that form. */
  stride: number | null;
  /** Zero padding not yet written (see the file comment); name, channels and stride are the unpadded value's. */
  pads?: Pads;
}

export interface LayerCall {
  entry: LayerConfigEntry;
  layer: tf.layers.Layer;
  inputs: OnnxValue[];
  /** The layer's output channels (from tfjs shape inference). */
  channels: number;
}

type Converter = (w: LayerWriter, call: LayerCall) => OnnxValue;

const pair = (v: unknown, what: string, layer: string): [number, number] => {
  const a = Array.isArray(v) ? v : [v, v];
  if (a.length !== 2 || !a.every((x) => Number.isInteger(x))) throw new OnnxExportError(`layer '${layer}': unexpected ${what} ${JSON.stringify(v)}`);
  return [a[0] as number, a[1] as number];
};

/** NHWC axis of a rank-4 tensor -> NCHW axis. */
function nchwAxis(axis: unknown, layer: string): number {
  const a = Number(axis ?? -1);
  const nhwc = a < 0 ? a + 4 : a;
  const map = [0, 2, 3, 1];
  if (!(nhwc >= 1 && nhwc <= 3)) throw new OnnxExportError(`layer '${layer}': axis ${String(axis)} of a 4-D tensor cannot be exported (only H, W or channels)`);
  return map[nhwc];
}

function weightsOf(layer: tf.layers.Layer): Map<string, { data: Float32Array; shape: number[] }> {
  // read() is the variable itself: no dispose.
  return new Map(layer.weights.map((v) => [shortName(v.originalName ?? v.name), { data: v.read().dataSync() as Float32Array, shape: v.shape as number[] }]));
}

/** [kh, kw, in, out] -> [out, in, kh, kw]. */
function convKernel(k: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) {
    out[((o * cin + i) * kh + y) * kw + x] = k[((y * kw + x) * cin + i) * cout + o];
  }
  return out;
}

/** Depthwise [kh, kw, in, mult] -> [in * mult, 1, kh, kw] (output channel i * mult + m, as tfjs orders them). */
function depthwiseKernel(k: Float32Array, [kh, kw, cin, mult]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let m = 0; m < mult; m++) {
    out[((i * mult + m) * kh + y) * kw + x] = k[((y * kw + x) * cin + i) * mult + m];
  }
  return out;
}

const strideAfter = (inStride: number | null, s: [number, number], sizeKept: boolean): number | null =>
  inStride !== null && sizeKept && s[0] === s[1] ? inStride * s[0] : null;

function conv(w: LayerWriter, { entry, layer, inputs: [x], channels }: LayerCall): OnnxValue {
  const c = entry.config;
  const depthwise = entry.className === 'DepthwiseConv2D';
  const kernelSize = pair(c.kernelSize, 'kernelSize', entry.name);
  const strides = pair(c.strides ?? 1, 'strides', entry.name);
  const dilation = pair(c.dilationRate ?? 1, 'dilationRate', entry.name);
  const effective = [0, 1].map((d) => (kernelSize[d] - 1) * dilation[d] + 1);
  const weights = weightsOf(layer);
  const kernel = weights.get(depthwise ? 'depthwise_kernel' : 'kernel');
  if (!kernel) throw new OnnxExportError(`layer '${entry.name}' (${entry.className}) has no kernel weight`);
  const data = depthwise ? depthwiseKernel(kernel.data, kernel.shape) : convKernel(kernel.data, kernel.shape);
  const [kh, kw, cin, last] = kernel.shape;
  const dims = depthwise ? [cin * last, 1, kh, kw] : [last, cin, kh, kw];
  const inputs = [w.g.floatConst(`${entry.name}.weight`, dims, data)];
  const bias = weights.get('bias');
  if (bias) inputs.push(w.g.floatConst(`${entry.name}.bias`, [bias.data.length], bias.data));

  const attrs = [attr.ints('kernel_shape', kernelSize), attr.ints('strides', strides), attr.ints('dilations', dilation)];
  if (depthwise) attrs.push(attr.int('group', cin));
  let source = x;
  let sizeKept: boolean;
  if (c.padding === 'same' && strides[0] === 1 && strides[1] === 1) {
    // TF 'same' at stride 1 pads (k - 1) / 2 before, the rest after: fixed, whatever the input size.
    const before = effective.map((e) => Math.floor((e - 1) / 2));
    const after = effective.map((e, d) => e - 1 - before[d]);
    source = w.materialize(x);
    attrs.push(attr.ints('pads', [before[0], before[1], after[0], after[1]]));
    sizeKept = true;
  } else if (c.padding === 'same') {
    source = w.materialize(x);
    attrs.push(attr.string('auto_pad', 'SAME_UPPER')); // TF 'same': the odd pixel goes after
    sizeKept = true;
  } else if (c.padding === 'valid') {
    const p = x.pads ?? { top: 0, bottom: 0, left: 0, right: 0 };
    attrs.push(attr.ints('pads', [p.top, p.left, p.bottom, p.right]));
    sizeKept = p.top + p.bottom === effective[0] - 1 && p.left + p.right === effective[1] - 1;
  } else {
    throw new OnnxExportError(`layer '${entry.name}': padding '${String(c.padding)}' cannot be exported`);
  }
  const act = String(c.activation ?? 'linear');
  const convName = act === 'linear' ? entry.name : `${entry.name}/conv`;
  let out = w.g.node('Conv', [source.name, ...inputs], convName, attrs);
  out = w.activation(act, out, entry.name);
  // In the 'valid' case source is the unpadded value and sizeKept accounts for the absorbed pads.
  return { name: out, channels, stride: strideAfter(source.stride, strides, sizeKept) };
}

function batchNorm(w: LayerWriter, { entry, layer, inputs: [x], channels }: LayerCall): OnnxValue {
  if (nchwAxis(entry.config.axis, entry.name) !== 1) throw new OnnxExportError(`layer '${entry.name}': BatchNormalization over an axis other than channels cannot be exported`);
  const wts = weightsOf(layer);
  const mean = wts.get('moving_mean');
  const variance = wts.get('moving_variance');
  if (!mean || !variance) throw new OnnxExportError(`layer '${entry.name}' has no moving statistics`);
  const gamma = wts.get('gamma')?.data ?? new Float32Array(channels).fill(1);
  const beta = wts.get('beta')?.data ?? new Float32Array(channels);
  const consts = [['scale', gamma], ['bias', beta], ['mean', mean.data], ['var', variance.data]] as const;
  const inputs = consts.map(([k, v]) => w.g.floatConst(`${entry.name}.${k}`, [channels], v));
  const epsilon = Number(entry.config.epsilon ?? 1e-3);
  const input = w.materialize(x);
  return { ...input, name: w.g.node('BatchNormalization', [input.name, ...inputs], entry.name, [attr.float('epsilon', epsilon)]) };
}

function maxPool(w: LayerWriter, { entry, inputs: [x] }: LayerCall): OnnxValue {
  const c = entry.config;
  const size = pair(c.poolSize ?? 2, 'poolSize', entry.name);
  const strides = pair(c.strides ?? size, 'strides', entry.name);
  const attrs = [attr.ints('kernel_shape', size), attr.ints('strides', strides)];
  let sizeKept = c.padding === 'same';
  if (c.padding === 'same' && strides[0] === 1 && strides[1] === 1) {
    const before = size.map((k) => Math.floor((k - 1) / 2));
    attrs.push(attr.ints('pads', [before[0], before[1], size[0] - 1 - before[0], size[1] - 1 - before[1]]));
  } else if (c.padding === 'same') {
    attrs.push(attr.string('auto_pad', 'SAME_UPPER'));
  } else if (c.padding === 'valid') {
    sizeKept = size[0] === 1 && size[1] === 1;
  } else {
    throw new OnnxExportError(`layer '${entry.name}': padding '${String(c.padding)}' cannot be exported`);
  }
  // ONNX MaxPool's padded cells never win, like TF's.
  const input = w.materialize(x);
  return { name: w.g.node('MaxPool', [input.name], entry.name, attrs), channels: input.channels, stride: strideAfter(input.stride, strides, sizeKept) };
}

function upSample(w: LayerWriter, { entry, inputs: [x] }: LayerCall): OnnxValue {
  const c = entry.config;
  if ((c.interpolation ?? 'nearest') !== 'nearest') throw new OnnxExportError(`layer '${entry.name}': UpSampling2D with '${String(c.interpolation)}' interpolation cannot be exported (only nearest)`);
  const [sh, sw] = pair(c.size ?? 2, 'size', entry.name);
  const scales = w.g.floatConst(`${entry.name}.scales`, [4], Float32Array.of(1, 1, sh, sw));
  // asymmetric + floor: output pixel i reads input pixel floor(i / scale), i.e. every pixel repeated.
  const input = w.materialize(x);
  const out = w.g.node('Resize', [input.name, '', scales], entry.name, [
    attr.string('mode', 'nearest'), attr.string('coordinate_transformation_mode', 'asymmetric'), attr.string('nearest_mode', 'floor'),
  ]);
  return { name: out, channels: input.channels, stride: input.stride !== null && sh === sw ? input.stride / sh : null };
}

function concat(w: LayerWriter, { entry, inputs, channels }: LayerCall): OnnxValue {
  const axis = nchwAxis(entry.config.axis, entry.name);
  const parts = inputs.map((v) => w.materialize(v));
  const out = w.g.node('Concat', parts.map((v) => v.name), entry.name, [attr.int('axis', axis)]);
  return { name: out, channels, stride: parts.every((v) => v.stride === parts[0].stride) ? parts[0].stride : null };
}

function add(w: LayerWriter, { entry, inputs, channels }: LayerCall): OnnxValue {
  const terms = inputs.map((v) => w.materialize(v));
  let sum = terms[0].name;
  for (let k = 1; k < terms.length; k++) sum = w.g.node('Add', [sum, terms[k].name], k === terms.length - 1 ? entry.name : `${entry.name}/${k}`);
  return { name: sum, channels, stride: terms.every((v) => v.stride === terms[0].stride) ? terms[0].stride : null };
}

function zeroPadding(_w: LayerWriter, { entry, inputs: [x] }: LayerCall): OnnxValue {
  // tfjs forms: n (all sides), [h, w] (symmetric per axis), [[top, bottom], [left, right]].
  const p = entry.config.padding ?? 1;
  const rows = Array.isArray(p) && Array.isArray(p[0])
    ? (p as unknown[]).map((r) => pair(r, 'padding', entry.name))
    : pair(p, 'padding', entry.name).map((n) => [n, n]);
  const [[top, bottom], [left, right]] = rows;
  const prev = x.pads ?? { top: 0, bottom: 0, left: 0, right: 0 };
  const pads = { top: prev.top + top, bottom: prev.bottom + bottom, left: prev.left + left, right: prev.right + right, layer: entry.name };
  return { ...x, pads };
}

function channelSplit(w: LayerWriter, { entry, inputs: [x], channels }: LayerCall): OnnxValue {
  const groupId = Number(entry.config.groupId);
  const g = w.g;
  const input = w.materialize(x);
  const out = g.node('Slice', [
    input.name, g.int64Const(`${entry.name}.starts`, [groupId * channels]), g.int64Const(`${entry.name}.ends`, [(groupId + 1) * channels]),
    g.int64Const(`${entry.name}.axes`, [1]),
  ], entry.name);
  return { name: out, channels, stride: input.stride };
}

function activationLayer(kind: (entry: LayerConfigEntry) => string): Converter {
  return (w, { entry, inputs: [x] }) => {
    const input = w.materialize(x);
    return { ...input, name: w.activation(kind(entry), input.name, entry.name, Number(entry.config.alpha ?? 0.3)) };
  };
}

/** Layers that compute nothing at inference. */
const identity: Converter = (_w, { inputs: [x] }) => x;

const CONVERTERS: Record<string, Converter> = {
  Conv2D: conv,
  DepthwiseConv2D: conv,
  BatchNormalization: batchNorm,
  LeakyReLU: activationLayer(() => 'leaky'),
  Mish: activationLayer(() => 'mish'),
  Activation: activationLayer((e) => String(e.config.activation)),
  MaxPooling2D: maxPool,
  UpSampling2D: upSample,
  Concatenate: concat,
  Add: add,
  ZeroPadding2D: zeroPadding,
  ChannelSplit: channelSplit,
  Dropout: identity,
  DarknetYolo: identity,
};

export const EXPORTED_LAYER_KINDS = Object.keys(CONVERTERS);

/** Writes layers into one graph; values flow between calls as OnnxValue. */
export class LayerWriter {
  private readonly padded = new Map<string, OnnxValue>();

  constructor(readonly g: OnnxGraphBuilder, readonly opset: number) {}

  write(call: LayerCall): OnnxValue {
    const convert = CONVERTERS[call.entry.className];
    if (!convert) {
      throw new OnnxExportError(`layer '${call.entry.name}' is a ${call.entry.className}, which has no ONNX export (supported: ${EXPORTED_LAYER_KINDS.join(', ')})`);
    }
    if (call.entry.config.dataFormat === 'channelsFirst') {
      throw new OnnxExportError(`layer '${call.entry.name}' (${call.entry.className}) is channelsFirst; the ONNX export reads channels-last tfjs models`);
    }
    if (call.entry.className === 'Activation' && !isExportedActivation(String(call.entry.config.activation))) {
      throw new OnnxExportError(`layer '${call.entry.name}': activation '${String(call.entry.config.activation)}' has no ONNX export`);
    }
    return convert(this, call);
  }

  activation(kind: string, x: string, name: string, alpha?: number): string {
    return emitActivation(this.g, kind, x, name, this.opset, alpha);
  }

  /** The value with its pending zero padding written as a Pad node (once per padded value). */
  materialize(v: OnnxValue): OnnxValue {
    if (!v.pads) return v;
    const { top, bottom, left, right, layer } = v.pads;
    const key = `${v.name}|${top},${bottom},${left},${right}`;
    let done = this.padded.get(key);
    if (!done) {
      const pads = this.g.int64Const(`${layer}.pads`, [0, 0, top, left, 0, 0, bottom, right]);
      done = { name: this.g.node('Pad', [v.name, pads], layer, [attr.string('mode', 'constant')]), channels: v.channels, stride: null };
      this.padded.set(key, done);
    }
    return done;
  }
}
