import * as tf from '@tensorflow/tfjs';

/** Kernels a backend shipped with, kept when we replace them (for fallbacks, benchmarks and tests). */
const originals = new Map<string, tf.KernelConfig | null>();

/** Puts `kernelFunc` in place of `backendName`'s own `kernelName`, remembering the one it had. */
export function replaceKernel(kernelName: string, backendName: string, kernelFunc: tf.KernelFunc): void {
  const key = `${backendName}/${kernelName}`;
  const own = tf.getKernel(kernelName, backendName) ?? null;
  if (!originals.has(key)) originals.set(key, own);
  // Unregister first: registerKernel over an existing one logs a warning.
  if (own !== null) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ kernelName, backendName, kernelFunc });
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
