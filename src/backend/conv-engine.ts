/**
 * Our own convolutions on the threaded wasm backend (heap-engine.ts): 3x3 stride-1 convs by
 * Winograd (winograd-conv.ts), the others (1x1, strided) as one GEMM over the output pixels
 * (direct-conv.ts). Conv2D and FusedConv2D with bias and linear / relu / leaky relu come here;
 * every other conv, and every backend without the shared heap, goes to the backend's own kernel
 * (XNNPACK). This file holds what the paths share and the kernel registered for 'wasm'
 * (training-kernels.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { builtinKernel } from './builtin-kernels.ts';
import { KernelInputError } from './errors.ts';
import { heapEngine, type HeapEngine } from './heap-engine.ts';

export type KernelArgs = Parameters<tf.KernelFunc>[0];

export type ConvEngine = HeapEngine;

/** A conv path: whether it takes this call, and running it. */
export interface ConvPath {
  accepts(args: KernelArgs): boolean;
  run(args: KernelArgs, engine: ConvEngine): tf.TensorInfo;
}

export const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, leakyrelu: 2 };
export const roundUp = (n: number, k: number) => Math.ceil(n / k) * k;
export const pair = (v: number | number[] | undefined) => (v === undefined ? [1, 1] : Array.isArray(v) ? v : [v, v]);

/** Conditions both paths share: float32 NHWC, no dilation, bias of Cout, an activation our epilogue has. */
export function plainConvCall(args: KernelArgs): boolean {
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const a = args.attrs as unknown as tf.FusedConv2DAttrs;
  if (!x || !filter || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return false;
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || preluActivationWeights || filter.shape[2] !== x.shape[3]) return false;
  if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== filter.shape[3])) return false;
  if (pair(a.dilations).some((d) => d !== 1)) return false;
  return (a.activation ?? 'linear') in ACTIVATIONS;
}

/** The bias padded with zeros to `np` floats in the scratch at `offset`; 0 (none) without bias. */
export function paddedBias(engine: ConvEngine, bias: tf.TensorInfo | undefined, offset: number, np: number): number {
  if (!bias) return 0;
  const padded = engine.heap.f32(offset, np);
  padded.fill(0);
  padded.set(engine.heap.f32(engine.heap.offsetOf(bias), bias.shape[0]));
  return offset;
}

/** The registered kernel: the first of `paths` that takes the call, else the backend's own. */
export function convKernel(kernelName: 'Conv2D' | 'FusedConv2D', paths: ConvPath[]): tf.KernelFunc {
  return (args) => {
    const path = paths.find((p) => p.accepts(args));
    const engine = path && heapEngine(args.backend);
    if (path && engine) return path.run(args, engine);
    const own = builtinKernel(kernelName, 'wasm');
    if (!own) throw new KernelInputError(`the wasm backend has no ${kernelName} kernel of its own`);
    return own.kernelFunc(args) as tf.TensorInfo;
  };
}
