/**
 * The WebGPU route: tfjs-backend-webgpu on Dawn's Node binding (npm package `webgpu`), which runs
 * on any Vulkan driver: a real GPU's (NVIDIA, AMD, Intel: no CUDA needed) or, on a machine without
 * one, SwiftShader's CPU Vulkan (Debian's `chromium` package ships it). Both packages are
 * optionalDependencies, so every step here can fail and says why in one line.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { BackendError } from './errors.ts';
import { patchWebgpuSyncReads } from './webgpu-sync-read.ts';
import { registerWebgpuKernels } from './webgpu-kernels.ts';

/** Debian's chromium installs SwiftShader's Vulkan driver here. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  /** A CPU adapter (SwiftShader, llvmpipe/lavapipe): correct but slower than wasm. */
  fallback: boolean;
}

/** The part of Dawn's module we use (the `webgpu` package's index.js). */
interface DawnModule {
  create: (flags: string[]) => { requestAdapter: (o?: object) => Promise<DawnAdapter | null> };
  globals: Record<string, unknown>;
}
interface DawnAdapter {
  info?: { vendor?: string; architecture?: string; description?: string; device?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}

export type ImportModule = (specifier: string) => Promise<unknown>;

const CPU_ADAPTER = /swiftshader|llvmpipe|lavapipe|software|\bcpu\b/i;

/**
 * Environment Dawn needs before it loads Vulkan, set only where the user set nothing:
 * - XDG_RUNTIME_DIR (Dawn warns on every start without it);
 * - on a host with no GPU device node (/dev/dri, /dev/nvidia*), the SwiftShader driver as the only
 *   Vulkan driver: Mesa's lavapipe, often installed too, is refused by Dawn with a warning on stderr.
 *   Where a GPU node exists the system drivers stay in charge (see probeAdapter for the fallback).
 */
export function prepareVulkanEnv(env: NodeJS.ProcessEnv = process.env): void {
  if (!env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = tmpdir();
  if (!userChoseDrivers(env) && !hasGpuDeviceNode() && existsSync(SWIFTSHADER_ICD)) {
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
}

function userChoseDrivers(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES);
}

function hasGpuDeviceNode(): boolean {
  if (existsSync('/dev/dri')) return true;
  try {
    return readdirSync('/dev').some((f) => /^nvidia\d/.test(f));
  } catch {
    return false;
  }
}

export function summarizeAdapter(adapter: DawnAdapter): AdapterSummary {
  const info = adapter.info ?? {};
  const vendor = info.vendor || 'unknown vendor';
  const architecture = info.architecture || info.device || 'unknown architecture';
  const description = info.description ?? '';
  const fallback = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) ||
    CPU_ADAPTER.test(`${vendor} ${architecture} ${info.device ?? ''} ${description}`);
  return { vendor, architecture, description, fallback };
}

/** `google swiftshader (SwiftShader driver 5.0.0), CPU fallback adapter`. */
export function describeAdapter(a: AdapterSummary): string {
  const name = `${a.vendor} ${a.architecture}${a.description ? ` (${a.description})` : ''}`;
  return a.fallback ? `${name}, CPU fallback adapter` : name;
}

let dawn: { module: DawnModule; gpu: ReturnType<DawnModule['create']>; adapter: AdapterSummary } | undefined;

/**
 * Loads Dawn and finds the adapter tfjs would use (high-performance preference). Returns it, or a
 * one-line reason: package missing, no Vulkan loader, no adapter. Cached once found.
 */
export async function probeAdapter(importModule: ImportModule): Promise<AdapterSummary | string> {
  if (dawn) return dawn.adapter;
  prepareVulkanEnv();
  let module: DawnModule;
  try {
    module = (await importModule('webgpu')) as DawnModule;
  } catch (err) {
    return loadFailure('webgpu', err);
  }
  const find = async () => {
    const gpu = module.create([]);
    const found = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    return found ? { gpu, found } : null;
  };
  let hit = await find();
  // A GPU host whose drivers Dawn cannot use: SwiftShader still gives a (slow) adapter.
  if (hit === null && !userChoseDrivers(process.env) && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    hit = await find();
  }
  if (hit === null) {
    return 'no WebGPU adapter: Dawn found no usable Vulkan driver (needs libvulkan1 and a GPU driver, ' +
      `or SwiftShader: \`apt-get install chromium\` puts it at ${SWIFTSHADER_ICD})`;
  }
  dawn = { module, gpu: hit.gpu, adapter: summarizeAdapter(hit.found) };
  return dawn.adapter;
}

/**
 * Registers tfjs's webgpu backend on Dawn (probeAdapter first) and makes it the active backend.
 * tfjs-backend-webgpu registers itself at import only where navigator.gpu exists, so that is set
 * first; its globals (GPUBufferUsage, ...) come from Dawn.
 */
export async function activateWebgpu(importModule: ImportModule): Promise<AdapterSummary> {
  const probed = await probeAdapter(importModule);
  if (typeof probed === 'string') throw new BackendError(`backend 'webgpu': ${probed}`);
  const { module, gpu } = dawn!;
  if (tf.findBackendFactory('webgpu') == null) {
    for (const [name, value] of Object.entries(module.globals)) {
      if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
    }
    const g = globalThis as { navigator?: { gpu?: unknown } };
    if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
    if (!g.navigator!.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    try {
      await importModule('@tensorflow/tfjs-backend-webgpu');
    } catch (err) {
      throw new BackendError(`backend 'webgpu': ${loadFailure('@tensorflow/tfjs-backend-webgpu', err)}`);
    }
    if (tf.findBackendFactory('webgpu') == null) {
      throw new BackendError(`backend 'webgpu': @tensorflow/tfjs-backend-webgpu registered no backend ` +
        '(a different @tensorflow/tfjs copy?)');
    }
  }
  // withSyncReads (webgpu-sync-read.ts) switches to cpu synchronously, which needs it initialized.
  if (!tf.findBackend('cpu')) await tf.setBackend('cpu');
  const ok = await tf.setBackend('webgpu').catch(() => false);
  if (!ok) {
    // Leave no half-initialized highest-priority backend behind for tfjs to fall back to.
    tf.removeBackend('webgpu');
    throw new BackendError(`backend 'webgpu': tf.setBackend('webgpu') failed to initialize on ${describeAdapter(dawn!.adapter)}`);
  }
  await tf.ready();
  patchWebgpuSyncReads(tf.backend());
  registerWebgpuKernels();
  watchDeviceErrors(tf.backend());
  return dawn!.adapter;
}

/** GPU errors reported so far (validation, out of memory), oldest first; see watchDeviceErrors. */
const deviceErrors: string[] = [];
export function webgpuErrors(): readonly string[] {
  return deviceErrors;
}

/**
 * WebGPU reports a failed pipeline or dispatch asynchronously as an event, not as an exception, and
 * the results of that dispatch are garbage: collect them so tests (and callers) can check for none.
 */
function watchDeviceErrors(backend: tf.KernelBackend): void {
  const device = (backend as unknown as { device?: { addEventListener?: (t: string, f: (e: unknown) => void) => void; watched?: boolean } }).device;
  if (!device?.addEventListener || device.watched) return;
  device.addEventListener('uncapturederror', (e: unknown) => {
    const err = (e as { error?: { message?: string } }).error;
    deviceErrors.push(String(err?.message ?? e).split('\n')[0]);
  });
  device.watched = true;
}

function loadFailure(pkg: string, err: unknown): string {
  const e = err as { code?: string; message?: string };
  const msg = String(e?.message ?? err).split('\n')[0].trim();
  const missing = e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND';
  if (missing && (msg.includes(`'${pkg}'`) || msg.includes(`"${pkg}"`))) return `${pkg} not installed`;
  return `${pkg} failed to load (${msg})`;
}
