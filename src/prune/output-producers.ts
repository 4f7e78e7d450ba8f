/**
 * The producers whose output reaches a model output through weightless layers only (the detection
 * heads): their filters are the model's output channels.
 */
import type { GraphLayer, TensorKey } from './types.ts';

export function findOutputProducers(
  layers: readonly GraphLayer[],
  byName: ReadonlyMap<string, GraphLayer>,
  consumers: Readonly<Record<TensorKey, string[]>>,
  outputs: readonly TensorKey[],
): string[] {
  const outputSet = new Set(outputs);
  const outputProducers: string[] = [];
  for (const gl of layers) {
    if (gl.kind !== 'producer') continue;
    const seen = new Set<string>();
    const stack = gl.outputs.flat();
    let reaches = false;
    while (stack.length > 0 && !reaches) {
      const k = stack.pop()!;
      if (outputSet.has(k)) reaches = true;
      for (const c of consumers[k] ?? []) {
        const cl = byName.get(c)!;
        if (cl.weights.length > 0 || seen.has(c)) continue;
        seen.add(c);
        // Follow every output of every call of the weightless consumer that reads this tensor.
        cl.inputs.forEach((ks, i) => {
          if (ks.includes(k)) stack.push(...cl.outputs[i]);
        });
      }
    }
    if (reaches) outputProducers.push(gl.name);
  }
  return outputProducers;
}
