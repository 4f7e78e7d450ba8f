import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { decodeHeads, type DecodeOptions } from '../src/predict/decode.ts';

// Three heads for a 64x64 input: 2x2 (stride 32), 4x4 (stride 16), 8x8 (stride 8); 3 anchors each, 2 classes.
const C = 2;
const A = 3;
const K = 5 + C; // values per anchor
const ANCHORS: [number, number][] = [[1, 2], [3, 4], [11, 12], [5, 6], [7, 8], [9, 10], [10, 20], [30, 40], [50, 60]];
const MASK = [[6, 7, 8], [3, 4, 5], [0, 1, 2]];
const GRID = [2, 4, 8];
const opts: DecodeOptions = { anchors: ANCHORS, anchorMask: MASK, numClasses: C, inputSize: [64, 64] };
const NEG = -30; // sigmoid(-30) ~ 9e-14: "off"

/** Heads filled with tx=ty=tw=th=0 and "off" objectness/classes, then the listed cells overwritten. */
function makeHeads(batch: number, cells: { b: number; head: number; y: number; x: number; a: number; v: number[] }[]): tf.Tensor[] {
  const datas = GRID.map((g) => {
    const d = new Float32Array(batch * g * g * A * K);
    for (let i = 0; i < d.length; i++) if (i % K >= 4) d[i] = NEG;
    return d;
  });
  for (const c of cells) {
    const g = GRID[c.head];
    const base = ((c.b * g + c.y) * g + c.x) * A * K + c.a * K; // NHWC, channel a*(5+C)+k
    c.v.forEach((v, k) => { datas[c.head][base + k] = v; });
  }
  return datas.map((d, h) => tf.tensor4d(d, [batch, GRID[h], GRID[h], A * K]));
}

/** Row of (head, y, x, a) in the decoded tensor: heads in order, then y, x, anchor. */
function rowOf(head: number, y: number, x: number, a: number): number {
  let off = 0;
  for (let h = 0; h < head; h++) off += GRID[h] * GRID[h] * A;
  return off + (y * GRID[head] + x) * A + a;
}

const close = (got: ArrayLike<number>, want: number[], tol = 1e-4, msg = '') => {
  assert.is(got.length, want.length, msg);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `${msg} [${i}]: got ${got[i]}, want ${want[i]}`);
  }
};

test('hand-set logits decode to hand-computed boxes, objectness and class probabilities', async () => {
  const ln = Math.log;
  const heads = makeHeads(2, [
    // Head 0 (2x2, stride 32, anchors 6,7,8), image 0, cell gy=1 gx=0, anchor a=1 -> ANCHORS[7] = [30, 40].
    // tx=ty=0: sigmoid 0.5 -> cx = (0.5 + 0) * 32 = 16, cy = (0.5 + 1) * 32 = 48.
    // tw=ln 2: w = 2 * 30 = 60; th=ln 0.5: h = 0.5 * 40 = 20.  box = [16-30, 48-10, 16+30, 48+10] = [-14, 38, 46, 58].
    // obj logit ln 4: sigmoid = 4/5 = 0.8. class 1 logit 0 -> 0.5; class 0 off.
    { b: 0, head: 0, y: 1, x: 0, a: 1, v: [0, 0, ln(2), ln(0.5), ln(4), NEG, 0] },
    // Head 1 (4x4, stride 16, anchors 3,4,5), image 1, cell gy=2 gx=3, anchor a=2 -> ANCHORS[5] = [9, 10].
    // tx=ln 3: sigmoid 0.75 -> cx = (0.75 + 3) * 16 = 60; ty=-ln 3: sigmoid 0.25 -> cy = (0.25 + 2) * 16 = 36.
    // tw=th=0: w = 9, h = 10. box = [55.5, 31, 64.5, 41].
    // obj logit 0 -> 0.5; class 0 logit ln 9 -> 0.9, class 1 logit -ln 9 -> 0.1.
    { b: 1, head: 1, y: 2, x: 3, a: 2, v: [ln(3), -ln(3), 0, 0, 0, ln(9), -ln(9)] },
    // Head 2 (8x8, stride 8, anchors 0,1,2), image 1, cell gy=5 gx=3, anchor a=0 -> ANCHORS[0] = [1, 2].
    // tx=ln 3 (0.75), ty=-ln 3 (0.25): cx = (0.75 + 3) * 8 = 30, cy = (0.25 + 5) * 8 = 42.
    // tw=ln 4: w = 4; th=ln 3: h = 6. box = [28, 39, 32, 45]. obj ln(1/3) -> 0.25; classes ln 3 -> 0.75, 0 -> 0.5.
    { b: 1, head: 2, y: 5, x: 3, a: 0, v: [ln(3), -ln(3), ln(4), ln(3), ln(1 / 3), ln(3), 0] },
  ]);
  const before = tf.memory().numTensors;
  const dec = decodeHeads(heads, opts);
  assert.is(tf.memory().numTensors, before + 1, 'only the result is new');
  assert.equal(dec.shape, [2, 2 * 2 * 3 + 4 * 4 * 3 + 8 * 8 * 3, 5 + C]);
  const d = (await dec.array()) as number[][][];

  close(d[0][rowOf(0, 1, 0, 1)], [-14, 38, 46, 58, 0.8, 0, 0.5], 1e-4, 'head 0');
  close(d[1][rowOf(1, 2, 3, 2)], [55.5, 31, 64.5, 41, 0.5, 0.9, 0.1], 1e-4, 'head 1');
  close(d[1][rowOf(2, 5, 3, 0)], [28, 39, 32, 45, 0.25, 0.75, 0.5], 1e-4, 'head 2');

  // An untouched cell: tx=ty=tw=th=0 at head 2 (stride 8), gy=7, gx=6, anchor 2 -> ANCHORS[2] = [11, 12]:
  // cx = 6.5 * 8 = 52, cy = 7.5 * 8 = 60, box = [46.5, 54, 57.5, 66], everything else ~0.
  close(d[0][rowOf(2, 7, 6, 2)], [46.5, 54, 57.5, 66, 0, 0, 0], 1e-4, 'default cell');
  // The cells set for image 1 are "off" in image 0 (batch entries are independent).
  assert.ok(d[0][rowOf(1, 2, 3, 2)][4] < 1e-6);
  assert.ok(d[1][rowOf(0, 1, 0, 1)][4] < 1e-6);
  tf.dispose([dec, ...heads]);
});

test('scale_x_y: cx = (sigmoid(tx) * s - (s - 1) / 2 + gx) * stride', async () => {
  const ln = Math.log;
  // Head 2 (stride 8), gy=5 gx=3, tx=ln 3 (sigmoid 0.75), ty=-ln 3 (0.25), anchor [1, 2], tw=th=0.
  // s = 2:   x = 0.75*2 - 0.5 = 1.0 -> cx = (1 + 3) * 8 = 32;  y = 0.25*2 - 0.5 = 0 -> cy = (0 + 5) * 8 = 40.
  // s = 1.2: x = 0.9 - 0.1 = 0.8 -> cx = 3.8 * 8 = 30.4;        y = 0.3 - 0.1 = 0.2 -> cy = 5.2 * 8 = 41.6.
  // Head 0 (stride 32), gy=0 gx=1, tx=ty=0 (0.5), anchor [10, 20] (a=0): with s = 1.05 the centre stays at
  // 0.5*1.05 - 0.025 = 0.5 -> cx = 1.5 * 32 = 48, cy = 16; box = [43, 6, 53, 26].
  const heads = makeHeads(1, [
    { b: 0, head: 2, y: 5, x: 3, a: 0, v: [ln(3), -ln(3), 0, 0, 0, 0, 0] },
    { b: 0, head: 0, y: 0, x: 1, a: 0, v: [0, 0, 0, 0, 0, 0, 0] },
  ]);
  const row2 = rowOf(2, 5, 3, 0);
  const row0 = rowOf(0, 0, 1, 0);
  for (const [s, cx, cy] of [[2, 32, 40], [1.2, 30.4, 41.6], [1, 30, 42]]) {
    const dec = decodeHeads(heads, { ...opts, scaleXY: [1.05, 1.1, s] });
    const d = (await dec.array()) as number[][][];
    close(d[0][row2].slice(0, 4), [cx - 0.5, cy - 1, cx + 0.5, cy + 1], 1e-4, `s=${s}`);
    close(d[0][row0].slice(0, 4), [43, 6, 53, 26], 1e-4, 'head 0 with s=1.05');
    dec.dispose();
  }
  tf.dispose(heads);
});

test('non-square input: strides differ in x and y', async () => {
  // 64 high x 128 wide: head 0 is 2 x 4 with stride 32 both ways; set cell gy=1 gx=3, tx=ty=0, a=0 -> [10, 20].
  // cx = 3.5 * 32 = 112, cy = 1.5 * 32 = 48 -> box [107, 38, 117, 58].
  const shapes = [[2, 4], [4, 8], [8, 16]];
  const heads = shapes.map(([h, w], i) => {
    const d = new Float32Array(h * w * A * K).fill(NEG);
    if (i === 0) {
      const base = (1 * w + 3) * A * K;
      for (let k = 0; k < K; k++) d[base + k] = 0;
    }
    return tf.tensor4d(d, [1, h, w, A * K]);
  });
  const dec = decodeHeads(heads, { ...opts, inputSize: [64, 128] });
  const d = (await dec.array()) as number[][][];
  close(d[0][(1 * 4 + 3) * A].slice(0, 5), [107, 38, 117, 58, 0.5], 1e-4);
  tf.dispose([dec, ...heads]);
});

test('clear errors for mismatched heads', () => {
  const heads = makeHeads(1, []);
  assert.throws(() => decodeHeads(heads, { ...opts, numClasses: 3 }), /expected 3 anchors x \(5 \+ 3 classes\) = 24/);
  assert.throws(() => decodeHeads(heads.slice(0, 2), opts), /2 outputs but anchorMask lists 3 heads/);
  assert.throws(() => decodeHeads(heads, { ...opts, scaleXY: [1, 1] }), /scaleXY needs one value per head/);
  tf.dispose(heads);
});

test.run();
