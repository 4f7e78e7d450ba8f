import * as tf from '@tensorflow/tfjs';
import { builtinKernel, replaceKernel } from './builtin-kernels.ts';
import { reverseKernel, sliceKernel, splitVKernel } from './copy-kernels.ts';
import { conv2dBackpropFilterKernel } from './conv2d-backprop-filter.ts';
import { conv2dBackpropInputKernel } from './conv2d-backprop-input.ts';
import { depthwiseBackpropFilterKernel, depthwiseBackpropInputKernel } from './depthwise-backprop.ts';
import { convKernel } from './conv-engine.ts';
import { directConv } from './direct-conv.ts';
import { leakyReluKernel } from './leaky-relu-kernel.ts';
import { winogradConv } from './winograd-conv.ts';

/**
 * Which gradient kernels we register per backend, and why (measured on tfjs 4.22.0, 2 cores,
 * scripts/bench-backprop-filter.ts):
 * - wasm lacks Conv2DBackpropFilter and both depthwise backprops, so conv training fails there
 *   without them; its own Conv2DBackpropInput is 1.7-13x slower than ours (a stride-1 XNNPACK conv).
 * - cpu: ours for Conv2DBackpropFilter is 2-40x faster than cpu's own (a plain JS loop); cpu's own
 *   input and depthwise kernels beat ours there, so they stay.
 * - wasm's Slice, SplitV and Reverse copy element rows one at a time; ours copy merged blocks
 *   (copy-kernels.ts), same bits, 10-50x faster on training-sized tensors.
 * - wasm's Conv2D and FusedConv2D: on the threaded build, 3x3 stride-1 convs by Winograd and the
 *   others as our own GEMM (conv-engine.ts), faster than XNNPACK's; the rest (dilated, prelu,
 *   NCHW, few channels) to its own kernel; LeakyRelu on all threads (leaky-relu-kernel.ts).
 * The 'tensorflow' backend (tfjs-node) has native kernels for all of them.
 */
const KERNELS: Record<string, Record<string, tf.KernelFunc>> = {
  wasm: {
    Conv2DBackpropFilter: conv2dBackpropFilterKernel,
    Conv2DBackpropInput: conv2dBackpropInputKernel,
    DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilterKernel,
    DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInputKernel,
    Slice: sliceKernel,
    SplitV: splitVKernel,
    Reverse: reverseKernel,
    Conv2D: convKernel('Conv2D', [winogradConv, directConv]),
    FusedConv2D: convKernel('FusedConv2D', [winogradConv, directConv]),
    LeakyRelu: leakyReluKernel,
  },
  cpu: {
    Conv2DBackpropFilter: conv2dBackpropFilterKernel,
  },
};

const done = new Set<string>();

/**
 * Registers our kernels for `backendName` (once per process; later calls are no-ops).
 * Returns the kernel names this backend now runs from this project.
 */
export function registerTrainingKernels(backendName: string): string[] {
  const table = KERNELS[backendName] ?? {};
  if (!done.has(backendName)) {
    for (const [kernelName, kernelFunc] of Object.entries(table)) replaceKernel(kernelName, backendName, kernelFunc);
    done.add(backendName);
  }
  return Object.keys(table);
}

export { builtinKernel };
