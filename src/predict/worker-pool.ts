/**
 * Batched inference on several cores: a pool of worker_threads, each with its own tfjs backend and
 * its own copy of the model (weights sent once as ArrayBuffers). For eval and video, where many
 * images are independent, this scales throughput with cores without relying on the backend's own
 * threading (tfjs wasm runs one thread under Node unless src/speed/wasm-threads.ts is used).
 *
 *   const pool = await createInferencePool('runs/exp/best', { workers: 2 });   // or a LayersModel
 *   const outs = await pool.predict(batch, [16, 256, 256, 3]);   // split over workers, merged
 *   const one = await pool.run(image, [1, 256, 256, 3]);         // one request, next free worker
 *   await pool.close();
 *
 * Outputs come back as {data: Float32Array, shape} per model output, in the model's output order.
 * Workers are referenced (keep the process alive) only while they have work.
 */
import { Worker } from 'node:worker_threads';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { BackendChoice } from '../backend/select.ts';
import { fileSystemHandler } from '../io/model-files.ts';
import type { InitMessage, OutputTensor } from './pool-worker.ts';
import { PredictInputError } from './errors.ts';
import { WorkerError } from '../util/errors.ts';

export type { OutputTensor } from './pool-worker.ts';

export interface PoolOptions {
  /** Number of workers; default os.availableParallelism(). */
  workers?: number;
  /** Backend in each worker; default 'wasm'. */
  backend?: BackendChoice;
  /** wasm threads per worker (src/speed/wasm-threads.ts); default 1. */
  threadsPerWorker?: number;
  /** Fold BatchNorm into the convs in each worker (inference only); default true. */
  fold?: boolean;
  /** Modules each worker imports before loading the model (custom layers), as import specifiers/URLs. */
  imports?: string[];
}

export interface InferencePool {
  readonly size: number;
  /** Backend and threads each worker runs. */
  readonly workerInfo: { backend: string; threads: number }[];
  /** Splits the batch (axis 0) over the workers and concatenates the outputs. */
  predict(data: Float32Array, shape: number[]): Promise<OutputTensor[]>;
  /** One request to the least-loaded worker (for pipelines that keep several requests in flight). */
  run(data: Float32Array, shape: number[]): Promise<OutputTensor[]>;
  close(): Promise<void>;
}

interface Job {
  resolve: (o: OutputTensor[]) => void;
  reject: (e: Error) => void;
  worker: number;
}

/** The model as in-memory artifacts (topology + one weight buffer). */
async function toArtifacts(source: string | tf.LayersModel | tf.io.ModelArtifacts): Promise<tf.io.ModelArtifacts> {
  if (typeof source === 'string') return fileSystemHandler(source).load!();
  if (source instanceof tf.LayersModel) {
    let artifacts: tf.io.ModelArtifacts | undefined;
    await source.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    return artifacts!;
  }
  return source;
}

function flatWeights(a: tf.io.ModelArtifacts): tf.io.ModelArtifacts {
  const data = new tf.io.CompositeArrayBuffer(a.weightData ?? []).slice();
  return { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs, weightData: data, format: a.format };
}

export async function createInferencePool(
  source: string | tf.LayersModel | tf.io.ModelArtifacts, opts: PoolOptions = {},
): Promise<InferencePool> {
  const n = Math.max(1, opts.workers ?? (os.availableParallelism?.() ?? os.cpus().length));
  const artifacts = flatWeights(await toArtifacts(source));
  const url = new URL('./pool-worker-boot.mjs', import.meta.url);
  const workers: Worker[] = [];
  const load: number[] = [];
  const jobs = new Map<number, Job>();
  let nextJob = 0;
  let closed = false;

  const failWorker = (k: number, e: Error) => {
    for (const [id, job] of jobs) {
      if (job.worker !== k) continue;
      jobs.delete(id);
      job.reject(e);
    }
    load[k] = 0;
  };

  const workerInfo = await Promise.all(Array.from({ length: n }, (_, k) => new Promise<{ backend: string; threads: number }>((resolve, reject) => {
    const w = new Worker(url);
    workers.push(w);
    load.push(0);
    const init: InitMessage = {
      type: 'init', artifacts, backend: opts.backend ?? 'wasm', threads: opts.threadsPerWorker ?? 1,
      fold: opts.fold ?? true, imports: opts.imports ?? [],
    };
    w.postMessage(init); // weights are copied (structured clone) to each worker
    w.on('message', (m: { type?: string; backend?: string; threads?: number; message?: string; job?: number; ok?: boolean; outputs?: OutputTensor[]; error?: string }) => {
      if (m.type === 'ready') {
        w.unref();
        resolve({ backend: m.backend!, threads: m.threads! });
        return;
      }
      if (m.type === 'error') {
        reject(new WorkerError(`inference worker ${k}: ${m.message}`));
        return;
      }
      const job = jobs.get(m.job!);
      if (!job) return;
      jobs.delete(m.job!);
      if (--load[k] === 0) w.unref();
      if (m.ok) job.resolve(m.outputs!);
      else job.reject(new WorkerError(`inference worker ${k}: ${m.error}`));
    });
    w.on('error', (e) => {
      reject(e);
      failWorker(k, e);
    });
    w.on('exit', (code) => {
      if (!closed) failWorker(k, new WorkerError(`inference worker ${k} exited with code ${code}`));
    });
  }))).catch(async (e) => {
    closed = true;
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  });

  const run = (data: Float32Array, shape: number[]): Promise<OutputTensor[]> => {
    if (closed) return Promise.reject(new WorkerError('the inference pool is closed'));
    let k = 0;
    for (let i = 1; i < n; i++) if (load[i] < load[k]) k = i;
    const job = nextJob++;
    return new Promise<OutputTensor[]>((resolve, reject) => {
      jobs.set(job, { resolve, reject, worker: k });
      if (load[k]++ === 0) workers[k].ref();
      // A copy per request: the caller keeps its array.
      workers[k].postMessage({ type: 'run', job, data, shape });
    });
  };

  const predict = async (data: Float32Array, shape: number[]): Promise<OutputTensor[]> => {
    const batch = shape[0];
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    if (data.length !== batch * per) throw new PredictInputError(`data has ${data.length} values, shape [${shape}] needs ${batch * per}`);
    const parts = Math.min(n, batch);
    const sizes = Array.from({ length: parts }, (_, i) => Math.floor(batch / parts) + (i < batch % parts ? 1 : 0));
    let start = 0;
    const results = await Promise.all(sizes.map((b) => {
      const s = start;
      start += b;
      return run(data.subarray(s * per, (s + b) * per), [b, ...shape.slice(1)]);
    }));
    // Concatenate each output along axis 0.
    return results[0].map((first, o) => {
      const total = results.reduce((acc, r) => acc + r[o].data.length, 0);
      const out = new Float32Array(total);
      let off = 0;
      for (const r of results) {
        out.set(r[o].data, off);
        off += r[o].data.length;
      }
      return { data: out, shape: [batch, ...first.shape.slice(1)] };
    });
  };

  const close = async () => {
    closed = true;
    for (const [id, job] of jobs) {
      jobs.delete(id);
      job.reject(new WorkerError('the inference pool is closed'));
    }
    await Promise.all(workers.map((w) => w.terminate()));
  };

  return { size: n, workerInfo, predict, run, close };
}
