/**
 * The atoms of the dependency graph: one per channel a producer, model input or barrier creates,
 * tied into classes by union-find (tied atoms are removed together), with the channel spaces they
 * were made in and why some of them must keep their width.
 */
import type { ChannelSpace } from './types.ts';
import { PruneGraphError } from './errors.ts';

export interface AtomClasses {
  /** Class id of every atom: dense ids in order of the smallest atom of each class. */
  classOf: number[];
  classCount: number;
  /** Per class, the first reason one of its atoms is fixed, or null. */
  fixedReason: (string | null)[];
}

export class AtomTable {
  private readonly parent: number[] = [];
  readonly spaces: ChannelSpace[] = [];
  private readonly fixedAtoms = new Map<number, string>();

  find(a: number): number {
    const parent = this.parent;
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]];
      a = parent[a];
    }
    return a;
  }

  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }

  /** Tie channel i of `a` to channel i of `b`; `where` names the layer in the width-mismatch error. */
  unionArrays(a: number[], b: number[], where: string): void {
    if (a.length !== b.length) throw new PruneGraphError(`${where}: channel widths differ (${a.length} vs ${b.length})`);
    for (let i = 0; i < a.length; i++) this.union(a[i], b[i]);
  }

  /** `width` new atoms, recorded as a channel space of `layer`. */
  newSpace(layer: string, kind: ChannelSpace['kind'], width: number): number[] {
    const atoms: number[] = [];
    for (let i = 0; i < width; i++) {
      atoms.push(this.parent.length);
      this.parent.push(this.parent.length);
    }
    this.spaces.push({ layer, kind, atoms });
    return atoms;
  }

  /** Mark atoms as unprunable; the first reason given for an atom is kept. */
  fix(atoms: readonly number[], reason: string): void {
    for (const a of atoms) if (!this.fixedAtoms.has(a)) this.fixedAtoms.set(a, reason);
  }

  classes(): AtomClasses {
    const classOf: number[] = new Array(this.parent.length);
    const rootClass = new Map<number, number>();
    for (let a = 0; a < this.parent.length; a++) {
      const r = this.find(a);
      let c = rootClass.get(r);
      if (c === undefined) {
        c = rootClass.size;
        rootClass.set(r, c);
      }
      classOf[a] = c;
    }
    const fixedReason: (string | null)[] = new Array(rootClass.size).fill(null);
    for (const [a, reason] of this.fixedAtoms) {
      const c = classOf[a];
      if (fixedReason[c] === null) fixedReason[c] = reason;
    }
    return { classOf, classCount: rootClass.size, fixedReason };
  }
}

/** Each atom `times` times in a row (a depthwise conv's channel multiplier). */
export function repeatEach(arr: readonly number[], times: number): number[] {
  const out: number[] = [];
  for (const a of arr) for (let m = 0; m < times; m++) out.push(a);
  return out;
}
