/**
 * The short name of a tfjs weight variable (`conv/kernel` -> `kernel`). In model/ because both the
 * darknet weight reader (io) and the pruner (prune) match weights by it.
 */

const KNOWN_WEIGHTS = new Set([
  'kernel', 'bias', 'gamma', 'beta', 'moving_mean', 'moving_variance', 'alpha', 'depthwise_kernel', 'pointwise_kernel',
]);

/** `conv/kernel` -> `kernel`; a uniquifying suffix (`gamma_1`) of a known weight name is dropped. */
export function shortName(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const m = /^(.*)_\d+$/.exec(base);
  return m && KNOWN_WEIGHTS.has(m[1]) ? m[1] : base;
}
