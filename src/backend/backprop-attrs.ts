/**
 * What the conv2d and depthwiseConv2d backprop kernels share about their inputs: the attributes tfjs
 * passes them, the forward conv's geometry computed from those, and the check that dy has the shape
 * that forward conv produced.
 */
import type * as tf from '@tensorflow/tfjs';
import { convGeometry, type ConvGeometry, type Pad } from './conv-taps.ts';
import { KernelInputError } from './errors.ts';

/** The attributes tfjs passes to Conv2DBackprop* and DepthwiseConv2dNative* (besides the gradient's shape). */
export interface ConvBackpropAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  /** Not passed by tfjs (its conv2d gradient refuses dilations > 1), honoured if a caller does. */
  dilations?: number | [number, number];
}

/** The NHWC geometry of the forward conv the gradient belongs to. */
export function backpropGeometry(
  xShape: number[],
  filterShape: [number, number, number, number],
  attrs: ConvBackpropAttrs,
  depthwise: boolean,
): ConvGeometry {
  return convGeometry(xShape, filterShape, attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, depthwise);
}

/** dy must be [batch, outHeight, outWidth, channels] of the forward conv; `what` names it in the message. */
export function checkDyShape(dy: tf.Tensor, g: ConvGeometry, channels: number, what: string): void {
  const want = [g.batch, g.outHeight, g.outWidth, channels];
  if (dy.shape.length !== 4 || dy.shape.some((d, k) => d !== want[k])) {
    throw new KernelInputError(`dy has shape [${dy.shape}], expected [${want}] for this ${what}`);
  }
}
