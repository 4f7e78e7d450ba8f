/**
 * Darknet layers as typed specs, with darknet's shape arithmetic (at the cfg's input size) and its
 * parameter counts (param-counts.ts). The specs are plain data (layer-specs.ts): building the tfjs
 * model is build.ts's job.
 *
 * Semantics reproduced (AlexeyAB darknet):
 * - [convolutional]: padding = size/2 (integer division) when pad=1, else `padding` (default 0), on
 *   every side; out = (in + 2 * padding - size) / stride + 1. `groups` = input channels with filters
 *   a multiple of it is a depthwise conv; other groupings are not supported. BN eps 1e-5, leaky 0.1;
 *   the activation defaults to logistic, as in darknet.
 * - [maxpool]: padding defaults to size - 1, out = (in + padding - size) / stride + 1, windows start
 *   at -padding/2, padded cells never win. Supported where TF's pooling computes the same thing for
 *   every input size: padding 0 ('valid'), stride 1 with padding size - 1 ('same'), and size = stride
 *   = 2 with padding 1 ('same').
 * - [route]: concat of the listed layers (negative = relative to this one); with groups=G, group_id=K
 *   each listed layer contributes channels [K*C/G, (K+1)*C/G).
 * - [shortcut]: this layer's input + the `from` layers (same shape), then the activation.
 * - [upsample]: nearest, by `stride`. [dropout]: identity at inference.
 * - [yolo]: the preceding layer's output is a detection head; its width must be
 *   len(mask) * (classes + 5).
 */
import { SectionReader, type CfgSection, type DarknetCfg } from './cfg.ts';
import { atMost, DARKNET_LIMITS as LIMIT } from './limits.ts';
import type { DarknetActivation, DarknetNetwork, LayerSpec, Shape3, YoloSpec } from './layer-specs.ts';
import { convWeightFloats } from './param-counts.ts';

const ACTIVATIONS: DarknetActivation[] = ['linear', 'leaky', 'mish', 'relu', 'logistic', 'swish', 'relu6', 'tanh', 'elu', 'selu'];

function activation(r: SectionReader, fallback: DarknetActivation): DarknetActivation {
  const a = r.str('activation', fallback);
  if (!(ACTIVATIONS as string[]).includes(a)) {
    throw r.error(`activation=${a} is not supported (supported: ${ACTIVATIONS.join(', ')})`, 'activation');
  }
  return a as DarknetActivation;
}

/** Options every layer may carry that would change what is computed or stored. */
function checkCommon(r: SectionReader): void {
  r.require('dontload', 0, 'the layer would be skipped in the .weights file');
  r.require('dontloadscales', 0, 'BN scales would be skipped in the .weights file');
}

/**
 * Resolves every layer of a parsed cfg: indices, options and shapes, with darknet's checks (and some
 * it does not make, e.g. routes of different spatial sizes) as errors naming the line.
 */
export function resolveDarknetNetwork(cfg: DarknetCfg): DarknetNetwork {
  const net = new SectionReader(cfg, cfg.net);
  const width = net.int('width', 0);
  const height = net.int('height', 0);
  const channels = net.int('channels', 0);
  if (!(width > 0 && height > 0 && channels > 0)) {
    throw net.error(`width, height and channels must be positive (got ${width}x${height}x${channels})`, 'width');
  }
  atMost(net, 'width', width, LIMIT.side);
  atMost(net, 'height', height, LIMIT.side);
  atMost(net, 'channels', channels, LIMIT.channels);
  if (cfg.layers.length > LIMIT.layers) {
    const first = new SectionReader(cfg, cfg.layers[LIMIT.layers]);
    throw first.error(`the cfg has ${cfg.layers.length} layers, more than the ${LIMIT.layers} this importer builds`);
  }
  const layers: LayerSpec[] = [];
  const yolo: YoloSpec[] = [];
  let prev: Shape3 = { h: height, w: width, c: channels };
  let weightFloats = 0;
  cfg.layers.forEach((section) => {
    const r = new SectionReader(cfg, section);
    checkCommon(r);
    const spec = resolveLayer(r, section, prev, layers);
    const { h, w, c } = spec.out;
    if (h * w * c > LIMIT.layerOutput) {
      throw r.error(`its output is ${w}x${h}x${c} = ${w * h * c} values at the ${width}x${height} input, more than the ${LIMIT.layerOutput} this importer builds`);
    }
    if (spec.type === 'convolutional') {
      weightFloats += convWeightFloats(spec);
      if (weightFloats > LIMIT.weightFloats) {
        throw r.error(`the conv weights up to this layer are ${weightFloats} floats, more than the ${LIMIT.weightFloats} this importer builds`, 'filters');
      }
    }
    layers.push(spec);
    if (spec.type === 'yolo') yolo.push(spec);
    prev = spec.out;
  });
  if (yolo.length === 0) throw new SectionReader(cfg, cfg.net).error('the cfg has no [yolo] layer (only YOLO detectors are supported)');
  const classes = yolo[0].classes;
  for (const y of yolo) {
    if (y.classes !== classes) {
      throw new SectionReader(cfg, cfg.layers[y.index]).error(`classes=${y.classes}, but the first [yolo] layer has ${classes}; all [yolo] layers must agree`, 'classes');
    }
  }
  return { cfg, width, height, channels, layers, yolo };
}

function absoluteIndex(r: SectionReader, key: string, v: number, self: number, layers: LayerSpec[]): number {
  const i = v < 0 ? self + v : v;
  if (!(i >= 0 && i < self)) {
    throw r.error(`${key} refers to layer ${i} (${v}), but only layers 0..${self - 1} come before this one`, key);
  }
  if (layers[i].type === 'yolo') throw r.error(`${key} refers to layer ${i}, a [yolo] layer; that is not supported`, key);
  return i;
}

function resolveLayer(r: SectionReader, section: CfgSection, prev: Shape3, layers: LayerSpec[]): LayerSpec {
  const index = section.index;
  const line = section.line;
  switch (section.type) {
    case 'convolutional': {
      const filters = r.int('filters', 1);
      const size = r.int('size', 1);
      const groups = r.int('groups', 1);
      let stride = r.int('stride', 1);
      const sx = r.int('stride_x', -1);
      const sy = r.int('stride_y', -1);
      if (sx >= 1 || sy >= 1) {
        const x = sx >= 1 ? sx : stride;
        const y = sy >= 1 ? sy : stride;
        if (x !== y) throw r.error(`stride_x=${x} and stride_y=${y} differ; only square strides are supported`, sx >= 1 ? 'stride_x' : 'stride_y');
        stride = x;
      }
      if (size !== 1) r.require('dilation', 1, 'dilated convolutions are not built');
      r.require('antialiasing', 0, 'anti-aliased downsampling is not built');
      for (const k of ['binary', 'xnor', 'bin_output', 'sway', 'rotate', 'stretch', 'stretch_sway', 'flipped', 'coordconv']) {
        r.require(k, 0, `${k} convolutions are not built`);
      }
      if (r.has('share_index')) throw r.error('share_index (weights shared with another layer) is not supported', 'share_index');
      const pad = r.int('pad', 0);
      const padding = pad ? Math.floor(size / 2) : r.int('padding', 0);
      const batchNormalize = r.int('batch_normalize', 0) !== 0 || r.int('cbn', 0) !== 0;
      const act = activation(r, 'logistic');
      if (!(filters >= 1)) throw r.error(`filters=${filters} must be positive`, 'filters');
      if (!(size >= 1)) throw r.error(`size=${size} must be positive`, 'size');
      if (!(stride >= 1)) throw r.error(`stride=${stride} must be positive`, 'stride');
      if (!(padding >= 0)) throw r.error(`padding=${padding} must be >= 0`, 'padding');
      if (!(groups >= 1)) throw r.error(`groups=${groups} must be positive`, 'groups');
      atMost(r, 'filters', filters, LIMIT.filters);
      atMost(r, 'size', size, LIMIT.size);
      atMost(r, 'stride', stride, LIMIT.stride);
      atMost(r, 'padding', padding, LIMIT.padding);
      let depthwise = false;
      if (groups > 1) {
        if (groups === prev.c && filters % groups === 0) depthwise = true;
        else if (prev.c % groups !== 0 || filters % groups !== 0) {
          throw r.error(`groups=${groups} must divide the ${prev.c} input channels and the ${filters} filters`, 'groups');
        } else {
          throw r.error(`groups=${groups} with ${prev.c} input channels: only depthwise convs (groups = input channels) are supported`, 'groups');
        }
      }
      const h = Math.floor((prev.h + 2 * padding - size) / stride) + 1;
      const w = Math.floor((prev.w + 2 * padding - size) / stride) + 1;
      if (h < 1 || w < 1) throw r.error(`a ${size}x${size} conv on a ${prev.w}x${prev.h} input leaves nothing`);
      return {
        type: 'convolutional', index, line, filters, size, stride, padding, groups, depthwise, batchNormalize,
        activation: act, inChannels: prev.c, out: { h, w, c: filters },
      };
    }
    case 'shortcut': {
      const fromList = r.ints('from');
      if (!fromList) throw r.error('needs from=<layer>', undefined);
      const from = fromList.map((v) => absoluteIndex(r, 'from', v, index, layers));
      if (index === 0) throw r.error('a [shortcut] cannot be the first layer');
      const wt = r.str('weights_type', 'none');
      if (wt !== 'none') throw r.error(`weights_type=${wt} (weighted shortcuts) is not supported`, 'weights_type');
      const wn = r.str('weights_normalization', 'none');
      if (wn !== 'none') throw r.error(`weights_normalization=${wn} is not supported`, 'weights_normalization');
      for (const f of from) {
        const s = layers[f].out;
        if (s.h !== prev.h || s.w !== prev.w || s.c !== prev.c) {
          throw r.error(`adds layer ${f} (${s.w}x${s.h}x${s.c}) to layer ${index - 1} (${prev.w}x${prev.h}x${prev.c}); shapes must be equal`, 'from');
        }
      }
      return { type: 'shortcut', index, line, from, activation: activation(r, 'linear'), out: { ...prev } };
    }
    case 'route': {
      const list = r.ints('layers');
      if (!list) throw r.error('needs layers=<layer>[,<layer>...]');
      const ids = list.map((v) => absoluteIndex(r, 'layers', v, index, layers));
      const groups = r.int('groups', 1);
      const groupId = r.int('group_id', 0);
      if (!(groups >= 1)) throw r.error(`groups=${groups} must be positive`, 'groups');
      if (!(groupId >= 0 && groupId < groups)) throw r.error(`group_id=${groupId} must be in 0..${groups - 1}`, 'group_id');
      const first = layers[ids[0]].out;
      let c = 0;
      for (const i of ids) {
        const s = layers[i].out;
        if (s.h !== first.h || s.w !== first.w) {
          throw r.error(`layer ${i} is ${s.w}x${s.h} but layer ${ids[0]} is ${first.w}x${first.h}; routed layers must have the same size`, 'layers');
        }
        if (s.c % groups !== 0) throw r.error(`layer ${i} has ${s.c} channels, which groups=${groups} does not divide`, 'groups');
        c += s.c / groups;
      }
      return { type: 'route', index, line, layers: ids, groups, groupId, out: { h: first.h, w: first.w, c } };
    }
    case 'upsample': {
      const stride = r.int('stride', 2);
      if (!(stride >= 1)) throw r.error(`stride=${stride} is not supported (negative strides downsample)`, 'stride');
      atMost(r, 'stride', stride, LIMIT.stride);
      r.require('scale', 1, 'scaled upsampling is not built');
      return { type: 'upsample', index, line, stride, out: { h: prev.h * stride, w: prev.w * stride, c: prev.c } };
    }
    case 'maxpool': {
      let stride = r.int('stride', 1);
      const sx = r.int('stride_x', stride);
      const sy = r.int('stride_y', stride);
      if (sx !== sy) throw r.error(`stride_x=${sx} and stride_y=${sy} differ; only square strides are supported`, 'stride_x');
      stride = sx;
      const size = r.int('size', stride);
      const padding = r.int('padding', size - 1);
      atMost(r, 'size', size, LIMIT.size);
      atMost(r, 'stride', stride, LIMIT.stride);
      r.require('maxpool_depth', 0, 'pooling over channels is not built');
      r.require('antialiasing', 0, 'anti-aliased pooling is not built');
      r.require('maxpool_zero_nonmax', 0, 'not built');
      let tfPadding: 'same' | 'valid';
      if (padding === 0) tfPadding = 'valid';
      else if (stride === 1 && padding === size - 1) tfPadding = 'same';
      else if (size === 2 && stride === 2 && padding === 1) tfPadding = 'same';
      else {
        throw r.error(`size=${size} stride=${stride} padding=${padding} is not supported (supported: padding=0, stride=1 with the default padding, or size=2 stride=2)`, 'size');
      }
      const h = Math.floor((prev.h + padding - size) / stride) + 1;
      const w = Math.floor((prev.w + padding - size) / stride) + 1;
      return { type: 'maxpool', index, line, size, stride, tfPadding, out: { h, w, c: prev.c } };
    }
    case 'dropout': {
      r.require('dropblock', 0, 'DropBlock is not built');
      const probability = r.float('probability', 0.2);
      if (!(probability >= 0 && probability < 1)) throw r.error(`probability=${probability} must be in [0, 1)`, 'probability');
      return { type: 'dropout', index, line, probability, out: { ...prev } };
    }
    case 'yolo': {
      const classes = r.int('classes', 20);
      const num = r.int('num', 1);
      atMost(r, 'classes', classes, LIMIT.classes);
      atMost(r, 'num', num, LIMIT.anchors);
      const mask = r.ints('mask') ?? Array.from({ length: num }, (_, i) => i);
      const flat = r.floats('anchors');
      if (!flat) throw r.error('needs anchors=w,h,...', undefined);
      if (flat.length < 2 * num) throw r.error(`anchors lists ${flat.length / 2} pairs but num=${num}`, 'anchors');
      const anchors: [number, number][] = [];
      for (let i = 0; i < num; i++) anchors.push([flat[2 * i], flat[2 * i + 1]]);
      for (const m of mask) if (!(m >= 0 && m < num)) throw r.error(`mask names anchor ${m}, but num=${num}`, 'mask');
      const scaleXY = r.float('scale_x_y', 1);
      const newCoords = r.int('new_coords', 0);
      if (index === 0) throw r.error('a [yolo] layer cannot be the first layer');
      const want = mask.length * (classes + 5);
      if (prev.c !== want) {
        throw r.error(`the layer before has ${prev.c} channels (filters), but mask (${mask.length} anchors) and classes=${classes} need ${mask.length} x (${classes} + 5) = ${want}`);
      }
      return { type: 'yolo', index, line, mask, anchors, classes, scaleXY, newCoords, out: { ...prev } };
    }
    case 'net':
      throw r.error('[net] may only be the first section');
  }
}
