/**
 * The `skipBad` policy in one place: an error about one image either propagates, or (with
 * `skipBad`) becomes a warning and the image is left out. Never silent.
 */
import type { EmptyBoxError } from './box-check.ts';
import type { ReadOptions } from './types.ts';

export function reportBad(err: unknown, opts: Pick<ReadOptions, 'skipBad' | 'warn'>): void {
  if (!opts.skipBad) throw err;
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  warn(`skipping image: ${(err as Error).message}`);
}

/** Collects zero-size boxes that readers drop, and reports them in one warning. */
export class DroppedBoxes {
  count = 0;
  private readonly first: string[] = [];

  readonly add = (e: EmptyBoxError): void => {
    this.count++;
    if (this.first.length < 3) this.first.push(e.message);
  };

  report(opts: Pick<ReadOptions, 'warn'>): void {
    if (!this.count) return;
    const warn = opts.warn ?? ((m: string) => console.warn(m));
    warn(`dropped ${this.count} zero-size box${this.count > 1 ? 'es' : ''}: ${this.first.join('; ')}${this.count > 3 ? '; ...' : ''}`);
  }
}
