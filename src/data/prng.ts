/**
 * A small seeded PRNG (the mulberry32 stream; the plain function is util/mulberry32.ts) plus seed
 * mixing, so every random decision of the data pipeline is reproducible. The loader gives every sample its own stream, `Rng.derive(seed, epoch, index)`,
 * so results do not depend on the order in which asynchronous decodes finish.
 */

/** splitmix32-style avalanche of a 32-bit value. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = mix32(Math.floor(seed) >>> 0) || 0x6d2b79f5;
  }

  /** An independent stream for a tuple of integers (e.g. seed, epoch, sample index). */
  static derive(...parts: number[]): Rng {
    let h = 0x1234567;
    for (const p of parts) h = mix32(h ^ mix32(Math.floor(p) >>> 0));
    return new Rng(h);
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p (never for p <= 0, always for p >= 1). */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.next() < p;
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = xs[i];
      xs[i] = xs[j];
      xs[j] = t;
    }
    return xs;
  }
}
