/**
 * The wasm backend's heap is limited to 4 GiB; a training step that needs more aborts the whole
 * wasm module with emscripten's bare "Aborted(). Build with -sASSERTIONS for more info.". That is
 * turned into one message that says what to change.
 */
import type { TrainSettings } from './settings.ts';
import { Yolo4Error } from '../util/errors.ts';

export class TrainingMemoryError extends Yolo4Error {
  constructor(message: string, cause: unknown) {
    super(message);
    this.name = 'TrainingMemoryError';
    this.cause = cause;
  }
}

/** Emscripten's abort: a WebAssembly.RuntimeError "Aborted(...)" (or an out-of-memory message). */
export function isWasmAbort(e: unknown): boolean {
  const message = (e as Error)?.message ?? '';
  return (e instanceof WebAssembly.RuntimeError && /^Aborted\(|out of memory/i.test(message))
    || /^Aborted\(\)\. Build with -sASSERTIONS/.test(message);
}

export function explainWasmAbort(e: unknown, s: Pick<TrainSettings, 'batchSize' | 'inputSize' | 'subdivisions'>): TrainingMemoryError {
  const next = Math.min(s.batchSize, s.subdivisions * 2);
  const fixes = next > s.subdivisions
    ? `--subdivisions ${next} (micro-batches of ${Math.ceil(s.batchSize / next)} images, the same update; double it again if that is not enough) or a smaller --batch`
    : 'a smaller --img-size (every image of the batch is already its own micro-batch)';
  return new TrainingMemoryError(
    `out of memory: the wasm backend's heap (at most 4 GiB) cannot hold a training step of batch ${s.batchSize} at ${s.inputSize}x${s.inputSize}`
    + ` with --subdivisions ${s.subdivisions}; use ${fixes}`,
    e,
  );
}
