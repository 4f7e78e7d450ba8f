/**
 * The `skipBad` policy in one place: an error about one image either propagates, or (with
 * `skipBad`) becomes a warning and the image is left out. Never silent.
 */
import type { ReadOptions } from './types.ts';

export function reportBad(err: unknown, opts: Pick<ReadOptions, 'skipBad' | 'warn'>): void {
  if (!opts.skipBad) throw err;
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  warn(`skipping image: ${(err as Error).message}`);
}
