import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ConvCase } from './_own-conv-kernels-child.ts';

// Our convolutions on the threaded wasm backend (Winograd for 3x3 stride 1, a direct GEMM for the
// rest; src/backend/conv-engine.ts) against a float64 convolution computed here, and against the
// backend's own kernel, in a child process (the threaded build is chosen at start-up).

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
const values = (n: number) => Array.from({ length: n }, rand);

function makeCase(n: number, h: number, w: number, c: number, k: number, cout: number, stride: number, pad: ConvCase['pad'], activation: ConvCase['activation'], bias = true): ConvCase {
  return { x: values(n * h * w * c), xShape: [n, h, w, c], w: values(k * k * c * cout), wShape: [k, k, c, cout], bias: bias ? values(cout) : undefined, stride, pad, activation, alpha: 0.1 };
}

/** The convolution in float64, straight from its definition (NHWC, HWIO, TF's 'same' padding). */
function reference(c: ConvCase): { y: number[]; shape: number[] } {
  const [n, h, w, ci] = c.xShape;
  const [kh, kw, , co] = c.wShape;
  const s = c.stride;
  let ho: number, wo: number, top: number, left: number;
  if (c.pad === 'same') {
    ho = Math.ceil(h / s); wo = Math.ceil(w / s);
    top = Math.floor(Math.max((ho - 1) * s + kh - h, 0) / 2); left = Math.floor(Math.max((wo - 1) * s + kw - w, 0) / 2);
  } else if (c.pad === 'valid') {
    ho = Math.ceil((h - kh + 1) / s); wo = Math.ceil((w - kw + 1) / s); top = 0; left = 0;
  } else {
    const [, [t, b], [l, r]] = c.pad;
    ho = Math.floor((h + t + b - kh) / s) + 1; wo = Math.floor((w + l + r - kw) / s) + 1; top = t; left = l;
  }
  const y: number[] = [];
  for (let b = 0; b < n; b++) for (let oy = 0; oy < ho; oy++) for (let ox = 0; ox < wo; ox++) for (let o = 0; o < co; o++) {
    let sum = c.bias ? c.bias[o] : 0;
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const iy = oy * s - top + ky, ix = ox * s - left + kx;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      for (let i = 0; i < ci; i++) sum += c.x[((b * h + iy) * w + ix) * ci + i] * c.w[((ky * kw + kx) * ci + i) * co + o];
    }
    y.push(c.activation === 'relu' ? Math.max(sum, 0) : c.activation === 'leakyrelu' && sum < 0 ? sum * c.alpha : sum);
  }
  return { y, shape: [n, ho, wo, co] };
}

const maxAbs = (a: number[]) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const relErr = (a: number[], ref: number[]) => maxAbs(a.map((v, i) => v - ref[i])) / maxAbs(ref);

const cases: { name: string; c: ConvCase; path: 'gemm' | 'directConv' }[] = [
  { name: 'Winograd, odd sizes, C and Cout not multiples of 4 / 8, leaky relu', c: makeCase(1, 7, 9, 13, 3, 21, 1, 'same', 'leakyrelu'), path: 'gemm' },
  { name: 'Winograd, batch 2, relu, no bias', c: makeCase(2, 10, 6, 16, 3, 8, 1, 'same', 'relu', false), path: 'gemm' },
  { name: 'Winograd, explicit padding 1, 1x1 image', c: makeCase(1, 1, 1, 8, 3, 12, 1, [[0, 0], [1, 1], [1, 1], [0, 0]], 'linear'), path: 'gemm' },
  { name: 'Winograd, 64 channels (GEMM row blocks, both threads)', c: makeCase(1, 12, 11, 64, 3, 40, 1, 'same', 'linear'), path: 'gemm' },
  { name: 'Winograd, 24 -> 32 channels, leaky relu', c: makeCase(1, 9, 10, 24, 3, 32, 1, 'same', 'leakyrelu'), path: 'gemm' },
  { name: 'direct 1x1, rows not a multiple of 4, Cout 5', c: makeCase(2, 5, 3, 9, 1, 5, 1, 'valid', 'leakyrelu'), path: 'directConv' },
  { name: 'direct 1x1, 3 input channels', c: makeCase(1, 6, 6, 3, 1, 16, 1, 'same', 'relu'), path: 'directConv' },
  { name: "direct 3x3 stride 2 'valid' (YOLOv4's downsampling after its pad layer)", c: makeCase(1, 13, 11, 64, 3, 24, 2, 'valid', 'linear'), path: 'directConv' },
  { name: "direct 3x3 stride 2 'same' (asymmetric padding)", c: makeCase(2, 10, 9, 64, 3, 17, 2, 'same', 'leakyrelu'), path: 'directConv' },
  { name: 'direct 5x5 stride 1, explicit padding', c: makeCase(1, 8, 7, 64, 5, 8, 1, [[0, 0], [2, 1], [0, 2], [0, 0]], 'linear'), path: 'directConv' },
  { name: '3x3 stride 1 with 3 input channels stays on the backend (too few channels)', c: makeCase(1, 6, 6, 3, 3, 8, 1, 'same', 'linear'), path: 'none' as never },
];

// the cases go through stdin: as an argument they exceed the kernel's 128 KiB limit
const outFile = join(mkdtempSync(join(tmpdir(), 'own-conv-')), 'out.json');
const child = spawnSync(process.execPath, ['--import', 'tsx', 'test/_own-conv-kernels-child.ts', outFile], { input: JSON.stringify(cases.map((k) => k.c)), encoding: 'utf8', timeout: 120_000 });
const out = child.status === 0 ? JSON.parse(readFileSync(outFile, 'utf8')) : null;
rmSync(dirname(outFile), { recursive: true, force: true });

test('the threaded child runs', () => {
  assert.is(child.status, 0, `child failed: ${child.error ?? ''} ${child.stderr?.slice(-2000)}`);
});

cases.forEach(({ name, c, path }, i) => {
  test(`conv: ${name}`, () => {
    const r = out.results[i] as { ours: number[]; builtin: number[]; exports: string[] };
    const ref = reference(c);
    assert.is(r.ours.length, ref.y.length, 'output size');
    if ((path as string) === 'none') assert.equal(r.exports, [], 'our kernels should not run');
    else assert.ok(r.exports.includes(path), `expected our ${path} to run, ran: ${r.exports.join(', ')}`);
    // float32 against float64: the builtin's own error sets the scale (~1e-7 relative)
    const ours = relErr(r.ours, ref.y);
    const builtin = relErr(r.builtin, ref.y);
    assert.ok(ours < 2e-6, `ours ${ours.toExponential(2)} from the float64 convolution (builtin ${builtin.toExponential(2)})`);
    assert.ok(builtin < 2e-6, `builtin ${builtin.toExponential(2)}`);
  });
});

test('gradients through our forward equal the backend kernel path', () => {
  assert.ok(relErr(out.gradOurs, out.gradBuiltin) < 1e-5, `${relErr(out.gradOurs, out.gradBuiltin)}`);
});

test('leaky relu on our threads equals the backend kernel', () => {
  assert.ok(out.leakyRan, 'our leakyRelu did not run');
  assert.equal(out.leakyOurs, out.leakyBuiltin);
});

test('no tensors or heap blocks leak when filters come and go', () => {
  assert.equal(out.leak, { tensors: 0, dataIds: 0 });
});

test.run();
