// Child process of speed-bn-train.test.ts: the wasm backend's threaded build (2 threads, shared
// heap), where bn-train.ts runs its SIMD passes in place. Prints one JSON line.
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select.ts';
import { enableWasmThreads, wasmThreadsCount } from '../src/speed/wasm-threads.ts';
import { batchNormSimd } from '../src/speed/batch-norm-simd.ts';
import { compareWithLayers } from './_bn-train-run.ts';

await enableWasmThreads({ threads: 2 });
await selectBackend('wasm', { quiet: true });
const results = [[2, 5, 7, 3], [4, 8, 8, 16], [1, 3, 3, 33], [2, 16, 16, 8]].map((shape) => ({
  shape,
  simd: batchNormSimd(tf.backend(), shape[3]) !== null,
  errors: compareWithLayers(shape).errors,
}));
console.log(JSON.stringify({ threads: await wasmThreadsCount(), results }));
process.exit(0);
