/**
 * One optimizer step over a batch (optionally as darknet-style subdivisions), and the
 * deterministic multi-scale input size a step trains at.
 */
import * as tf from '@tensorflow/tfjs';
import { yoloLoss, type YoloLossOptions } from './loss.ts';
import { clipByGlobalNorm, type Optimizer } from './optimizer.ts';

/**
 * One optimizer step; returns the loss terms as numbers. With `subdivisions` k > 1 the batch runs
 * as k micro-batches whose gradients are averaged before the one update (darknet's subdivisions):
 * the same step in 1/k of the activation memory, BatchNorm seeing micro-batch statistics.
 * Every tensor made here is disposed. Async because the loss values are read with data(): webgpu
 * under Node cannot read GPU data synchronously.
 */
export async function trainStep(
  model: tf.LayersModel,
  vars: { name: string; variable: tf.Variable }[],
  optimizer: Optimizer,
  images: tf.Tensor4D,
  targets: Float32Array[],
  lossOpts: YoloLossOptions,
  lr: number,
  clipGradNorm: number,
  size: number,
  subdivisions = 1,
): Promise<{ total: number; box: number; obj: number; cls: number }> {
  const n = images.shape[0];
  const k = Math.max(1, Math.min(subdivisions, n));
  const per = Math.ceil(n / k);
  let sums: Record<string, tf.Tensor> = {};
  const totals = { total: 0, box: 0, obj: 0, cls: 0 };
  for (let start = 0; start < n; start += per) {
    const count = Math.min(per, n - start);
    const weight = count / n;
    let parts: tf.Scalar[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const slice = count === n ? images : tf.slice(images, [start, 0, 0, 0], [count, -1, -1, -1]);
      const x = size === images.shape[1] ? slice : tf.image.resizeBilinear(slice, [size, size]);
      const outputs = model.apply(x, { training: true }) as tf.Tensor[];
      const l = yoloLoss(outputs, targets.slice(start, start + count), lossOpts);
      parts = [tf.keep(l.box), tf.keep(l.obj), tf.keep(l.cls)];
      return l.total;
    }, vars.map((v) => v.variable));
    const [total, box, obj, cls] = (await Promise.all([value, ...parts].map((t) => t.data()))).map((d) => d[0]);
    totals.total += weight * total;
    totals.box += weight * box;
    totals.obj += weight * obj;
    totals.cls += weight * cls;
    tf.dispose([value, ...parts]);
    // Accumulate weight * grad so the update equals the mean over micro-batches.
    if (weight === 1) {
      sums = grads; // one micro-batch: the gradients are the sums
      continue;
    }
    const next: Record<string, tf.Tensor> = {};
    for (const [name, g] of Object.entries(grads)) {
      next[name] = tf.tidy(() => (sums[name] ? tf.add(sums[name], tf.mul(g, weight)) : tf.mul(g, weight)));
    }
    tf.dispose([...Object.values(grads), ...Object.values(sums)]);
    sums = next;
  }
  let g: Record<string, tf.Tensor> = sums;
  if (clipGradNorm > 0) g = (await clipByGlobalNorm(sums, clipGradNorm)).grads;
  optimizer.apply(vars.filter((v) => g[v.variable.name]).map((v) => ({ ...v, grad: g[v.variable.name] })), lr);
  tf.dispose(Object.values(g));
  return totals;
}

/** Deterministic multi-scale choice: [0.5, 1.5] x size in steps of 32. */
export function pickScale(size: number, seed: number, step: number): number {
  const lo = Math.max(32, Math.round((size * 0.5) / 32) * 32);
  const hi = Math.round((size * 1.5) / 32) * 32;
  const k = (hi - lo) / 32 + 1;
  const h = Math.imul(step + 1, 2654435761) ^ Math.imul(seed + 7, 40503);
  return lo + 32 * (((h >>> 0) % k));
}
