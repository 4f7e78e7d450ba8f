/**
 * How many channels a group loses and which ones.
 *
 * Count: exactly floor(amount * n) of the group's n channels (a 1e-9 slack absorbs float noise such
 * as 0.29 * 100 = 28.999999999999996), never all of them (at least one is kept) and never a fixed one.
 * `roundTo: K` then rounds the kept count to the nearest multiple of K (halves round up, i.e. keep
 * more), at least K and at most n; a group narrower than K, or that loses nothing, is left alone.
 *
 * Which: the lowest scores. Ties are broken by channel index: among equal scores the LOWER index is
 * removed first (a stable ascending sort by score), so plans are deterministic.
 */
import { PruneOptionError } from './errors.ts';

export function countToRemove(n: number, amount: number, opts: { roundTo?: number; fixed?: number; minChannels?: number } = {}): number {
  if (!(amount >= 0 && amount <= 1)) throw new PruneOptionError(`amount must be in [0, 1], got ${amount}`);
  const fixed = opts.fixed ?? 0;
  const candidates = n - fixed;
  const K = opts.roundTo ?? 1;
  if (!Number.isInteger(K) || K < 1) throw new PruneOptionError(`roundTo must be a positive integer, got ${K}`);
  const floor = opts.minChannels ?? 1;
  if (!Number.isInteger(floor) || floor < 1) throw new PruneOptionError(`minChannels must be a positive integer, got ${floor}`);
  let k = Math.floor(amount * n + 1e-9);
  k = Math.min(k, n - Math.max(1, floor), candidates);
  if (k <= 0) return 0; // roundTo only adjusts groups that lose channels
  if (K > 1) {
    if (n < K) return 0;
    const kept = n - k;
    let rounded = Math.floor(kept / K + 0.5) * K;
    if (rounded < K) rounded = K;
    if (rounded > n) rounded = Math.floor(n / K) * K;
    k = Math.min(n - rounded, candidates, n - floor);
  }
  return Math.max(0, k);
}

/** Indices of the k lowest scores (ties: lower index first), ascending; `fixed` indices are never chosen. */
export function selectLowest(scores: ArrayLike<number>, k: number, fixed: readonly number[] = []): number[] {
  const banned = new Set(fixed);
  const order: number[] = [];
  for (let i = 0; i < scores.length; i++) if (!banned.has(i)) order.push(i);
  order.sort((a, b) => scores[a] - scores[b] || a - b);
  return order.slice(0, k).sort((a, b) => a - b);
}
