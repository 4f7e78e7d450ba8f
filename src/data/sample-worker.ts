/**
 * Worker-thread side of `sample-pool.ts`: makes samples (decode + augment) off the main thread and
 * sends the pixels back as a transferred buffer.
 *
 * Messages in: `{ type: 'init', items, size, mode }`, `{ type: 'bad', index }`,
 * `{ type: 'sample', job, index, augment, seed: number[] }`.
 * Messages out: `{ job, ok: true, sample }` or `{ job, ok: false, error: SerializedError }`.
 */
import { parentPort } from 'node:worker_threads';
import type { ResizeMode } from '../image/geometry.ts';
import type { AugmentOptions } from './augment-options.ts';
import { DataError, DatasetError } from './errors.ts';
import { Rng } from './prng.ts';
import { makeSample, SampleSourceError, type SampleContext } from './sample.ts';
import type { DatasetItem } from './types.ts';

export interface SerializedError {
  message: string;
  name: string;
  /** Set when an image of the dataset failed (SampleSourceError): which one. */
  sourceIndex?: number;
  /** DatasetError fields of the cause. */
  dataset?: { file: string; line?: number; annotationId?: number | string; image?: string };
}

export function serializeError(e: unknown): SerializedError {
  const cause = e instanceof SampleSourceError ? e.cause : e;
  const out: SerializedError = { message: (cause as Error)?.message ?? String(cause), name: (cause as Error)?.name ?? 'Error' };
  if (e instanceof SampleSourceError) out.sourceIndex = e.index;
  if (cause instanceof DatasetError) {
    out.dataset = { file: cause.file, line: cause.line, annotationId: cause.annotationId, image: cause.image };
  }
  return out;
}

if (parentPort) {
  const port = parentPort;
  let items: DatasetItem[] = [];
  let size = 0;
  let mode: ResizeMode = 'letterbox';
  const bad = new Set<number>();
  const pick = (rng: Rng): number => {
    if (bad.size >= items.length) throw new DataError('every image failed to decode');
    let i = rng.int(items.length);
    while (bad.has(i)) i = (i + 1) % items.length;
    return i;
  };
  port.on('message', async (m: { type: string; [k: string]: unknown }) => {
    if (m.type === 'init') {
      items = m.items as DatasetItem[];
      size = m.size as number;
      mode = m.mode as ResizeMode;
    } else if (m.type === 'bad') {
      bad.add(m.index as number);
    } else if (m.type === 'sample') {
      const ctx: SampleContext = { items, size, augment: m.augment as AugmentOptions | null, mode, pick };
      try {
        const s = await makeSample(ctx, m.index as number, Rng.derive(...(m.seed as number[])));
        const buf = s.image.data.buffer as ArrayBuffer;
        port.postMessage({ job: m.job, ok: true, sample: s }, [buf]);
      } catch (e) {
        port.postMessage({ job: m.job, ok: false, error: serializeError(e) });
      }
    }
  });
}
