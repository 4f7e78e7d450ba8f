/**
 * Scratch arrays reused from one category (and one image cell) to the next, grown on demand, so a
 * whole evaluation allocates a handful of buffers instead of some per cell.
 */

/** Growable per-category buffers. */
export class CategoryBuffers {
  scores = new Float64Array(0);
  rank = new Int32Array(0);
  state = new Uint8Array(0);
  ious = new Float64Array(0);
  gIgnoreBase = new Uint8Array(0);
  gIgnore = new Uint8Array(0);
  gCrowd = new Uint8Array(0);
  gIdNZ = new Uint8Array(0);
  gArea = new Float64Array(0);
  dOutside = new Uint8Array(0);
  dArea = new Float64Array(0);

  ensureDets(n: number, stateSize: number): void {
    if (this.scores.length < n) {
      this.scores = new Float64Array(n);
      this.rank = new Int32Array(n);
    }
    if (this.state.length < stateSize) this.state = new Uint8Array(stateSize);
  }

  ensureCell(D: number, G: number): void {
    if (this.ious.length < D * G) this.ious = new Float64Array(Math.max(D * G, this.ious.length * 2));
    if (this.gIgnore.length < G) {
      const n = Math.max(G, this.gIgnore.length * 2);
      this.gIgnoreBase = new Uint8Array(n);
      this.gIgnore = new Uint8Array(n);
      this.gCrowd = new Uint8Array(n);
      this.gIdNZ = new Uint8Array(n);
      this.gArea = new Float64Array(n);
    }
    if (this.dOutside.length < D) {
      const n = Math.max(D, this.dOutside.length * 2);
      this.dOutside = new Uint8Array(n);
      this.dArea = new Float64Array(n);
    }
  }
}
