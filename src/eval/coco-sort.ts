/**
 * Stable sorts on typed arrays, with the tie semantics of numpy's
 * `np.argsort(-x, kind='mergesort')` (equal keys keep their input order).
 */

const INSERTION_RUN = 16;

/**
 * Sorts `idx[off .. off+n)` in place so that `keys[idx[i]]` is non-increasing; equal keys keep
 * their relative order (stable). `tmp` must hold at least n entries.
 * Equivalent to `idx = idx[np.argsort(-keys[idx], kind='mergesort')]` for finite keys.
 */
export function stableSortDesc(keys: ArrayLike<number>, idx: Int32Array, n: number, tmp: Int32Array, off = 0): void {
  if (n <= INSERTION_RUN) {
    insertionSortDesc(keys, idx, off, off + n);
    return;
  }
  if (off !== 0) {
    // longer window: sort a view of it (keeps the merge loops offset-free)
    stableSortDesc(keys, idx.subarray(off, off + n), n, tmp);
    return;
  }
  // 1. insertion-sort runs of INSERTION_RUN elements
  for (let lo = 0; lo < n; lo += INSERTION_RUN) insertionSortDesc(keys, idx, lo, Math.min(lo + INSERTION_RUN, n));
  // 2. bottom-up merges, ping-ponging between idx and tmp
  let src = idx;
  let dst = tmp;
  for (let width = INSERTION_RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let o = lo;
      while (i < mid && j < hi) {
        // take from the left run unless the right key is strictly larger (stability)
        if (keys[src[j]] > keys[src[i]]) dst[o++] = src[j++];
        else dst[o++] = src[i++];
      }
      while (i < mid) dst[o++] = src[i++];
      while (j < hi) dst[o++] = src[j++];
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== idx) idx.set(src.subarray(0, n));
}

/** Stable insertion sort of idx[lo .. hi) by keys, descending. */
function insertionSortDesc(keys: ArrayLike<number>, idx: Int32Array, lo: number, hi: number): void {
  for (let i = lo + 1; i < hi; i++) {
    const v = idx[i];
    const kv = keys[v];
    let j = i - 1;
    // strictly smaller keys move right: equal keys stay in front (stable)
    while (j >= lo && keys[idx[j]] < kv) {
      idx[j + 1] = idx[j];
      j--;
    }
    idx[j + 1] = v;
  }
}

/**
 * Stable counting sort of `order` by small integer keys in [0, nKeys): returns a new array.
 * Used for LSD grouping (e.g. by image, then stably by category).
 */
export function countingSortBy(order: Int32Array, key: Int32Array, nKeys: number): Int32Array {
  const start = new Int32Array(nKeys + 1);
  for (let i = 0; i < order.length; i++) start[key[order[i]] + 1]++;
  for (let k = 0; k < nKeys; k++) start[k + 1] += start[k];
  const out = new Int32Array(order.length);
  for (let i = 0; i < order.length; i++) {
    const v = order[i];
    out[start[key[v]]++] = v;
  }
  return out;
}

/** 0, 1, ..., n-1 */
export function iota(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}
