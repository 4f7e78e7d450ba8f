/**
 * Conv2DBackpropFilter (conv weight gradient) for k > 1 as ONE forward convolution, which XNNPACK
 * runs fast (and multi-threaded), instead of one slice + transpose + matMul per kernel tap:
 *
 *   dW[i, j, ci, co] = sum_{n, oh, ow} xpad[n, oh*s + i, ow*s + j, ci] * dy[n, oh, ow, co]
 *                    = conv2d(A, F, stride 1, dilation s)[ci, i, j, co]
 *   with A = transpose(xpad, [3, 1, 2, 0])  ([ci, Hp, Wp, n]: channels become the batch)
 *    and F = transpose(dy,   [1, 2, 0, 3])  ([oh, ow, n, co]: dy becomes the filter).
 *
 * Measured on wasm (1 thread, batch 4, small-YOLOv4 shapes, scripts/bench-vs-pytorch-dwconv.ts):
 * 1.25-2.75x faster than the tap kernel for 3x3 (stride 1 and 2); slower for 1x1, so 1x1 convs and
 * anything unusual (NCHW, dilated convs) go to the project's tap kernel (src/backend).
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilter as tapKernel, type ConvBackpropFilterAttrs } from '../backend/conv2d-backprop-filter.ts';
import { checkDyShape } from '../backend/backprop-attrs.ts';
import { asTensor, convGeometry } from '../backend/conv-taps.ts';
import { KernelInputError } from '../backend/errors.ts';

type Attrs = ConvBackpropFilterAttrs;

export function conv2dBackpropFilterAsConv(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  const [kh, kw] = attrs.filterShape;
  const dil = attrs.dilations ?? 1;
  const dilated = typeof dil === 'number' ? dil !== 1 : dil[0] !== 1 || dil[1] !== 1;
  if ((kh === 1 && kw === 1) || attrs.dataFormat === 'NCHW' || dilated) return tapKernel(x, dy, attrs);
  return tf.tidy(() => {
    const g = convGeometry(x.shape, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false);
    if (g.inChannels !== attrs.filterShape[2]) throw new KernelInputError(`input has ${g.inChannels} channels, filterShape says ${attrs.filterShape[2]}`);
    checkDyShape(dy, g, attrs.filterShape[3], 'conv');
    const padded = g.padTop || g.padBottom || g.padLeft || g.padRight
      ? tf.pad(x, [[0, 0], [g.padTop, g.padBottom], [g.padLeft, g.padRight], [0, 0]])
      : x;
    const a = tf.transpose(padded, [3, 1, 2, 0]) as tf.Tensor4D;
    const f = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    let out = tf.conv2d(a, f, 1, 'valid', 'NHWC', [g.strideHeight, g.strideWidth]);
    if (out.shape[1] !== kh || out.shape[2] !== kw) out = tf.slice(out, [0, 0, 0, 0], [-1, kh, kw, -1]);
    return tf.transpose(out, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/** Kernel entry point: returns a Tensor, which the engine takes over as the op's output. */
export const conv2dBackpropFilterAsConvKernel: tf.KernelFunc = ({ inputs, attrs }) =>
  tf.tidy(() => conv2dBackpropFilterAsConv(
    asTensor<tf.Rank.R4>(inputs.x, 'x'), asTensor<tf.Rank.R4>(inputs.dy, 'dy'), attrs as unknown as Attrs));

let previous: tf.KernelConfig | undefined;

/** Registers the kernel above for `backendName` (default wasm); the tap kernel stays the fallback. */
export function registerFastConvFilterGrad(backendName = 'wasm'): void {
  const cur = tf.getKernel('Conv2DBackpropFilter', backendName);
  if (cur?.kernelFunc === conv2dBackpropFilterAsConvKernel) return;
  previous = cur;
  if (cur) tf.unregisterKernel('Conv2DBackpropFilter', backendName);
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName, kernelFunc: conv2dBackpropFilterAsConvKernel });
}

/** Puts back the kernel that was registered before registerFastConvFilterGrad. */
export function restoreConvFilterGrad(backendName = 'wasm'): void {
  const cur = tf.getKernel('Conv2DBackpropFilter', backendName);
  if (cur?.kernelFunc !== conv2dBackpropFilterAsConvKernel) return;
  tf.unregisterKernel('Conv2DBackpropFilter', backendName);
  if (previous) tf.registerKernel(previous);
}
