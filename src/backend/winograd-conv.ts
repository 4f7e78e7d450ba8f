/**
 * 3x3 stride-1 'same' convolutions by Winograd F(2x2, 3x3) (wasm/winograd.ts): 16 multiply-adds
 * per 2x2 output tile and channel pair instead of 36, as 16 GEMMs on all threads. These convs are
 * two thirds of YOLOv4's FLOPs. Values: the same convolution to float32 rounding (the transforms
 * add and subtract up to 9 terms; tested against the backend's own kernel).
 */
import type * as tf from '@tensorflow/tfjs';
import { ACTIVATIONS, pair, paddedBias, plainConvCall, roundUp, type ConvEngine, type ConvPath, type KernelArgs } from './conv-engine.ts';

/** Below this many input or output channels the transforms cost more than they save. */
const MIN_CHANNELS = 8;

function isSamePadOne(pad: unknown): boolean {
  if (pad === 'same' || pad === 1) return true;
  return Array.isArray(pad) && JSON.stringify(pad) === '[[0,0],[1,1],[1,1],[0,0]]';
}

export const winogradConv: ConvPath = {
  accepts(args: KernelArgs): boolean {
    if (!plainConvCall(args)) return false;
    const filter = args.inputs.filter as tf.TensorInfo;
    const [fh, fw, c, cout] = filter.shape;
    return fh === 3 && fw === 3 && pair((args.attrs as unknown as tf.Conv2DAttrs).strides).every((st) => st === 1) && c >= MIN_CHANNELS && cout >= MIN_CHANNELS && isSamePadOne((args.attrs as unknown as tf.Conv2DAttrs).pad);
  },

  run(args: KernelArgs, engine: ConvEngine): tf.TensorInfo {
    const { x, filter, bias } = args.inputs as unknown as { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo };
    const a = args.attrs as unknown as tf.FusedConv2DAttrs;
    const { heap, threads } = engine;
    const [n, h, w, c] = x.shape;
    const cout = filter.shape[3];
    const kp = roundUp(c, 4);
    const np = roundUp(cout, 8);
    const tiles = n * Math.ceil(h / 2) * Math.ceil(w / 2);
    const tp = roundUp(tiles, 4);
    const y = heap.alloc([n, h, w, cout]);
    if (tiles === 0) return y;
    const u = engine.packed(filter, 16 * kp * np, (offset) =>
      threads.run('filterTransform', [heap.offsetOf(filter), offset, c, cout, kp, np], kp));
    // scratch: V [16][tp][kp], M [16][tp][np], bias padded to np
    const vSize = 16 * tp * kp;
    const mSize = 16 * tp * np;
    const v = engine.scratch(vSize + mSize + np);
    const m = v + 4 * vSize;
    const b = paddedBias(engine, bias, m + 4 * mSize, np);
    threads.run('inputTransform', [heap.offsetOf(x), v, n, h, w, c, kp, tp], tp, 4);
    threads.run('gemm', [v, u, m, tp, kp, np], 16 * (np / 8));
    const act = ACTIVATIONS[a.activation ?? 'linear'];
    threads.run('outputTransform', [m, b, heap.offsetOf(y), n, h, w, cout, np, tp, act, a.leakyreluAlpha ?? 0.2], tiles);
    return y;
  },
};
