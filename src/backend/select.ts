import * as tf from '@tensorflow/tfjs';
import { registerTrainingKernels } from './training-kernels.ts';
import { setHeapThreads, startHeapEngine } from './heap-engine.ts';
import { BackendError } from './errors.ts';
import { activateWebgpu, describeAdapter, probeAdapter } from './webgpu.ts';

/**
 * Picks the fastest TensorFlow.js backend that loads here and says which one runs and why.
 * Order for 'auto': tfjs-node-gpu (CUDA), webgpu (Dawn on Vulkan, webgpu.ts) when its adapter is a
 * real GPU, tfjs-node (libtensorflow on CPU), wasm (XNNPACK), cpu (pure JS, ~10-20x slower than
 * wasm for YOLOv4). The native packages are optionalDependencies whose install downloads
 * libtensorflow, so they are often absent; webgpu on a CPU adapter (SwiftShader) runs only when
 * asked for by name, being far slower than wasm.
 */

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu' | 'webgpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu', 'webgpu'];

export interface BackendResult {
  /** tf.getBackend() after selection: 'tensorflow', 'webgpu', 'wasm' or 'cpu'. */
  name: string;
  /** What runs, e.g. 'tfjs-node-gpu, CUDA', 'SIMD, 1 thread' or the WebGPU adapter. */
  detail: string;
  /** Candidates tried before this one and why each did not run. */
  skipped: { candidate: string; reason: string }[];
}

export interface SelectOptions {
  /** Where the one summary line goes; default console.error. */
  log?: (line: string) => void;
  /** Print nothing (a later non-quiet call still prints the line once). */
  quiet?: boolean;
  /** Loads a package by name; default dynamic import(). Lets tests simulate a broken install. */
  importModule?: (specifier: string) => Promise<unknown>;
}

export { BackendError };

const NATIVE = [
  { pkg: '@tensorflow/tfjs-node-gpu', short: 'tfjs-node-gpu' },
  { pkg: '@tensorflow/tfjs-node', short: 'tfjs-node' },
] as const;

const INSTALL_HELP =
  'Install one with `npm install @tensorflow/tfjs-node` (CPU) or `npm install @tensorflow/tfjs-node-gpu` ' +
  '(Linux x64, NVIDIA GPU with CUDA 11.2 + cuDNN 8.1); their install downloads libtensorflow, so it ' +
  'needs internet access. Or choose --backend wasm.';

/**
 * tfjs's cpu backend tells Node users, on its first tensor, to install tfjs-node; we print our own
 * backend line instead. Only that message: `firstUse` is the flag guarding it, while PROD/IS_TEST
 * would hide every other tfjs warning too. The engine makes a new cpu instance whenever it
 * (re)initializes the backend, so the factory is wrapped as well as any instance already made.
 */
export function silenceTfjsNodeBanner(): void {
  type Quiet = { firstUse?: boolean };
  const quiet = (b: unknown) => {
    if (b && typeof b === 'object' && 'firstUse' in b) (b as Quiet).firstUse = false;
    return b;
  };
  const engine = tf.engine() as unknown as {
    registry: Record<string, unknown>;
    registryFactory: Record<string, { factory: () => unknown; quieted?: boolean }>;
  };
  const entry = engine.registryFactory?.cpu;
  if (entry && !entry.quieted) {
    const make = entry.factory;
    entry.factory = () => quiet(make());
    entry.quieted = true;
  }
  quiet(engine.registry?.cpu);
}
silenceTfjsNodeBanner();

/** Summary lines already printed in this process: print each once. */
const printed = new Set<string>();

export async function selectBackend(choice?: BackendChoice, opts: SelectOptions = {}): Promise<BackendResult> {
  const fromEnv = choice === undefined && process.env.YOLO4_BACKEND !== undefined && process.env.YOLO4_BACKEND !== '';
  const wanted = (choice ?? (fromEnv ? process.env.YOLO4_BACKEND : 'auto')) as string;
  if (!(BACKEND_CHOICES as readonly string[]).includes(wanted)) {
    throw new BackendError(`unknown backend '${wanted}'${fromEnv ? ' (from YOLO4_BACKEND)' : ''}; ` +
      `valid: ${BACKEND_CHOICES.join(', ')}`);
  }
  silenceTfjsNodeBanner();
  const importModule = opts.importModule ?? ((s: string) => import(s));
  const skipped: BackendResult['skipped'] = [];
  let result: BackendResult | undefined;

  if (wanted === 'webgpu') {
    const adapter = await activateWebgpu(importModule);
    result = { name: tf.getBackend(), detail: webgpuDetail(adapter), skipped };
  }

  if (wanted === 'auto' || wanted === 'tensorflow') {
    for (const { pkg, short } of NATIVE) {
      if (wanted === 'auto' && short === 'tfjs-node') result = await tryWebgpu(importModule, skipped);
      if (result !== undefined) break;
      const reason = await loadNative(pkg, importModule);
      if (reason === null) {
        result = { name: await activate('tensorflow'), detail: nativeDetail(short), skipped };
        break;
      }
      skipped.push({ candidate: short, reason });
    }
    if (result === undefined && wanted === 'tensorflow') {
      throw new BackendError(`backend 'tensorflow' needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node: ` +
        `${skipped.map((s) => `${s.candidate}: ${s.reason}`).join('; ')}. ${INSTALL_HELP}`);
    }
  }

  if (result === undefined && (wanted === 'auto' || wanted === 'wasm')) {
    try {
      result = { name: await activate('wasm', importModule), detail: await wasmDetail(importModule), skipped };
    } catch (err) {
      if (wanted === 'wasm') throw new BackendError(`backend 'wasm' failed to start: ${firstLine(err)}`);
      skipped.push({ candidate: 'wasm', reason: firstLine(err) });
    }
  }

  if (result === undefined) {
    result = { name: await activate('cpu'), detail: 'pure JS, slow', skipped };
  }

  // Once per backend: wasm lacks conv weight gradients; cpu's own is far slower than ours.
  registerTrainingKernels(result.name);

  const line = describeBackend(result);
  if (!opts.quiet && !printed.has(line)) {
    printed.add(line);
    (opts.log ?? ((l: string) => console.error(l)))(line);
  }
  return result;
}

/** The one-line summary, e.g. `backend: wasm (SIMD, 1 thread) — tfjs-node-gpu: not installed; ...`. */
export function describeBackend(r: BackendResult): string {
  const why = r.skipped.map((s) => `${s.candidate}: ${s.reason}`).join('; ');
  return `backend: ${r.name} (${r.detail})${why ? ` — ${why}` : ''}`;
}

/** For 'auto': webgpu when its adapter is a real GPU, else undefined with the reason in `skipped`. */
async function tryWebgpu(importModule: (s: string) => Promise<unknown>, skipped: BackendResult['skipped']):
    Promise<BackendResult | undefined> {
  const probed = await probeAdapter(importModule);
  if (typeof probed === 'string') {
    skipped.push({ candidate: 'webgpu', reason: probed });
    return undefined;
  }
  if (probed.fallback) {
    skipped.push({ candidate: 'webgpu', reason: `only a CPU adapter (${describeAdapter(probed)}), slower than wasm; --backend webgpu runs it anyway` });
    return undefined;
  }
  try {
    const adapter = await activateWebgpu(importModule);
    return { name: tf.getBackend(), detail: webgpuDetail(adapter), skipped };
  } catch (err) {
    skipped.push({ candidate: 'webgpu', reason: firstLine(err) });
    return undefined;
  }
}

function webgpuDetail(adapter: Parameters<typeof describeAdapter>[0]): string {
  return `Dawn, ${describeAdapter(adapter)}`;
}

/** null when the package loaded and registered its 'tensorflow' backend, else why not. */
async function loadNative(pkg: string, importModule: (s: string) => Promise<unknown>): Promise<string | null> {
  try {
    await importModule(pkg);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const msg = String(e?.message ?? err);
    const missing = e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND';
    // "Not installed" only when the package itself is missing, not something it requires.
    if (missing && (msg.includes(`'${pkg}'`) || msg.includes(`"${pkg}"`))) return 'not installed';
    if (missing) return `installed but incomplete (${firstLine(err)}); try \`npm rebuild ${pkg}\``;
    return `failed to load (${firstLine(err)})`;
  }
  // A package resolved against another copy of @tensorflow/tfjs registers its backend there.
  if (tf.findBackendFactory('tensorflow') == null) {
    return `loaded but registered no 'tensorflow' backend with this @tensorflow/tfjs (version mismatch?)`;
  }
  return null;
}

/** Makes `name` the active backend; wasm is imported only here, since importing it makes it the
 * highest-priority backend and ops before its async init would fail. */
async function activate(name: string, importModule?: (s: string) => Promise<unknown>): Promise<string> {
  if (name === 'wasm' && tf.findBackendFactory('wasm') == null) {
    await (importModule ?? ((s: string) => import(s)))('@tensorflow/tfjs-backend-wasm');
  }
  if (!(await tf.setBackend(name))) throw new BackendError(`tf.setBackend('${name}') failed to initialize`);
  await tf.ready();
  return tf.getBackend();
}

function nativeDetail(short: string): string {
  // tfjs-node's backend reports whether libtensorflow found a GPU.
  const gpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice;
  if (short === 'tfjs-node-gpu') return gpu ? 'tfjs-node-gpu, CUDA' : 'tfjs-node-gpu, no usable GPU: running on CPU';
  return 'tfjs-node, libtensorflow CPU';
}

async function wasmDetail(importModule: (s: string) => Promise<unknown>): Promise<string> {
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT').catch(() => false);
  const mod = (await importModule('@tensorflow/tfjs-backend-wasm')) as { getThreadsCount?: () => number };
  const threads = mod.getThreadsCount?.() ?? 1;
  setHeapThreads(threads); // our own wasm kernels use as many threads as tfjs's
  await startHeapEngine(tf.backend());
  return `${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}`;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0].trim();
}
