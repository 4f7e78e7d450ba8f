/**
 * The optimizer state and the EMA weights of a run, packed into one checkpoint payload (JSON +
 * bytes) and back, so a resumed run continues with exactly the state it stopped with.
 */
import * as tf from '@tensorflow/tfjs';
import type { Optimizer, OptimizerState } from './optimizer.ts';
import type { ModelEma } from './ema.ts';

export async function packTrainerState(opt: Optimizer, ema: ModelEma | undefined, model: tf.LayersModel): Promise<{ json: unknown; weights: Uint8Array }> {
  const o: OptimizerState = await opt.getState();
  if (!ema) return { json: { optimizer: o.json }, weights: o.weights };
  const emaData = await Promise.all(ema.tensors().map((t) => t.data() as Promise<Float32Array>));
  const n = emaData.reduce((a, d) => a + d.length, 0);
  const all = new Uint8Array(o.weights.byteLength + n * 4);
  all.set(o.weights, 0);
  const f = new Float32Array(all.buffer, o.weights.byteLength, n);
  let off = 0;
  for (const d of emaData) {
    f.set(d, off);
    off += d.length;
  }
  return {
    json: { optimizer: o.json, optimizerBytes: o.weights.byteLength, ema: { updates: ema.updates, names: model.weights.map((w) => w.originalName) } },
    weights: all,
  };
}

export function unpackTrainerState(packed: { json: unknown; weights?: Uint8Array }, opt: Optimizer, ema: ModelEma | undefined, model: tf.LayersModel): void {
  const json = packed.json as { optimizer: OptimizerState['json']; optimizerBytes?: number; ema?: { updates: number; names: string[] } };
  const bytes = packed.weights ?? new Uint8Array(0);
  const optBytes = json.optimizerBytes ?? bytes.byteLength;
  opt.setState({ json: json.optimizer, weights: bytes.subarray(0, optBytes) });
  if (ema && json.ema) {
    const floats = new Float32Array(bytes.slice(optBytes).buffer);
    let off = 0;
    const tensors = model.weights.map((w) => {
      const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
      const t = tf.tensor(floats.subarray(off, off + n), w.shape as number[]);
      off += n;
      return t;
    });
    ema.load(tensors, json.ema.updates);
    tf.dispose(tensors);
  }
}
