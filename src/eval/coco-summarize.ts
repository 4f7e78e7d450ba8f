/**
 * pycocotools' `COCOeval.summarize()` (the 12 bbox numbers) and the usual per-class table,
 * using numpy's summation order so the means agree to the last bit.
 */
import {
  COCO_STAT_KEYS,
  type CocoEvalDims,
  type CocoEvalParams,
  type CocoPerClass,
  type CocoStats,
} from './coco-types.ts';

/** numpy's pairwise summation (`@TYPE@_pairwise_sum`, PW_BLOCKSIZE 128) of a[off .. off+n). */
export function pairwiseSum(a: Float64Array, off: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[off + i];
    return res;
  }
  if (n <= 128) {
    let r0 = a[off], r1 = a[off + 1], r2 = a[off + 2], r3 = a[off + 3];
    let r4 = a[off + 4], r5 = a[off + 5], r6 = a[off + 6], r7 = a[off + 7];
    const end = n - (n % 8);
    let i = 8;
    for (; i < end; i += 8) {
      const b = off + i;
      r0 += a[b]; r1 += a[b + 1]; r2 += a[b + 2]; r3 += a[b + 3];
      r4 += a[b + 4]; r5 += a[b + 5]; r6 += a[b + 6]; r7 += a[b + 7];
    }
    let res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < n; i++) res += a[off + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, off, n2) + pairwiseSum(a, off + n2, n - n2);
}

/** numpy's NPY_BUFSIZE: a buffered reduction hands the inner loop at most this many elements. */
const NPY_BUFSIZE = 8192;

/**
 * `np.mean(s[s > -1])` for the values in `vals[0..n)` (already filtered), or -1 when n == 0.
 *
 * numpy sums with pairwise summation inside each inner-loop call and adds the calls' results in
 * order. The numpy that produced pycocotools 2.0.11's reference numbers (test fixture) ran this
 * reduction in buffered chunks of 8192 elements: ((0 + pw(c0)) + pw(c1)) + ...; with one unchunked
 * pairwise sum (as numpy 2.4 does) APm and APl of the fixture differ in the last bit.
 * We follow the chunked order, which reproduces all 12 fixture stats bit for bit.
 */
export function numpyMean(vals: Float64Array, n: number): number {
  if (n === 0) return -1;
  let sum = 0;
  for (let off = 0; off < n; off += NPY_BUFSIZE) sum += pairwiseSum(vals, off, Math.min(NPY_BUFSIZE, n - off));
  return sum / n;
}

type Picker = (buf: Float64Array) => number;

/**
 * The 12 stats. Mirrors `_summarize(ap, iouThr, areaRng, maxDets)`: precision is sliced to
 * [t, r, k] (t restricted to `np.where(iouThr == iouThrs)`), recall to [t, k], values > -1 are
 * averaged. AP/APxx use maxDets == 100 literally for stats[0] and maxDets[2] for the rest, like
 * pycocotools; a requested setting that does not exist gives -1.
 */
export function summarizeStats(
  precision: Float64Array,
  recall: Float64Array,
  dims: CocoEvalDims,
  params: CocoEvalParams,
): { stats: CocoStats; statsArray: number[] } {
  const { T, R, K, A, M } = dims;
  const buf = new Float64Array(Math.max(T * R * K, 1));
  const tIdx = (iouThr: number | undefined): number[] =>
    iouThr === undefined ? [...Array(T).keys()] : params.iouThrs.flatMap((v, i) => (v === iouThr ? [i] : []));
  const aIdx = (lbl: string): number[] => params.areaRngLbl.flatMap((l, i) => (l === lbl ? [i] : []));
  const mIdx = (md: number | undefined): number[] =>
    md === undefined ? [] : params.maxDets.flatMap((v, i) => (v === md ? [i] : []));

  const summ = (ap: boolean, iouThr: number | undefined, areaLbl: string, maxDet: number | undefined): number => {
    const ts = tIdx(iouThr);
    const as = aIdx(areaLbl);
    const ms = mIdx(maxDet);
    let n = 0;
    if (ap) {
      // s[:, :, :, aind, mind] of shape (T', R, K, A', M'), C order
      for (const t of ts) for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) {
        for (const a of as) for (const m of ms) {
          const v = precision[(((t * R + r) * K + k) * A + a) * M + m];
          if (v > -1) buf[n++] = v;
        }
      }
    } else {
      for (const t of ts) for (let k = 0; k < K; k++) for (const a of as) for (const m of ms) {
        const v = recall[((t * K + k) * A + a) * M + m];
        if (v > -1) buf[n++] = v;
      }
    }
    return numpyMean(buf, n);
  };
  const md = params.maxDets;
  const arr = [
    summ(true, undefined, 'all', 100),
    summ(true, 0.5, 'all', md[2]),
    summ(true, 0.75, 'all', md[2]),
    summ(true, undefined, 'small', md[2]),
    summ(true, undefined, 'medium', md[2]),
    summ(true, undefined, 'large', md[2]),
    summ(false, undefined, 'all', md[0]),
    summ(false, undefined, 'all', md[1]),
    summ(false, undefined, 'all', md[2]),
    summ(false, undefined, 'small', md[2]),
    summ(false, undefined, 'medium', md[2]),
    summ(false, undefined, 'large', md[2]),
  ];
  const stats = {} as CocoStats;
  COCO_STAT_KEYS.forEach((key, i) => {
    stats[key] = arr[i];
  });
  return { stats, statsArray: arr };
}

/**
 * Per-class AP: np.mean(p[p > -1]) with p = precision[:, :, k, area 'all', last maxDet]
 * (AP50: the same with t at IoU 0.5). -1 for a class without GT.
 */
export function perClassAP(
  precision: Float64Array,
  dims: CocoEvalDims,
  params: CocoEvalParams,
): CocoPerClass[] {
  const { T, R, K, A, M } = dims;
  const a = Math.max(0, params.areaRngLbl.indexOf('all'));
  const m = M - 1;
  const t50 = params.iouThrs.indexOf(0.5);
  const buf = new Float64Array(Math.max(T * R, 1));
  const mean = (ts: number[], k: number): number => {
    let n = 0;
    for (const t of ts) for (let r = 0; r < R; r++) {
      const v = precision[(((t * R + r) * K + k) * A + a) * M + m];
      if (v > -1) buf[n++] = v;
    }
    return numpyMean(buf, n);
  };
  const allT = [...Array(T).keys()];
  const out: CocoPerClass[] = [];
  for (let k = 0; k < K; k++) {
    out.push({
      id: params.useCats ? params.catIds[k] : -1,
      name: params.useCats ? params.catNames[k] : '(all classes)',
      AP: mean(allT, k),
      AP50: t50 >= 0 ? mean([t50], k) : -1,
    });
  }
  return out;
}
