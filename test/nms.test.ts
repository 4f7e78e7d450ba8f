import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { greedyNms, nmsDecoded, type Detection } from '../src/predict/nms.ts';
import { mulberry32 } from '../src/util/mulberry32.ts';

/** A small seeded PRNG so the random cases are reproducible. */
const rng = mulberry32;

// ---------- independent reference: textbook O(n^2) greedy NMS ----------
interface Cand { box: number[]; score: number; classId: number; idx: number }

function iouRef(a: number[], b: number[]): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** Sort by score (ties: lower idx first); take the best, remove everything it overlaps by > thr; repeat. */
function refNms(cands: Cand[], thr: number, maxDet: number, agnostic: boolean): Cand[] {
  const sorted = [...cands].sort((p, q) => (q.score !== p.score ? q.score - p.score : p.idx - q.idx));
  const removed = sorted.map(() => false);
  const out: Cand[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (removed[i]) continue;
    out.push(sorted[i]);
    for (let j = i + 1; j < sorted.length; j++) {
      if (removed[j]) continue;
      if (!agnostic && sorted[j].classId !== sorted[i].classId) continue;
      if (iouRef(sorted[i].box, sorted[j].box) > thr) removed[j] = true;
    }
  }
  return out.slice(0, maxDet);
}

/** Reference candidate selection from decoded rows [x1,y1,x2,y2,obj,cls...]. */
function refCandidates(rows: number[][], conf: number, multiLabel: boolean): Cand[] {
  const out: Cand[] = [];
  rows.forEach((r) => {
    const cls = r.slice(5);
    if (multiLabel) {
      cls.forEach((p, c) => {
        const s = Math.fround(r[4] * p);
        if (s >= conf) out.push({ box: r.slice(0, 4), score: s, classId: c, idx: out.length });
      });
    } else {
      const best = cls.indexOf(Math.max(...cls)); // first maximum
      const s = Math.fround(r[4] * cls[best]);
      if (s >= conf) out.push({ box: r.slice(0, 4), score: s, classId: best, idx: out.length });
    }
  });
  return out;
}

/**
 * Random decoded rows: boxes clustered around a few centres (so NMS has work), objectness and class
 * probabilities on a 1/32 grid (products are exact in float32 and many scores tie).
 */
function randomRows(seed: number, n: number, numClasses: number): number[][] {
  const r = rng(seed);
  const centres = Array.from({ length: 12 }, () => [r() * 400, r() * 400]);
  return Array.from({ length: n }, () => {
    const [cx, cy] = centres[Math.floor(r() * centres.length)];
    const x = cx + (r() - 0.5) * 40, y = cy + (r() - 0.5) * 40;
    const w = 10 + r() * 80, h = 10 + r() * 80;
    const q = () => Math.floor(r() * 33) / 32;
    return [x - w / 2, y - h / 2, x + w / 2, y + h / 2, q(), ...Array.from({ length: numClasses }, q)];
  });
}

function flatten(rows: number[][]): Float32Array {
  return Float32Array.from(rows.flat());
}

function sameDetections(got: Detection[], want: Cand[], msg: string) {
  assert.is(got.length, want.length, `${msg}: count`);
  got.forEach((g, i) => {
    const w = want[i];
    assert.is(g.classId, w.classId, `${msg}: class of #${i}`);
    assert.is(g.score, w.score, `${msg}: score of #${i}`);
    for (let k = 0; k < 4; k++) assert.is(g.box[k], Math.fround(w.box[k]), `${msg}: box of #${i}`);
  });
}

test('matches a brute-force greedy reference on random boxes (per-class, agnostic, multi-label, caps)', () => {
  const C = 4;
  for (const seed of [1, 2]) {
    const rows = randomRows(seed, 1500, C);
    // Round the boxes to float32 first so both sides see the same numbers.
    const rows32 = rows.map((r) => r.map((v) => Math.fround(v)));
    const data = flatten(rows32);
    for (const conf of [0.05, 0.3]) {
      for (const iou of [0.3, 0.5, 0.7]) {
        for (const classAgnostic of [false, true]) {
          for (const multiLabel of [false, true]) {
            for (const maxDetections of [300, 17]) {
              const msg = `seed ${seed} conf ${conf} iou ${iou} agnostic ${classAgnostic} multi ${multiLabel} max ${maxDetections}`;
              const got = nmsDecoded(data, rows.length, C, { confThreshold: conf, iouThreshold: iou, classAgnostic, multiLabel, maxDetections });
              const want = refNms(refCandidates(rows32, conf, multiLabel), iou, maxDetections, classAgnostic);
              assert.ok(want.length > 1, `${msg}: the case should keep several boxes`);
              sameDetections(got, want, msg);
            }
          }
        }
      }
    }
  }
});

test('greedyNms alone matches the reference with many exact score ties', () => {
  const r = rng(42);
  const n = 2000;
  const boxes = new Float32Array(n * 4);
  const scores = new Float32Array(n);
  const classIds = new Int32Array(n);
  const cands: Cand[] = [];
  for (let i = 0; i < n; i++) {
    const x = Math.floor(r() * 50) * 4, y = Math.floor(r() * 50) * 4; // coarse grid: many identical boxes
    const b = [x, y, x + 20 + Math.floor(r() * 3) * 4, y + 20];
    boxes.set(b, i * 4);
    scores[i] = Math.floor(r() * 8) / 8; // only 8 distinct scores
    classIds[i] = Math.floor(r() * 3);
    cands.push({ box: b, score: scores[i], classId: classIds[i], idx: i });
  }
  for (const agnostic of [false, true]) {
    for (const thr of [0, 0.25, 0.6]) {
      const got = greedyNms(boxes, scores, classIds, thr, Infinity, agnostic);
      const want = refNms(cands, thr, Infinity, agnostic).map((c) => c.idx);
      assert.equal(got, want, `agnostic ${agnostic} thr ${thr}`);
    }
  }
});

test('edge cases: empty input, everything below threshold, identical boxes, IoU exactly at the threshold', () => {
  const C = 3;
  assert.equal(nmsDecoded(new Float32Array(0), 0, C), []);
  // All below 0.25: obj 0.9 but best class 0.2 -> 0.18; obj 0.1 with class 1.0 -> 0.1.
  const low = flatten([[0, 0, 10, 10, 0.9, 0.2, 0.1, 0.05], [5, 5, 20, 20, 0.1, 1, 0, 0]]);
  assert.equal(nmsDecoded(low, 2, C, { confThreshold: 0.25 }), []);
  // The threshold is inclusive: obj 0.5 x class 0.5 = 0.25 exactly is kept.
  assert.is(nmsDecoded(flatten([[0, 0, 10, 10, 0.5, 0.5, 0, 0]]), 1, C, { confThreshold: 0.25 }).length, 1);

  // Five identical boxes with identical scores: per class, one survivor per class (the first row of it);
  // class-agnostic, only the very first row.
  const same = [0, 1, 2, 3, 4].map((i) => [10, 10, 50, 50, 0.5, i % 2 ? 1 : 0, i % 2 ? 0 : 1, 0]);
  const perClass = nmsDecoded(flatten(same), 5, C, { confThreshold: 0.1 });
  assert.equal(perClass.map((d) => d.classId), [1, 0], 'row 0 (class 1) then row 1 (class 0)');
  const agnostic = nmsDecoded(flatten(same), 5, C, { confThreshold: 0.1, classAgnostic: true });
  assert.equal(agnostic.map((d) => [d.classId, d.score]), [[1, 0.5]]);

  // IoU exactly 0.5 ([0,0,2,1] vs [0,0,1,1]: 1 / 2) is not "greater than" 0.5: both stay; at 0.49 one goes.
  const half = flatten([[0, 0, 2, 1, 1, 1, 0, 0], [0, 0, 1, 1, 0.5, 1, 0, 0]]);
  assert.is(nmsDecoded(half, 2, C, { iouThreshold: 0.5 }).length, 2);
  assert.is(nmsDecoded(half, 2, C, { iouThreshold: 0.49 }).length, 1);

  // Zero-area boxes never suppress anything (IoU 0), as torchvision.
  const dots = flatten([[5, 5, 5, 5, 1, 1, 0, 0], [5, 5, 5, 5, 0.9, 1, 0, 0]]);
  assert.is(nmsDecoded(dots, 2, C).length, 2);
});

test('maxDetections keeps the best ones and maxCandidates limits what enters NMS', () => {
  // 50 disjoint boxes, scores 0.5 + i/100: the cap keeps the 10 highest, best first.
  const rows = Array.from({ length: 50 }, (_, i) => [i * 20, 0, i * 20 + 10, 10, 0.5 + i / 100, 1, 0, 0]);
  const got = nmsDecoded(flatten(rows), rows.length, 3, { maxDetections: 10 });
  assert.equal(got.map((d) => d.box[0]), Array.from({ length: 10 }, (_, i) => (49 - i) * 20));
  const few = nmsDecoded(flatten(rows), rows.length, 3, { maxCandidates: 5 });
  assert.equal(few.map((d) => d.box[0]), [980, 960, 940, 920, 900]);
});

test.run();
