/**
 * How far tfjs inference on wasm can go on this CPU: one core's float32 peak in WebAssembly SIMD
 * (mul + add, as tfjs-backend-wasm's XNNPACK build computes; relaxed-SIMD fused multiply-add, which
 * that build does not use), a plain relaxed-SIMD GEMM against XNNPACK on the same 1x1-conv shapes
 * (1 thread each), PyTorch's single-thread GEMM (native AVX2/AVX-512) on the same shapes, and the
 * full YOLOv4's FLOPs at 416 turned into the best time each peak allows on N cores.
 *
 *   npx tsx scripts/bench-wasm-peak.ts [--cores 2]
 * Sources of the two modules: scripts/wasm-peak/*.as.ts (AssemblyScript; build lines in each).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { loadConfigFile } from '../src/model/config.ts';
import { countFlops } from '../src/model/cost.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { loadavg, markdownTable, startBackend, value } from './bench-vs-pytorch-util.ts';

// GEMM shapes of YOLOv4 1x1 convs at 416 (M = pixels, K = in channels, N = out channels); M a multiple of 6.
const shapes = [[2700, 256, 128], [2700, 128, 256], [174, 1024, 512], [10812, 64, 64], [2700, 1152, 256]];

if (process.argv.includes('--child')) {
  // Our modules, in a process started with --experimental-wasm-relaxed-simd (Node 20 ships relaxed
  // SIMD behind it). Setting that flag at run time instead slowed tfjs's own wasm in the same
  // process 10-50x, so tfjs is measured in the parent, without it.
  const wasm = (name: string) => new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(new URL(`./wasm-peak/${name}`, import.meta.url))), { env: { abort() {} } }).exports;
  const peak = wasm('peak.wasm') as Record<'mulAdd' | 'madd', (iters: number) => number>;
  const peakGflops: Record<string, number> = {};
  for (const name of ['mulAdd', 'madd'] as const) {
    peak[name](1e6);
    const iters = 1e8;
    const best = Math.min(...[0, 1, 2].map(() => {
      const t = performance.now();
      peak[name](iters);
      return performance.now() - t;
    }));
    peakGflops[name] = (iters * 12 * 8) / best / 1e6;
  }
  const gemm = wasm('gemm.wasm') as { memory: WebAssembly.Memory; gemm(a: number, b: number, c: number, m: number, n: number, k: number): void };
  const gemmGflops = shapes.map(([m, k, n]) => {
    const f32 = new Float32Array(gemm.memory.buffer);
    const a = 1024;
    const b = a + m * k * 4;
    const c = b + k * n * 4;
    for (let j = 0; j < m * k + k * n; j++) f32[a / 4 + j] = Math.random();
    gemm.gemm(a, b, c, m, n, k);
    const best = Math.min(...Array.from({ length: 10 }, () => {
      const t = performance.now();
      gemm.gemm(a, b, c, m, n, k);
      return performance.now() - t;
    }));
    return (2 * m * n * k) / best / 1e6;
  });
  console.log(JSON.stringify({ peakGflops, gemmGflops }));
  process.exit(0);
}

const cores = Number(value('cores', '2'));
const load0 = loadavg();
const child = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', new URL(import.meta.url).pathname, '--child'], { encoding: 'utf8' });
if (child.status !== 0) throw new Error(`the wasm child failed: ${child.stderr.slice(-1000)}`);
const ours = JSON.parse(child.stdout.trim().split('\n').pop()!) as { peakGflops: Record<'mulAdd' | 'madd', number>; gemmGflops: number[] };
const peakGflops = ours.peakGflops;
const peakRows = [['f32x4 mul + add', peakGflops.mulAdd.toFixed(1)], ['f32x4 relaxed_madd (FMA)', peakGflops.madd.toFixed(1)]];
await startBackend('wasm', 1);
const gemmRows: string[][] = [];
const torchScript = `
import torch, time, json, sys
torch.set_num_threads(1)
out = []
for m, k, n in json.loads(sys.argv[1]):
    # the same product as a 1x1 convolution (oneDNN), as the network runs it
    a = torch.rand(1, k, 1, m); b = torch.rand(n, k, 1, 1)
    f = lambda: torch.nn.functional.conv2d(a, b)
    f()
    best = min((lambda t: (f(), time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(10))
    out.append(2 * m * n * k / best / 1e9)
print(json.dumps(out))`;
const torch = spawnSync('/usr/bin/python3', ['-c', torchScript, JSON.stringify(shapes)], { encoding: 'utf8' });
const torchGflops: number[] = torch.status === 0 ? JSON.parse(torch.stdout.trim()) : [];
shapes.forEach(([m, k, n], i) => {
  const x = tf.randomUniform([1, 1, m, k]) as tf.Tensor4D;
  const w = tf.randomUniform([1, 1, k, n]) as tf.Tensor4D;
  const xnn = Math.min(...Array.from({ length: 11 }, () => {
    const t = performance.now();
    tf.tidy(() => { tf.conv2d(x, w, 1, 'valid').dataSync(); }); // void: tidy would walk a returned array
    return performance.now() - t;
  }).slice(1));
  tf.dispose([x, w]);
  const g = (ms: number) => ((2 * m * n * k) / ms / 1e6).toFixed(1);
  gemmRows.push([`${m}x${k} · ${k}x${n}`, g(xnn), ours.gemmGflops[i].toFixed(1), torchGflops[i]?.toFixed(1) ?? 'n/a']);
});

const flops = countFlops(buildYolov4(loadConfigFile('configs/yolov4.json')), 416).flops;
const bound = (gflopsPerCore: number) => `${((flops / 1e9 / (gflopsPerCore * cores)) * 1000).toFixed(0)} ms`;

console.log(`load ${load0} → ${loadavg()}\n`);
console.log(`One core's float32 peak, WebAssembly SIMD (12 independent accumulators):\n${markdownTable(['instruction', 'GFLOP/s'], peakRows)}\n`);
console.log(`GEMM, one thread (GFLOP/s; XNNPACK = tfjs wasm conv2d 1x1 including its call overhead):\n${markdownTable(['shape', 'XNNPACK (tfjs wasm)', 'plain relaxed-SIMD 6x8', 'PyTorch conv2d 1x1 (native)'], gemmRows)}\n`);
console.log(`Full YOLOv4 at 416: ${(flops / 1e9).toFixed(1)} GFLOP (2 x multiply-adds). On ${cores} cores, if every FLOP ran at:`);
console.log(markdownTable(['rate', 'time'], [
  [`the mul+add peak (${peakGflops.mulAdd.toFixed(1)} GFLOP/s per core)`, bound(peakGflops.mulAdd)],
  [`the FMA peak (${peakGflops.madd.toFixed(1)} GFLOP/s per core)`, bound(peakGflops.madd)],
]));
process.exit(0);
