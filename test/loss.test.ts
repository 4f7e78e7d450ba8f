import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { yoloLoss, type YoloLossOptions } from '../src/train/loss.ts';
import { mulberry32 } from '../src/util/mulberry32.ts';

// ---------------------------------------------------------------------------------------------------------
// Independent float64 truth: the reference recipe written out with plain loops, sharing nothing with src/.
// Probabilities are computed, clipped to [1e-7, 1 - 1e-7] and logged, as the PyTorch reference does.
// ---------------------------------------------------------------------------------------------------------
interface TruthOpts {
  anchors: number[][]; mask: number[][]; C: number; inH: number; inW: number;
  ls: number; focal: boolean; gamma: number; alpha: number; ignore: number; boxScale?: boolean;
}
interface Head { data: Float32Array; B: number; H: number; W: number }
type Gt = number[]; // [cx, cy, w, h, cls]

const sig = (x: number) => 1 / (1 + Math.exp(-x));
function bce(p: number, y: number): number {
  const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
  return -y * Math.log(q) - (1 - y) * Math.log(1 - q);
}
// boxes [cx, cy, w, h]
function plainIou(a: number[], b: number[]): number {
  const iw = Math.max(0, Math.min(a[0] + a[2] / 2, b[0] + b[2] / 2) - Math.max(a[0] - a[2] / 2, b[0] - b[2] / 2));
  const ih = Math.max(0, Math.min(a[1] + a[3] / 2, b[1] + b[3] / 2) - Math.max(a[1] - a[3] / 2, b[1] - b[3] / 2));
  const inter = iw * ih;
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}
function ciouTruth(a: number[], b: number[]): number {
  const ax1 = a[0] - a[2] / 2, ax2 = a[0] + a[2] / 2, ay1 = a[1] - a[3] / 2, ay2 = a[1] + a[3] / 2;
  const bx1 = b[0] - b[2] / 2, bx2 = b[0] + b[2] / 2, by1 = b[1] - b[3] / 2, by2 = b[1] + b[3] / 2;
  const inter = Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1)) * Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1));
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  const iou = inter / Math.max(union, 1e-6);
  const rho2 = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2;
  const c2 = (Math.max(ax2, bx2) - Math.min(ax1, bx1)) ** 2 + (Math.max(ay2, by2) - Math.min(ay1, by1)) ** 2;
  const v = (4 / (Math.PI * Math.PI)) * (Math.atan(a[2] / Math.max(a[3], 1e-6)) - Math.atan(b[2] / Math.max(b[3], 1e-6))) ** 2;
  const alpha = v / Math.max(1 - iou + v, 1e-6);
  return iou - rho2 / Math.max(c2, 1e-6) - alpha * v;
}

interface TruthResult { total: number; box: number; obj: number; cls: number; ignored: number; positives: number[] }

function truthLoss(heads: Head[], gts: Gt[][], o: TruthOpts): TruthResult {
  const balance = [0.4, 1, 4];
  const objRatio = (5 * o.inH * o.inW) / (416 * 416);
  const clsRatio = o.C / 80;
  const res: TruthResult = { total: 0, box: 0, obj: 0, cls: 0, ignored: 0, positives: [] };
  heads.forEach(({ data, B, H, W }, l) => {
    const A = o.mask[l].length;
    const D = 5 + o.C;
    const at = (b: number, j: number, i: number, a: number, k: number) => data[((b * H + j) * W + i) * (A * D) + a * D + k];
    // anchors of this head's grid (reference: a / stride)
    const anc = o.anchors.map(([w, h]) => [w / (o.inW / W), h / (o.inH / H)]);
    // --- targets, reference get_target: best of all anchors by shape IoU, in this head's grid units
    const pos = new Map<string, { box: number[]; cls: number[] }>();
    for (let b = 0; b < B; b++) {
      for (const g of gts[b]) {
        const gw = g[2] * W, gh = g[3] * H;
        let best = -1, bestIou = -1;
        anc.forEach(([aw, ah], n) => {
          const inter = Math.min(gw, aw) * Math.min(gh, ah);
          const u = inter / (gw * gh + aw * ah - inter);
          if (u > bestIou) { bestIou = u; best = n; }
        });
        const slot = o.mask[l].indexOf(best);
        if (slot < 0) continue;
        const i = Math.floor(g[0] * W), j = Math.floor(g[1] * H);
        const key = `${b},${j},${i},${slot}`;
        const prev = pos.get(key);
        const cls = prev ? prev.cls : new Array(o.C).fill(0);
        cls[g[4]] = 1;
        pos.set(key, { box: [g[0] * W, g[1] * H, gw, gh, g[2] * g[3]], cls });
      }
    }
    // --- decoded predictions, ignore, objectness
    let objSum = 0, kept = 0;
    let boxSum = 0, clsSum = 0;
    for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) for (let i = 0; i < W; i++) for (let a = 0; a < A; a++) {
      const [aw, ah] = anc[o.mask[l][a]];
      const pred = [sig(at(b, j, i, a, 0)) + i, sig(at(b, j, i, a, 1)) + j, Math.exp(at(b, j, i, a, 2)) * aw, Math.exp(at(b, j, i, a, 3)) * ah];
      const p = pos.get(`${b},${j},${i},${a}`);
      let maxIou = 0;
      for (const g of gts[b]) maxIou = Math.max(maxIou, plainIou(pred, [g[0] * W, g[1] * H, g[2] * W, g[3] * H]));
      const ignored = maxIou > o.ignore;
      if (!p && ignored) { res.ignored++; continue; }
      const conf = sig(at(b, j, i, a, 4));
      const y = p ? 1 : 0;
      let term = bce(conf, y);
      if (o.focal) term *= (p ? o.alpha : 1 - o.alpha) * (p ? 1 - conf : conf) ** o.gamma;
      objSum += term;
      kept++;
      if (p) {
        res.positives.push(l * 1e6 + ((b * H + j) * W + i) * A + a);
        boxSum += (1 - ciouTruth(pred, p.box)) * (o.boxScale ? 2 - p.box[4] : 1);
        for (let c = 0; c < o.C; c++) {
          const yc = p.cls[c] * (1 - o.ls) + o.ls / o.C;
          clsSum += bce(sig(at(b, j, i, a, 5 + c)), yc);
        }
      }
    }
    const P = pos.size;
    let lossConf = objSum / kept;
    if (o.focal) lossConf *= 10;
    res.obj += lossConf * balance[l] * objRatio;
    if (P > 0) {
      res.box += 0.05 * (boxSum / P);
      res.cls += clsRatio * (clsSum / (P * o.C));
    }
  });
  res.total = res.box + res.obj + res.cls;
  return res;
}

// ---------------------------------------------------------------------------------------------------------
// Tiny seeded cases
// ---------------------------------------------------------------------------------------------------------

// anchors of the 416 reference scaled to a 64-ish input
const ANCHORS = [[12, 16], [19, 36], [40, 28], [36, 75], [76, 55], [72, 146], [142, 110], [192, 243], [459, 401]]
  .map(([w, h]) => [w * 64 / 416, h * 64 / 416]);
const MASK = [[6, 7, 8], [3, 4, 5], [0, 1, 2]];

interface Case { heads: Head[]; gts: Gt[][]; inH: number; inW: number; C: number }

function makeCase(C: number, inH: number, inW: number, seed: number): Case {
  const rnd = mulberry32(seed);
  const B = 2;
  const gts: Gt[][] = [
    // sizes chosen to land on all three heads (w, h normalised)
    [[0.3, 0.4, 0.6, 0.5, 0], [0.7, 0.2, 0.08, 0.1, C - 1], [0.55, 0.6, 0.25, 0.3, 0], [0.12, 0.85, 0.04, 0.05, C - 1]],
    [[0.5, 0.5, 0.9, 0.8, C - 1], [0.2, 0.3, 0.15, 0.2, 0], [0.81, 0.77, 0.05, 0.1, 0]],
  ];
  const strides = [32, 16, 8];
  const heads: Head[] = strides.map((s) => {
    const H = inH / s, W = inW / s;
    const data = new Float32Array(B * H * W * 3 * (5 + C));
    for (let n = 0; n < data.length; n++) data[n] = (rnd() * 2 - 1) * 1.5;
    return { data, B, H, W };
  });
  // Plant near-copies of some ground truths at non-positive slots so the ignore rule is exercised:
  // head 1, the slot after the GT's own best (any head), the GT's cell.
  gts.forEach((list, b) => list.slice(0, 2).forEach((g) => {
    const { data, H, W } = heads[1];
    const i = Math.floor(g[0] * W), j = Math.floor(g[1] * H);
    const slot = 2;
    const D = 5 + C;
    const [aw, ah] = [ANCHORS[MASK[1][slot]][0] / (inW / W), ANCHORS[MASK[1][slot]][1] / (inH / H)];
    const base = ((b * H + j) * W + i) * 3 * D + slot * D;
    const logit = (p: number) => Math.log(p / (1 - p));
    // image 1's first box is centred at 0.5: 0.5 * 4 - 2 = 0 gives tx = -Infinity there, which also checks
    // that one infinite logit (sigmoid 0) poisons nothing else
    data[base] = logit(g[0] * W - i);
    data[base + 1] = logit(g[1] * H - j);
    data[base + 2] = Math.log((g[2] * W * 1.05) / aw);
    data[base + 3] = Math.log((g[3] * H * 0.97) / ah);
  }));
  return { heads, gts, inH, inW, C };
}

function optsOf(c: Case, extra: Partial<YoloLossOptions> = {}): YoloLossOptions {
  return { anchors: ANCHORS as [number, number][], anchorMask: MASK, numClasses: c.C, inputSize: [c.inH, c.inW], ...extra };
}
function truthOptsOf(c: Case, extra: Partial<TruthOpts> = {}): TruthOpts {
  return { anchors: ANCHORS, mask: MASK, C: c.C, inH: c.inH, inW: c.inW, ls: 0, focal: false, gamma: 2, alpha: 0.25, ignore: 0.5, ...extra };
}
const targetsOf = (c: Case) => c.gts.map((list) => Float32Array.from(list.flat()));

function runLoss(c: Case, opts: YoloLossOptions) {
  return tf.tidy(() => {
    const outs = c.heads.map((h) => tf.tensor4d(h.data, [h.B, h.H, h.W, h.data.length / (h.B * h.H * h.W)]));
    const r = yoloLoss(outs, targetsOf(c), opts);
    return { total: r.total.dataSync()[0], box: r.box.dataSync()[0], obj: r.obj.dataSync()[0], cls: r.cls.dataSync()[0] };
  });
}

function assertRel(a: number, b: number, tol: number, msg: string) {
  assert.ok(Math.abs(a - b) <= tol * Math.abs(b) + 1e-9, `${msg}: ${a} vs truth ${b} (rel ${Math.abs(a - b) / Math.abs(b)})`);
}
function compare(c: Case, extra: Partial<YoloLossOptions>, textra: Partial<TruthOpts>, label: string) {
  const got = runLoss(c, optsOf(c, extra));
  const want = truthLoss(c.heads, c.gts, truthOptsOf(c, textra));
  for (const k of ['total', 'box', 'obj', 'cls'] as const) assertRel(got[k], want[k], 1e-4, `${label} ${k}`);
  return { got, want };
}

const case1 = makeCase(1, 64, 64, 1);
const case2 = makeCase(2, 64, 96, 7);

test('the cases exercise every head, collisions aside, and the ignore rule', () => {
  for (const c of [case1, case2]) {
    const t = truthLoss(c.heads, c.gts, truthOptsOf(c));
    const perHead = [0, 1, 2].map((l) => t.positives.filter((p) => Math.floor(p / 1e6) === l).length);
    assert.ok(perHead.every((n) => n > 0), `positives per head ${perHead}`);
    assert.ok(t.ignored >= 2, `ignored negatives: ${t.ignored}`);
  }
});

test('1 class, 64x64: matches the float64 truth to 1e-4 relative', () => {
  compare(case1, {}, {}, 'C=1');
});

test('2 classes, non-square 64x96: matches', () => {
  compare(case2, {}, {}, 'C=2');
});

test('label smoothing 0.1 matches y*(1-ls) + ls/C and changes the class loss', () => {
  const off = compare(case2, {}, {}, 'ls=0');
  const on = compare(case2, { labelSmoothing: 0.1 }, { ls: 0.1 }, 'ls=0.1');
  assert.ok(Math.abs(on.got.cls - off.got.cls) > 1e-3 * off.got.cls, 'smoothing must change the class loss');
  assert.is(on.got.box, off.got.box);
  assert.is(on.got.obj, off.got.obj);
  // With one class the reference formula maps the only (positive) target 1 -> 1: no change.
  const c1 = compare(case1, { labelSmoothing: 0.1 }, { ls: 0.1 }, 'C=1 ls');
  assertRel(c1.got.cls, runLoss(case1, optsOf(case1)).cls, 1e-6, 'C=1 smoothing is a no-op');
});

test('focal objectness (alpha 0.25, gamma 2, x10) matches, alone and with smoothing', () => {
  const plain = runLoss(case2, optsOf(case2));
  const f = compare(case2, { focalObj: true }, { focal: true }, 'focal');
  assert.ok(Math.abs(f.got.obj - plain.obj) > 1e-3 * plain.obj);
  compare(case2, { focalObj: true, labelSmoothing: 0.05 }, { focal: true, ls: 0.05 }, 'focal+ls');
  compare(case1, { focalObj: true, focalGamma: 1.5, focalAlpha: 0.4 }, { focal: true, gamma: 1.5, alpha: 0.4 }, 'focal g1.5 a0.4');
});

test('box loss scale option (2 - w*h) matches', () => {
  compare(case1, { useBoxLossScale: true }, { boxScale: true }, 'boxScale');
});

test('heads without positives add no box/cls loss; no boxes at all: box = cls = 0, obj > 0', () => {
  // only tiny boxes -> only head 2 has positives
  const c: Case = { ...case1, gts: [[[0.2, 0.2, 0.03, 0.04, 0]], []] };
  const got = compare(c, {}, {}, 'one head');
  assert.ok(got.got.box > 0 && got.got.cls > 0);
  const empty: Case = { ...case1, gts: [[], []] };
  const e = compare(empty, {}, {}, 'empty');
  assert.is(e.got.box, 0);
  assert.is(e.got.cls, 0);
  assert.ok(e.got.obj > 0 && Number.isFinite(e.got.obj));
});

test('rows buildTargets skips (NaN, zero size) change nothing', () => {
  const base = runLoss(case2, optsOf(case2));
  const dirty: Case = { ...case2, gts: [[...case2.gts[0], [0.5, 0.5, NaN, 0.2, 0], [0.4, 0.4, 0, 0.3, 1]], case2.gts[1]] };
  const got = runLoss(dirty, optsOf(dirty));
  for (const k of ['total', 'box', 'obj', 'cls'] as const) assert.is(got[k], base[k]);
});

test('gradients w.r.t. outputs: finite, nonzero at positives, zero objectness gradient at ignored cells', () => {
  const c = case2;
  const want = truthLoss(c.heads, c.gts, truthOptsOf(c));
  const grads = tf.tidy(() => {
    const outs = c.heads.map((h) => tf.tensor4d(h.data, [h.B, h.H, h.W, h.data.length / (h.B * h.H * h.W)]));
    const g = tf.grads((...xs: tf.Tensor[]) => yoloLoss(xs, targetsOf(c), optsOf(c)).total)(outs);
    return g.map((t) => t.dataSync() as Float32Array);
  });
  const D = 5 + c.C;
  grads.forEach((g) => assert.ok(g.every(Number.isFinite)));
  for (const p of want.positives) {
    const l = Math.floor(p / 1e6);
    const cell = p % 1e6; // ((b*H + j)*W + i)*A + a
    for (let k = 0; k < D; k++) assert.ok(grads[l][cell * D + k] !== 0, `head ${l} cell ${cell} channel ${k}`);
  }
  // Ignored cells: objectness gradient 0. Find them via the truth's rule on head 1's planted slots.
  const h = c.heads[1];
  let zeroObj = 0;
  for (let n = 0; n < h.B * h.H * h.W * 3; n++) if (grads[1][n * D + 4] === 0) zeroObj++;
  assert.ok(zeroObj >= 2, `ignored cells with zero objectness gradient: ${zeroObj}`);
  // Box channels of non-positive cells get no gradient at all.
  const posSet = new Set(want.positives);
  for (let l = 0; l < 3; l++) {
    const n = grads[l].length / D;
    for (let cell = 0; cell < n; cell++) {
      if (posSet.has(l * 1e6 + cell)) continue;
      for (const k of [0, 1, 2, 3, 5]) assert.is(grads[l][cell * D + k], 0);
    }
  }
});

test('gradients match float64 finite differences of the truth (alpha live, as the truth differentiates it)', () => {
  const c = case2;
  const t0 = truthLoss(c.heads, c.gts, truthOptsOf(c));
  const grads = tf.tidy(() => {
    const outs = c.heads.map((h) => tf.tensor4d(h.data, [h.B, h.H, h.W, h.data.length / (h.B * h.H * h.W)]));
    return tf.grads((...xs: tf.Tensor[]) => yoloLoss(xs, targetsOf(c), optsOf(c, { detachCiouAlpha: false })).total)(outs)
      .map((g) => g.dataSync() as Float32Array);
  });
  const D = 5 + c.C;
  // every channel of a few positives on each head, plus a few objectness logits of negatives
  const picks: [number, number][] = [];
  for (const l of [0, 1, 2]) {
    const p = t0.positives.find((q) => Math.floor(q / 1e6) === l)!;
    for (let k = 0; k < D; k++) picks.push([l, (p % 1e6) * D + k]);
    picks.push([l, 4], [l, 3 * D + 4]);
  }
  for (const [l, idx] of picks) {
    const data = c.heads[l].data;
    const x0 = data[idx];
    // step exactly representable in float32 around x0
    const hp = Math.fround(x0 + 1e-3) - x0, hm = x0 - Math.fround(x0 - 1e-3);
    const heads = c.heads.map((h, m) => (m === l ? { ...h, data: Float32Array.from(h.data) } : h));
    heads[l].data[idx] = x0 + hp;
    const fp = truthLoss(heads, c.gts, truthOptsOf(c)).total;
    heads[l].data[idx] = x0 - hm;
    const fm = truthLoss(heads, c.gts, truthOptsOf(c)).total;
    const fd = (fp - fm) / (hp + hm);
    const g = grads[l][idx];
    assert.ok(Math.abs(g - fd) <= 2e-3 * Math.abs(fd) + 2e-6, `head ${l} idx ${idx} (channel ${idx % D}): ${g} vs fd ${fd}`);
  }
});

test('detached CIoU alpha (default) only changes the box-channel gradients', () => {
  const c = case1;
  const g = (detach: boolean) => tf.tidy(() => {
    const outs = c.heads.map((h) => tf.tensor4d(h.data, [h.B, h.H, h.W, h.data.length / (h.B * h.H * h.W)]));
    return tf.grads((...xs: tf.Tensor[]) => yoloLoss(xs, targetsOf(c), optsOf(c, { detachCiouAlpha: detach })).total)(outs)
      .map((t) => Array.from(t.dataSync()));
  });
  const a = g(true), b = g(false);
  const D = 6;
  let differs = 0;
  a.forEach((ga, l) => ga.forEach((v, n) => {
    const k = n % D;
    // alpha depends on IoU, so tx..th all see it; objectness and class gradients do not
    if (k < 4) { if (v !== b[l][n]) differs++; } else assert.ok(Math.abs(v - b[l][n]) <= 1e-7 + 1e-5 * Math.abs(v));
  }));
  assert.ok(differs > 0);
});

test('no leaks: repeated calls in tidy, tf.variableGrads, optimizer.minimize (loss goes down)', () => {
  const c = case2;
  const vars = c.heads.map((h) => tf.variable(tf.tensor4d(h.data, [h.B, h.H, h.W, h.data.length / (h.B * h.H * h.W)])));
  const targets = targetsOf(c);
  const opts = optsOf(c, { focalObj: true, labelSmoothing: 0.01 });
  const f = () => yoloLoss(vars, targets, opts).total;
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) tf.tidy(() => { yoloLoss(vars, targets, opts); });
  assert.is(tf.memory().numTensors, before);
  for (let i = 0; i < 3; i++) {
    const { value, grads } = tf.variableGrads(f);
    tf.dispose([value, ...Object.values(grads)]);
  }
  assert.is(tf.memory().numTensors, before);
  const opt = tf.train.sgd(0.5);
  const start = tf.tidy(() => f().dataSync()[0]);
  for (let i = 0; i < 5; i++) opt.minimize(f);
  const end = tf.tidy(() => f().dataSync()[0]);
  assert.ok(end < start, `loss ${start} -> ${end}`);
  opt.dispose(); // SGD keeps its learning-rate scalar until disposed
  assert.is(tf.memory().numTensors, before);
  tf.dispose(vars);
});

test('shape errors are clear', () => {
  tf.tidy(() => {
    const outs = [tf.zeros([1, 2, 2, 18]), tf.zeros([1, 4, 4, 18]), tf.zeros([1, 8, 8, 17])];
    assert.throws(() => yoloLoss(outs, [new Float32Array(0)], optsOf(case1)), /output 2/);
    assert.throws(() => yoloLoss(outs.slice(0, 2), [new Float32Array(0)], optsOf(case1)), /2 outputs/);
    assert.throws(() => yoloLoss([tf.zeros([1, 2, 2, 18]), tf.zeros([1, 4, 4, 18]), tf.zeros([1, 8, 8, 18])], [], optsOf(case1)), /target arrays/);
  });
});

test.run();
