/**
 * Our own threads for our heap modules (heap-module.ts): tfjs-backend-wasm's pthreads run only its
 * XNNPACK kernels, so a kernel of ours would use one core. Each worker instantiates the same module
 * on the same shared Memory; a call splits its outer range [0, total) into one contiguous part per
 * thread, the calling thread takes the first, and returns when all are done. Workers sleep in
 * Atomics.wait between calls (no spinning while tfjs's own threads work) and are unref'd, so they
 * never keep the process alive.
 *
 * A Node worker needs its parent's event loop to start: a parent that blocks in Atomics.wait for a
 * worker still starting never sees it start. So a call is shared only with workers that have said
 * they are ready (the others' shares go to the calling thread), and `ready()` lets an async caller
 * (backend selection) wait for them once, before any kernel runs.
 */
import { Worker } from 'node:worker_threads';
import { KernelInputError } from './errors.ts';

// Control block per worker (Int32): [0] call sequence (bumped to start; -1 = exit), [1] sequence
// finished, [2] 1 if that call threw, [3] 1 once the worker is ready. Float64 from byte 16: [0]
// export index, [1] argument count, args.
const CONTROL_BYTES = 16 + 8 * 34;

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { memory, bytes, control, names } = workerData;
const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
const ctl = new Int32Array(control);
const args = new Float64Array(control, 16);
Atomics.store(ctl, 3, 1);
parentPort.postMessage('ready');
let seen = 0;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  if (seen < 0) break;
  let failed = 0;
  try {
    exports[names[args[0]]](...args.subarray(2, 2 + args[1]));
  } catch {
    failed = 1;
  }
  Atomics.store(ctl, 2, failed);
  Atomics.store(ctl, 1, seen);
  Atomics.notify(ctl, 1);
}
`;

interface Helper {
  ctl: Int32Array;
  args: Float64Array;
  worker: Worker;
  /** Settles when the worker is ready, or has failed to start (then it is never used). */
  started: Promise<void>;
}

export class HeapThreads {
  private readonly helpers: Helper[] = [];
  private readonly names: string[];

  /** `threads` in all, this one included; `exports` is this thread's instance of the module. */
  constructor(private readonly exports: WebAssembly.Exports, bytes: Uint8Array, memory: WebAssembly.Memory, threads: number) {
    this.names = Object.keys(exports).filter((k) => typeof exports[k] === 'function');
    for (let i = 1; i < threads; i++) {
      const control = new SharedArrayBuffer(CONTROL_BYTES);
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { memory, bytes, control, names: this.names } });
      worker.unref();
      const started = new Promise<void>((resolve) => {
        worker.once('message', () => resolve());
        worker.once('error', () => resolve());
        worker.once('exit', () => resolve());
      });
      this.helpers.push({ ctl: new Int32Array(control), args: new Float64Array(control, 16), worker, started });
    }
  }

  get threads(): number {
    return this.helpers.length + 1;
  }

  /** Resolves once every worker is ready or has failed to start (at most `timeoutMs`). */
  async ready(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
    await Promise.race([Promise.all(this.helpers.map((h) => h.started)), timeout]);
    clearTimeout(timer);
  }

  /**
   * Calls export `name`(...args, begin, end) on every thread over parts of [0, total), each part a
   * multiple of `grain` (except the last), and waits for all of them.
   */
  run(name: string, args: number[], total: number, grain = 1): void {
    const fn = this.exports[name] as (...a: number[]) => void;
    const index = this.names.indexOf(name);
    const units = Math.ceil(total / grain);
    const ready = this.helpers.filter((h) => Atomics.load(h.ctl, 3) === 1);
    const parts = Math.min(ready.length + 1, units);
    const bound = (i: number) => Math.min(total, Math.round((units * i) / parts) * grain);
    const started: Helper[] = [];
    for (let i = 1; i < parts; i++) {
      const h = ready[i - 1];
      h.args[0] = index;
      h.args[1] = args.length + 2;
      h.args.set(args, 2);
      h.args[2 + args.length] = bound(i);
      h.args[3 + args.length] = bound(i + 1);
      Atomics.add(h.ctl, 0, 1);
      Atomics.notify(h.ctl, 0);
      started.push(h);
    }
    fn(...args, 0, bound(1));
    let failed = false;
    for (const h of started) {
      const seq = Atomics.load(h.ctl, 0);
      // Wait on the value just seen: re-reading it for the wait could see `seq`, stored (and
      // notified) after the check, and sleep forever.
      for (let done = Atomics.load(h.ctl, 1); done !== seq; done = Atomics.load(h.ctl, 1)) Atomics.wait(h.ctl, 1, done);
      failed ||= Atomics.load(h.ctl, 2) !== 0;
    }
    if (failed) throw new KernelInputError(`${name} failed on a helper thread`);
  }

  /** Ends the workers (they would also end with the process). */
  close(): void {
    for (const h of this.helpers) {
      Atomics.store(h.ctl, 0, -1);
      Atomics.notify(h.ctl, 0);
    }
    this.helpers.length = 0;
  }
}
