/**
 * Multi-threaded tfjs wasm backend under Node (XNNPACK's thread pool over worker_threads).
 *
 * tfjs-backend-wasm 4.22 ships a threaded+SIMD build but never uses it under Node, for three reasons:
 *   1. the flag WASM_HAS_MULTITHREAD_SUPPORT is hard-coded to false when IS_NODE;
 *   2. the pthread worker script is handed to Emscripten as a `blob:` URL
 *      (URL.createObjectURL(new Blob([workerSource]))), which `worker_threads.Worker` refuses
 *      (ERR_WORKER_PATH); each worker then receives the main script as a Blob, turns it into another
 *      blob: URL and reads it with fs.readFileSync, which cannot work in Node either;
 *   3. the C++ side caps the pool at emscripten_num_logical_cores() / 2 (it assumes hyper-threading),
 *      i.e. os.cpus().length / 2 under Node: 1 thread on a 2-core machine.
 * Emscripten's pthread runtime itself supports Node, so `enableWasmThreads()` fixes exactly these:
 *   1. sets the flag;
 *   2. makes URL.createObjectURL return a token for tfjs's worker Blob (recognized by its type and
 *      exact size), and worker_threads.Worker run the worker source from memory for that token (no
 *      file: nothing another user could swap); the source starts with a prelude making the worker's
 *      own URL.createObjectURL return the path of the package's
 *      `wasm-out/tfjs-backend-wasm-threaded-simd.js` (the same Emscripten factory), so the worker's
 *      importScripts() reads the installed package's file;
 *   3. while the module instantiates, os.cpus() answers 2 x threads entries to calls that come from
 *      the wasm backend's bundle (and only those, once).
 * The pool's worker_threads are unref'd so they do not keep the process alive.
 *
 * Call it BEFORE the wasm backend initializes (the first `tf.setBackend('wasm')`, e.g. in
 * selectBackend): it returns false and changes nothing if the backend is already up.
 * Measured on a 2-core machine: see the README of this folder / the issue note.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';

const require = createRequire(import.meta.url);

export interface WasmThreadsOptions {
  /** XNNPACK pool size (the calling thread counts as one); default os.availableParallelism(); capped at 8 by tfjs. */
  threads?: number;
}

interface WasmModule {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

let installed: { threads: number } | undefined;

/** The most threads tfjs's wasm pool takes. */
export const MAX_WASM_THREADS = 8;

/**
 * The thread count a run uses unless told otherwise: YOLO4_THREADS when set, else every core this
 * process may use (os.availableParallelism), at most MAX_WASM_THREADS.
 */
export function defaultThreads(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = env.YOLO4_THREADS;
  if (fromEnv !== undefined && fromEnv !== '') return Number(fromEnv);
  return Math.min(MAX_WASM_THREADS, Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
}

/** Why the threaded build cannot start in this process, or undefined when it can. */
export function wasmThreadsUnavailable(): string | undefined {
  if (typeof SharedArrayBuffer === 'undefined') return 'this Node has no SharedArrayBuffer';
  return undefined;
}

/**
 * The pthread worker's source, runnable by Node, and the size of tfjs's Blob of it. It never touches
 * the disk: a worker file in a shared temp folder could be swapped by another local user between our
 * write and the worker's read (issue 11, A4), so the pool's workers get this string (`eval: true`).
 */
function workerSource(): { source: string; blobSize: number } {
  const workerSrcPath = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js');
  const factoryPath = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
  const { wasmWorkerContents } = require(workerSrcPath) as { wasmWorkerContents: string };
  // The same escaping tfjs applies before making its Blob: the source's "\n" escapes became real
  // newlines in the template literal that carries it.
  const escaped = wasmWorkerContents.replace(/\n/g, '\\n');
  // The worker's importScripts() then reads the Emscripten factory from the installed package.
  const prelude =
    '// yolo4-prune src/speed/wasm-threads.ts: the tfjs wasm pthread worker, runnable by Node\n' +
    `{ const f = ${JSON.stringify(factoryPath)}; URL.createObjectURL = () => f; URL.revokeObjectURL = () => {}; }\n`;
  return { source: prelude + escaped, blobSize: Buffer.byteLength(escaped, 'utf8') };
}

/**
 * Makes the wasm backend, when it first initializes, use the threaded SIMD build with `threads`
 * threads. Returns true if installed (or already installed with the same count), false if
 * threads < 2 (nothing to do), the backend was already initialized, or this Node lacks
 * SharedArrayBuffer.
 */
export async function enableWasmThreads(opts: WasmThreadsOptions = {}): Promise<boolean> {
  const threads = Math.min(MAX_WASM_THREADS, Math.max(1, Math.floor(opts.threads ?? defaultThreads({}))));
  if (installed) return installed.threads === threads;
  if (threads < 2) return false; // the plain SIMD build is the 1-thread case
  if (typeof SharedArrayBuffer === 'undefined') return false;
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as WasmModule;
  try {
    wasm.getThreadsCount(); // throws until the backend exists
    return false;
  } catch { /* not initialized yet: good */ }

  const { source, blobSize } = workerSource();
  // A name no file can have: Emscripten hands it to `new Worker()`, which we catch below.
  const token = `yolo4-wasm-pthread-worker:${randomUUID()}`;

  // 2. Worker Blob -> our token (permanent but narrow: only tfjs's worker Blob matches).
  const originalCreate = URL.createObjectURL.bind(URL);
  URL.createObjectURL = (obj: Blob) => {
    if (obj instanceof Blob && obj.type === 'application/javascript' && obj.size === blobSize) return token;
    return originalCreate(obj);
  };

  // Pool workers must not keep the process alive: the main thread waits for them inside kernels, and
  // a process that is done should exit even though XNNPACK's pool threads never do.
  const wt = require('node:worker_threads') as typeof import('node:worker_threads');
  const OriginalWorker = wt.Worker;
  class UnrefWorker extends OriginalWorker {
    constructor(filename: string | URL, options?: import('node:worker_threads').WorkerOptions) {
      const ours = String(filename) === token;
      // Ours runs from memory (CommonJS, as `node -e`); plain `node` for the pool: no loader hooks
      // (e.g. tsx) to start in each of 8 workers.
      super(ours ? source : filename, ours ? { ...options, eval: true, execArgv: [] } : options);
      if (ours) {
        this.unref();
        // Emscripten ref()s a worker while a pthread runs on it; XNNPACK's pool threads never exit.
        this.ref = () => {};
      }
    }
  }
  (wt as { Worker: typeof OriginalWorker }).Worker = UnrefWorker;

  // 3. Logical cores as seen by the wasm bundle's static initializer (once).
  const nodeOs = require('node:os') as { cpus: typeof os.cpus };
  const originalCpus = nodeOs.cpus;
  nodeOs.cpus = function cpus() {
    const c = originalCpus();
    const stack = new Error().stack ?? '';
    if (!stack.includes('tfjs-backend-wasm')) return c;
    nodeOs.cpus = originalCpus;
    return Array.from({ length: Math.max(2 * threads, c.length) }, (_, i) => c[i % c.length]);
  };

  // 1. The flag, and the requested pool size.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  installed = { threads };
  return true;
}

/** Threads the wasm backend actually runs with, or undefined before it initialized. */
export async function wasmThreadsCount(): Promise<number | undefined> {
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as WasmModule;
  try {
    return wasm.getThreadsCount();
  } catch {
    return undefined;
  }
}
