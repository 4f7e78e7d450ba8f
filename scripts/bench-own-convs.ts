/**
 * Our convolutions (src/backend/conv-engine.ts: Winograd for 3x3 stride 1, a direct GEMM for 1x1
 * and strided) against the wasm backend's own XNNPACK kernels on YOLOv4's layer shapes at 416,
 * batch 1, with bias, in one process, alternating, medians. Our GEMM runs on our own threads, so
 * this needs the threaded build (--threads >= 2).
 *
 *   npx tsx scripts/bench-own-convs.ts [--threads 2] [--runs 9]
 */
import * as tf from '@tensorflow/tfjs';
import { setOwnKernels } from '../src/backend/heap-engine.ts';
import { loadavg, markdownTable, startBackend, value } from './bench-vs-pytorch-util.ts';

const threads = Number(value('threads', '2'));
const runs = Number(value('runs', '9'));
const backend = await startBackend('wasm', threads);
const load0 = loadavg();

// [input size, kernel, stride, in channels, out channels]; strided convs get YOLOv4's pad layer's
// output (size + 2) and 'valid', as the model runs them
const layers: [number, number, number, number, number][] = [
  [208, 3, 1, 64, 64], [104, 3, 1, 64, 64], [52, 3, 1, 128, 128], [26, 3, 1, 256, 256], [13, 3, 1, 512, 512], [13, 3, 1, 512, 1024],
  [208, 1, 1, 128, 64], [104, 1, 1, 64, 64], [52, 1, 1, 256, 128], [26, 1, 1, 512, 256], [13, 1, 1, 2048, 512],
  [416, 3, 2, 32, 64], [208, 3, 2, 64, 128], [104, 3, 2, 128, 256], [52, 3, 2, 256, 512], [26, 3, 2, 512, 1024],
];

const median = (a: number[]) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
const rows = layers.map(([size, k, stride, c, cout]) => {
  const inSize = stride > 1 ? size + 2 : size;
  const x = tf.randomNormal([1, inSize, inSize, c]) as tf.Tensor4D;
  const filter = tf.randomNormal([k, k, c, cout]) as tf.Tensor4D;
  const bias = tf.randomNormal([cout]) as tf.Tensor1D;
  const pad = stride > 1 ? 'valid' : 'same';
  const time = () => {
    const t0 = performance.now();
    const y = tf.fused.conv2d({ x, filter, strides: stride, pad, bias });
    const ms = performance.now() - t0; // wasm kernels run synchronously
    y.dispose();
    return ms;
  };
  const ours: number[] = [];
  const xnn: number[] = [];
  for (const on of [true, false]) { setOwnKernels(on); time(); } // warm-up (filters packed once)
  for (let i = 0; i < runs; i++) {
    setOwnKernels(true); ours.push(time());
    setOwnKernels(false); xnn.push(time());
  }
  setOwnKernels(true);
  tf.dispose([x, filter, bias]);
  const out = size / stride;
  const gflop = (2 * out * out * c * cout * k * k) / 1e9;
  const [o, b] = [median(ours), median(xnn)];
  const path = k === 3 && stride === 1 ? 'Winograd' : 'direct GEMM';
  return [`${size}x${size} ${k}x${k}/${stride} ${c}->${cout}`, path, `${b.toFixed(2)} ms (${(gflop / b * 1e3).toFixed(0)})`, `${o.toFixed(2)} ms (${(gflop / o * 1e3).toFixed(0)})`, `${(b / o).toFixed(2)}x`];
});
console.log(`${backend.label}; load ${load0} -> ${loadavg()}; medians of ${runs}, alternating\n`);
console.log(markdownTable(['layer (input, kernel/stride, channels)', 'our path', 'XNNPACK ms (GFLOP/s)', 'ours ms (GFLOP/s)', 'speed-up'], rows));
process.exit(0);
