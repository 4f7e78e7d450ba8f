/**
 * A tfjs functional LayersModel from a resolved darknet network (NHWC, input [batch, H, W, channels],
 * H and W left open). Layer names carry the darknet layer index:
 *
 *   conv_12 (Conv2D or DepthwiseConv2D), pad_12 (explicit symmetric padding), bn_12, leaky_12 / mish_12 /
 *   logistic_12 / ... (activation), shortcut_7 (Add), route_15 (Concatenate), split_15 or split_15_<k>
 *   (ChannelSplit of route groups), maxpool_9, upsample_20, dropout_8, yolo_30 (DarknetYolo output).
 *
 * A [route] of one layer without groups and a linear activation create no layer. Outputs are the
 * [yolo] layers in cfg order, each the raw logits of the conv before it (NHWC, decoded outside).
 *
 * Padding: a conv whose darknet padding is (size - 1) / 2 at stride 1 uses TF 'same' (identical);
 * any other nonzero padding is a ZeroPadding2D on every side + a 'valid' conv, so stride-2 convs pad
 * symmetrically as darknet does (TF 'same' would pad only bottom/right).
 */
import * as tf from '@tensorflow/tfjs';
import { Mish } from '../../model/mish.ts';
import { ChannelSplit, DarknetYolo, textToHex } from '../../model/darknet-layers.ts';
import type { ConvSpec, DarknetActivation, DarknetNetwork } from './layer-specs.ts';
import { InternalError } from '../../util/errors.ts';

type T = tf.SymbolicTensor;

/**
 * darknet's (AlexeyAB) batchnorm epsilon: normalize_cpu and fuse_conv_batchnorm divide by
 * sqrt(variance + .00001). OpenCV's DNN importer uses 1e-6 instead (OPENCV_BN_EPSILON); on Yolo-Fastest
 * the two differ by up to ~0.015 in the head logits.
 */
export const DARKNET_BN_EPSILON = 1e-5;
export const OPENCV_BN_EPSILON = 1e-6;
/** darknet updates rolling statistics as .99 * old + .01 * new. */
export const DARKNET_BN_MOMENTUM = 0.99;

export interface BuildDarknetOptions {
  /** Model name (default: 'darknet'). */
  name?: string;
  /** BatchNormalization epsilon (default DARKNET_BN_EPSILON; OPENCV_BN_EPSILON reproduces OpenCV's DNN). */
  bnEpsilon?: number;
}

const TF_ACTIVATION: Partial<Record<DarknetActivation, string>> = {
  relu: 'relu', logistic: 'sigmoid', swish: 'swish', relu6: 'relu6', tanh: 'tanh', elu: 'elu', selu: 'selu',
};

function activationLayer(act: DarknetActivation, index: number, x: T): T {
  const name = `${act}_${index}`;
  if (act === 'linear') return x;
  if (act === 'leaky') return tf.layers.leakyReLU({ name, alpha: 0.1 }).apply(x) as T;
  if (act === 'mish') return new Mish({ name }).apply(x) as T;
  const tfName = TF_ACTIVATION[act];
  if (!tfName) throw new InternalError(`internal: no tfjs activation for darknet '${act}'`);
  return tf.layers.activation({ name, activation: tfName as never }).apply(x) as T;
}

function convBlock(l: ConvSpec, x: T, epsilon: number): T {
  const i = l.index;
  const same = l.stride === 1 && 2 * l.padding === l.size - 1 && l.padding > 0;
  if (!same && l.padding > 0) x = tf.layers.zeroPadding2d({ name: `pad_${i}`, padding: l.padding }).apply(x) as T;
  const padding = same ? 'same' : 'valid';
  if (l.depthwise) {
    x = tf.layers.depthwiseConv2d({
      name: `conv_${i}`, kernelSize: l.size, strides: l.stride, padding, depthMultiplier: l.filters / l.inChannels,
      useBias: !l.batchNormalize,
    }).apply(x) as T;
  } else {
    x = tf.layers.conv2d({
      name: `conv_${i}`, filters: l.filters, kernelSize: l.size, strides: l.stride, padding, useBias: !l.batchNormalize,
    }).apply(x) as T;
  }
  if (l.batchNormalize) {
    x = tf.layers.batchNormalization({ name: `bn_${i}`, axis: -1, epsilon, momentum: DARKNET_BN_MOMENTUM }).apply(x) as T;
  }
  return activationLayer(l.activation, i, x);
}

export function buildDarknetModel(network: DarknetNetwork, opts: BuildDarknetOptions = {}): tf.LayersModel {
  const input = tf.input({ name: 'input', shape: [null, null, network.channels] });
  const outs: T[] = [];
  const outputs: T[] = [];
  const prev = (i: number): T => (i === 0 ? input : outs[i - 1]);
  let firstYolo = true;
  for (const l of network.layers) {
    const i = l.index;
    let y: T;
    switch (l.type) {
      case 'convolutional':
        y = convBlock(l, prev(i), opts.bnEpsilon ?? DARKNET_BN_EPSILON);
        break;
      case 'shortcut': {
        const sum = tf.layers.add({ name: `shortcut_${i}` }).apply([prev(i), ...l.from.map((f) => outs[f])]) as T;
        y = activationLayer(l.activation, i, sum);
        break;
      }
      case 'route': {
        let parts = l.layers.map((f) => outs[f]);
        if (l.groups > 1) {
          parts = parts.map((p, k) => new ChannelSplit({
            name: parts.length === 1 ? `split_${i}` : `split_${i}_${k}`, groups: l.groups, groupId: l.groupId,
          }).apply(p) as T);
        }
        y = parts.length === 1 ? parts[0] : tf.layers.concatenate({ name: `route_${i}`, axis: -1 }).apply(parts) as T;
        break;
      }
      case 'upsample':
        y = tf.layers.upSampling2d({ name: `upsample_${i}`, size: [l.stride, l.stride], interpolation: 'nearest' }).apply(prev(i)) as T;
        break;
      case 'maxpool':
        y = tf.layers.maxPooling2d({ name: `maxpool_${i}`, poolSize: l.size, strides: l.stride, padding: l.tfPadding }).apply(prev(i)) as T;
        break;
      case 'dropout':
        y = l.probability > 0 ? tf.layers.dropout({ name: `dropout_${i}`, rate: l.probability }).apply(prev(i)) as T : prev(i);
        break;
      case 'yolo': {
        y = new DarknetYolo({
          name: `yolo_${i}`, index: i, mask: l.mask, anchors: l.anchors, classes: l.classes, scaleXy: l.scaleXY,
          ...(firstYolo ? { cfgHex: textToHex(network.cfg.text) } : {}),
        }).apply(prev(i)) as T;
        firstYolo = false;
        outputs.push(y);
        break;
      }
    }
    outs.push(y);
  }
  return tf.model({ name: opts.name ?? 'darknet', inputs: input, outputs });
}
