/**
 * Latency of a model's forward pass for `prune --target-speedup`: BN folded into the convs (as predict
 * and export run it), one image at the given size on the active backend, median of a few runs after
 * warm-up. The folded copy is disposed; the model is not changed.
 */
import * as tf from '@tensorflow/tfjs';
import { predictHeads } from '../predict/detect.ts';
import { foldBatchNorm } from '../speed/fold-bn.ts';
import { withSyncReads } from '../backend/webgpu-sync-read.ts';

export async function measureLatency(model: tf.LayersModel, size: number, o: { runs?: number; warmup?: number } = {}): Promise<number> {
  const runs = o.runs ?? 7;
  const warmup = o.warmup ?? 2;
  const folded = withSyncReads(() => foldBatchNorm(model));
  const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 0) as tf.Tensor4D;
  const times: number[] = [];
  try {
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      const outs = await predictHeads(folded, x);
      await Promise.all(outs.map((t) => t.data()));
      tf.dispose(outs);
      if (i >= warmup) times.push(performance.now() - t0);
    }
  } finally {
    x.dispose();
    if (folded !== model) folded.dispose();
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}
