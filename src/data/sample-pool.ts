/**
 * A pool of worker threads that make samples (decode + augment, `sample.ts`), so that data
 * preparation runs in parallel with a training step that keeps the main thread busy. Results are
 * identical to making the samples in-process: each sample has its own seed.
 *
 * Workers are referenced (keep the process alive) only while they have work; `close()` ends them.
 */
import { Worker } from 'node:worker_threads';
import type { ResizeMode } from '../image/geometry.ts';
import type { AugmentOptions } from './augment-options.ts';
import { DatasetError } from './errors.ts';
import { SampleSourceError, type Sample } from './sample.ts';
import type { SerializedError } from './sample-worker.ts';
import type { DatasetItem } from './types.ts';
import { WorkerError } from '../util/errors.ts';

function deserializeError(e: SerializedError): Error {
  let cause: Error;
  if (e.dataset) {
    cause = new DatasetError(e.dataset, 'x');
    cause.message = e.message; // the original, already formatted message
  } else {
    cause = new Error(e.message);
    cause.name = e.name;
  }
  return e.sourceIndex !== undefined ? new SampleSourceError(e.sourceIndex, cause) : cause;
}

interface Job {
  resolve: (s: Sample) => void;
  reject: (e: Error) => void;
  worker: number;
}

export class SamplePool {
  private readonly workers: Worker[];
  private readonly load: number[];
  private readonly jobs = new Map<number, Job>();
  private nextJob = 0;
  private closed = false;

  constructor(n: number, items: readonly DatasetItem[], size: number, mode: ResizeMode = 'letterbox') {
    const url = new URL('./sample-worker-boot.mjs', import.meta.url);
    this.workers = Array.from({ length: n }, () => new Worker(url));
    this.load = this.workers.map(() => 0);
    this.workers.forEach((w, k) => {
      w.unref();
      w.postMessage({ type: 'init', items, size, mode });
      w.on('message', (m: { job: number; ok: boolean; sample?: Sample; error?: SerializedError }) => {
        const job = this.jobs.get(m.job);
        if (!job) return;
        this.jobs.delete(m.job);
        if (--this.load[k] === 0) w.unref();
        if (m.ok) job.resolve(m.sample!);
        else job.reject(deserializeError(m.error!));
      });
      w.on('error', (e) => this.failWorker(k, e));
      w.on('exit', (code) => {
        if (!this.closed) this.failWorker(k, new WorkerError(`sample worker exited with code ${code}`));
      });
    });
  }

  private failWorker(k: number, e: Error) {
    for (const [id, job] of this.jobs) {
      if (job.worker !== k) continue;
      this.jobs.delete(id);
      job.reject(e);
    }
    this.load[k] = 0;
  }

  /** Makes the sample of `index` with the per-sample seed `seed` (the parts given to `Rng.derive`). */
  sample(index: number, augment: AugmentOptions | null, seed: number[]): Promise<Sample> {
    if (this.closed) return Promise.reject(new WorkerError('the sample pool is closed'));
    let k = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i] < this.load[k]) k = i;
    const job = this.nextJob++;
    return new Promise<Sample>((resolve, reject) => {
      this.jobs.set(job, { resolve, reject, worker: k });
      if (this.load[k]++ === 0) this.workers[k].ref();
      this.workers[k].postMessage({ type: 'sample', job, index, augment, seed });
    });
  }

  /** Tells the workers an image is bad (not to be picked for mosaics any more). */
  markBad(index: number): void {
    for (const w of this.workers) w.postMessage({ type: 'bad', index });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.jobs.values()) job.reject(new WorkerError('the sample pool was closed'));
    this.jobs.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
