/**
 * onnxruntime-node, an optional dependency: loaded on first use with a dynamic import, so the tfjs
 * runtime never needs it, and a missing or broken install is one typed error saying what to do.
 */
import { Yolo4Error } from '../util/errors.ts';

export type Ort = typeof import('onnxruntime-node');

/** `--runtime onnx` without a loadable onnxruntime-node: exit 1. */
export class OnnxRuntimeMissingError extends Yolo4Error {}

const PACKAGE = 'onnxruntime-node';
let loaded: Promise<Ort> | undefined;

/** The onnxruntime-node module (`name` only for tests: a package that is not installed). */
export function loadOnnxRuntime(name = PACKAGE): Promise<Ort> {
  if (name !== PACKAGE) return importOrt(name);
  loaded ??= importOrt(name);
  // A failed load is not cached: installing the package in between makes the next call work.
  loaded.catch(() => { loaded = undefined; });
  return loaded;
}

async function importOrt(name: string): Promise<Ort> {
  try {
    const mod = (await import(name)) as Ort & { default?: Ort };
    // CommonJS seen through ESM: the named exports may sit on `default` only.
    return (mod.InferenceSession ? mod : mod.default) as Ort;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const first = ((e as Error).message ?? String(e)).split('\n')[0];
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new OnnxRuntimeMissingError(`--runtime onnx needs the optional package ${name}, which is not installed: run \`npm install ${name}\` (or use --runtime tfjs)`, { cause: e });
    }
    throw new OnnxRuntimeMissingError(`--runtime onnx: ${name} is installed but cannot be loaded (${first}); reinstall it with \`npm install ${name}\` (or use --runtime tfjs)`, { cause: e });
  }
}
