/**
 * Convolutions other than Winograd's (1x1, strided, any kernel size) as one GEMM over the output
 * pixels, the input read in place (wasm/direct-conv.ts), on all threads, bias and activation in
 * the same pass. On YOLOv4's layer shapes at 416 (2 threads, one process, alternating) its 1x1
 * convs ran at 77-92 GFLOP/s against XNNPACK's 58-70, its stride-2 3x3 convs at 69-83 against
 * 60-71 (`scripts/bench-own-convs.ts`).
 */
import * as tf from '@tensorflow/tfjs';
import { ACTIVATIONS, pair, paddedBias, plainConvCall, roundUp, type ConvEngine, type ConvPath, type KernelArgs } from './conv-engine.ts';

const BLOCK = 32; // rows per job, as in wasm/direct-conv.ts
/** With fewer input channels a kernel larger than 1x1 runs no faster than XNNPACK (416 px 3x3/2 32->64: 66 vs 69 GFLOP/s). */
const MIN_CHANNELS = 64;

function convInfo(args: KernelArgs): tf.backend_util.Conv2DInfo {
  const { x, filter } = args.inputs as unknown as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const a = args.attrs as unknown as tf.Conv2DAttrs;
  return tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
}

export const directConv: ConvPath = {
  accepts(args: KernelArgs): boolean {
    if (!plainConvCall(args)) return false;
    const [fh, fw, c] = (args.inputs.filter as tf.TensorInfo).shape;
    const [sy, sx] = pair((args.attrs as unknown as tf.Conv2DAttrs).strides);
    return sy === sx && (fh * fw === 1 || c >= MIN_CHANNELS);
  },

  run(args: KernelArgs, engine: ConvEngine): tf.TensorInfo {
    const { x, filter, bias } = args.inputs as unknown as { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo };
    const a = args.attrs as unknown as tf.FusedConv2DAttrs;
    const info = convInfo(args);
    const { heap, threads } = engine;
    const [n, h, w, c] = x.shape;
    const [kh, kw, , cout] = filter.shape;
    const ho = info.outHeight;
    const wo = info.outWidth;
    const np = roundUp(cout, 8);
    const rows = n * ho * wo;
    const y = heap.alloc([n, ho, wo, cout]);
    if (rows === 0 || cout === 0) return y;
    const k = kh * kw * c;
    const packed = engine.packed(filter, k * np, (offset) =>
      threads.run('packFilter', [heap.offsetOf(filter), offset, k, cout, np], k));
    // scratch: bias padded to np, then C zeros for taps outside the image
    const s = engine.scratch(np + c);
    const b = paddedBias(engine, bias, s, np);
    const zeros = s + 4 * np;
    heap.f32(zeros, c).fill(0);
    const act = ACTIVATIONS[a.activation ?? 'linear'];
    threads.run('directConv', [heap.offsetOf(x), packed, b, heap.offsetOf(y), zeros, n, h, w, c, ho, wo, cout, np,
      kh, kw, info.strideHeight, info.padInfo.top, info.padInfo.left, act, a.leakyreluAlpha ?? 0.2], Math.ceil(rows / BLOCK));
    return y;
  },
};
