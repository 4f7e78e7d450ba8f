import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterKernel } from './conv2d-backprop-filter.ts';
import { conv2dBackpropInputKernel } from './conv2d-backprop-input.ts';
import { depthwiseBackpropFilterKernel, depthwiseBackpropInputKernel } from './depthwise-backprop.ts';

/**
 * Which gradient kernels we register per backend, and why (measured on tfjs 4.22.0, 2 cores,
 * scripts/bench-backprop-filter.ts):
 * - wasm lacks Conv2DBackpropFilter and both depthwise backprops, so conv training fails there
 *   without them; its own Conv2DBackpropInput is 1.7-13x slower than ours (a stride-1 XNNPACK conv).
 * - cpu: ours for Conv2DBackpropFilter is 2-40x faster than cpu's own (a plain JS loop); cpu's own
 *   input and depthwise kernels beat ours there, so they stay.
 * The 'tensorflow' backend (tfjs-node) has native kernels for all of them.
 */
const KERNELS: Record<string, Record<string, tf.KernelFunc>> = {
  wasm: {
    Conv2DBackpropFilter: conv2dBackpropFilterKernel,
    Conv2DBackpropInput: conv2dBackpropInputKernel,
    DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilterKernel,
    DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInputKernel,
  },
  cpu: {
    Conv2DBackpropFilter: conv2dBackpropFilterKernel,
  },
};

/** Kernels a backend shipped with, kept when we replace them (for benchmarks and tests). */
const originals = new Map<string, tf.KernelConfig | null>();
const done = new Set<string>();

/**
 * Registers our gradient kernels for `backendName` (once per process; later calls are no-ops).
 * Returns the kernel names this backend now runs from this project.
 */
export function registerTrainingKernels(backendName: string): string[] {
  const table = KERNELS[backendName] ?? {};
  if (!done.has(backendName)) {
    for (const [kernelName, kernelFunc] of Object.entries(table)) {
      const key = `${backendName}/${kernelName}`;
      const own = tf.getKernel(kernelName, backendName) ?? null;
      originals.set(key, own);
      // Unregister first: registerKernel over an existing one logs a warning.
      if (own !== null) tf.unregisterKernel(kernelName, backendName);
      tf.registerKernel({ kernelName, backendName, kernelFunc });
    }
    done.add(backendName);
  }
  return Object.keys(table);
}

/**
 * The kernel `backendName` itself provides for `kernelName`, even after we replaced it; undefined
 * if it has none.
 */
export function builtinKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  const key = `${backendName}/${kernelName}`;
  if (originals.has(key)) return originals.get(key) ?? undefined;
  return tf.getKernel(kernelName, backendName);
}
