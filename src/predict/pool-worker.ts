/**
 * One inference worker of worker-pool.ts: its own tfjs backend and model copy.
 * Messages in: {type:'init', artifacts, backend, threads, fold, imports} then {type:'run', job, data, shape}.
 * Messages out: {type:'ready', backend, threads} | {type:'error', message} | {job, ok, outputs | error}.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import '../model/mish.ts';
import { selectBackend, type BackendChoice } from '../backend/select.ts';
import { enableWasmThreads, wasmThreadsCount } from '../speed/wasm-threads.ts';
import { foldBatchNorm } from '../speed/fold-bn.ts';
import { InternalError } from '../util/errors.ts';

export interface InitMessage {
  type: 'init';
  artifacts: tf.io.ModelArtifacts;
  backend: BackendChoice;
  threads: number;
  fold: boolean;
  imports: string[];
}

export interface RunMessage {
  type: 'run';
  job: number;
  data: Float32Array;
  shape: number[];
}

export interface OutputTensor {
  data: Float32Array;
  shape: number[];
}

if (!parentPort) throw new InternalError('pool-worker.ts runs in a worker thread');
const port = parentPort;
let model: tf.LayersModel | undefined;

port.on('message', async (m: InitMessage | RunMessage) => {
  if (m.type === 'init') {
    try {
      for (const spec of m.imports) await import(spec);
      if (m.backend === 'wasm' && m.threads > 1) await enableWasmThreads({ threads: m.threads });
      const r = await selectBackend(m.backend, { quiet: true });
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(m.artifacts));
      model = m.fold ? foldBatchNorm(loaded) : loaded;
      if (m.fold) loaded.dispose();
      const threads = r.name === 'wasm' ? (await wasmThreadsCount()) ?? 1 : 1;
      port.postMessage({ type: 'ready', backend: r.name, threads });
    } catch (e) {
      port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    }
    return;
  }
  try {
    if (!model) throw new InternalError('worker not initialized');
    const outs = tf.tidy(() => {
      const x = tf.tensor(m.data, m.shape, 'float32');
      const y = model!.predict(x);
      return Array.isArray(y) ? y : [y];
    });
    const outputs: OutputTensor[] = [];
    for (const o of outs) outputs.push({ data: (await o.data()) as Float32Array, shape: o.shape });
    tf.dispose(outs);
    port.postMessage({ job: m.job, ok: true, outputs }, outputs.map((o) => o.data.buffer as ArrayBuffer));
  } catch (e) {
    port.postMessage({ job: m.job, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
});
