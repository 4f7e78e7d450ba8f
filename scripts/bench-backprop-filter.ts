/**
 * Times the conv gradient kernels on YOLO-like shapes (YOLOv4 at 0.25 width, 416 input, batch 2):
 *   weight gradient (Conv2DBackpropFilter): ours on wasm, ours on cpu, cpu's own;
 *   input gradient (Conv2DBackpropInput):   ours on wasm, wasm's own.
 * Prints milliseconds (best of --reps runs; cpu's own kernel runs once, and only below --cpu-own-mmac
 * million multiply-adds since it is a plain JS loop that takes minutes on big layers).
 *
 *   node --import tsx scripts/bench-backprop-filter.ts [--reps 3] [--cpu-own-mmac 400] [--quick]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { conv2dBackpropFilter } from '../src/backend/conv2d-backprop-filter.ts';
import { conv2dBackpropInput } from '../src/backend/conv2d-backprop-input.ts';
import { convGeometry } from '../src/backend/conv-taps.ts';
import { builtinKernel, registerTrainingKernels } from '../src/backend/training-kernels.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const reps = arg('reps', 3);
const cpuOwnMmac = arg('cpu-own-mmac', 400);
const quick = process.argv.includes('--quick');

// [input NHWC, kernel, stride, out channels]
const SHAPES: [[number, number, number, number], number, number, number][] = quick ? [
  [[2, 52, 52, 32], 3, 1, 32],
  [[2, 26, 26, 64], 3, 2, 128],
  [[2, 26, 26, 128], 1, 1, 64],
] : [
  [[2, 416, 416, 3], 3, 1, 8],
  [[2, 416, 416, 8], 3, 2, 16],
  [[2, 208, 208, 16], 1, 1, 16],
  [[2, 104, 104, 32], 3, 1, 32],
  [[2, 52, 52, 64], 3, 2, 128],
  [[2, 26, 26, 128], 3, 1, 128],
  [[2, 13, 13, 256], 3, 1, 256],
  [[2, 13, 13, 512], 1, 1, 256],
];

/** Best wall time of `reps` runs (the machine is shared; the minimum is the least noisy). */
function best(run: () => tf.TensorInfo, n = reps): number {
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const out = run();
    tf.backend().readSync(out.dataId); // wait for the result
    min = Math.min(min, performance.now() - t0);
    if (out instanceof tf.Tensor) out.dispose();
    else tf.backend().disposeData(out.dataId);
  }
  return min;
}

async function use(name: 'cpu' | 'wasm'): Promise<void> {
  await tf.setBackend(name);
  await tf.ready();
}

async function main(): Promise<void> {
  await use('wasm');
  registerTrainingKernels('wasm'); // after init, so wasm's own kernels got their setup
  const rows: Record<string, string>[] = [];
  for (const [xShape, k, s, outC] of SHAPES) {
    const filterShape: [number, number, number, number] = [k, k, xShape[3], outC];
    const g = convGeometry(xShape, filterShape, s, 1, 'same', undefined, false);
    const dyShape: [number, number, number, number] = [xShape[0], g.outHeight, g.outWidth, outC];
    const mmac = (g.batch * g.outHeight * g.outWidth * k * k * xShape[3] * outC) / 1e6;
    const x = tf.randomNormal(xShape) as tf.Tensor4D;
    const dy = tf.randomNormal(dyShape) as tf.Tensor4D;
    const f = tf.randomNormal(filterShape) as tf.Tensor4D;
    const fAttrs = { strides: s, pad: 'same' as const, dataFormat: 'NHWC' as const, filterShape };
    const iAttrs = { strides: s, pad: 'same' as const, dataFormat: 'NHWC' as const, inputShape: xShape };
    const row: Record<string, string> = { shape: `${xShape.join('x')} k${k} s${s} ->${outC}`, MMAC: mmac.toFixed(0) };

    await use('wasm');
    row['dW wasm ours'] = best(() => conv2dBackpropFilter(x, dy, fAttrs)).toFixed(1);
    const wasmOwnInput = builtinKernel('Conv2DBackpropInput', 'wasm')!;
    row['dX wasm own'] = best(() => wasmOwnInput.kernelFunc({ inputs: { dy, filter: f }, attrs: iAttrs, backend: tf.backend() }) as tf.TensorInfo).toFixed(1);
    row['dX wasm ours'] = best(() => conv2dBackpropInput(dy, f, iAttrs)).toFixed(1);
    row['fwd wasm'] = best(() => tf.conv2d(x, f, s, 'same')).toFixed(1);

    await use('cpu');
    row['dW cpu ours'] = best(() => conv2dBackpropFilter(x, dy, fAttrs), 1).toFixed(1);
    const cpuOwn = builtinKernel('Conv2DBackpropFilter', 'cpu')!;
    row['dW cpu own'] = mmac > cpuOwnMmac ? '(skipped)' :
      best(() => cpuOwn.kernelFunc({ inputs: { x, dy }, attrs: fAttrs, backend: tf.backend() }) as tf.TensorInfo, 1).toFixed(1);
    tf.dispose([x, dy, f]);
    rows.push(row);
    console.error(`done ${row.shape}`);
  }
  printTable(rows);
}

function printTable(rows: Record<string, string>[]): void {
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((v, i) => (i === 0 ? v.padEnd(width[i]) : v.padStart(width[i]))).join(' | ')} |`;
  console.log(`tfjs ${tf.version_core}, times in ms (best of ${reps}; cpu columns: 1 run)`);
  console.log(line(cols));
  console.log(`|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(cols.map((c) => r[c] ?? '')));
}

await main();
