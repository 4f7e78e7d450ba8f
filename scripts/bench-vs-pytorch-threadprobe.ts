import * as tf from '@tensorflow/tfjs';
import { enableWasmThreads, wasmThreadsCount } from '../src/speed/wasm-threads.ts';
const n = Number(process.argv[2] ?? 2);
if (n > 1) console.log('enable', await enableWasmThreads({ threads: n }));
await import('@tensorflow/tfjs-backend-wasm');
console.log('setBackend', await tf.setBackend('wasm'));
await tf.ready();
console.log('threads', await wasmThreadsCount(), tf.env().getAsync ? await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') : ''); const b = tf.backend() as any; console.log('PThread', !!b.wasm.PThread, b.wasm.PThread?.unusedWorkers?.length, b.wasm.PThread?.runningWorkers?.length);
const a = tf.randomNormal([1, 104, 104, 64]);
const w = tf.randomNormal([3, 3, 64, 128]);
const f = () => { const t0 = performance.now(); const y = tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'); y.dataSync(); y.dispose(); return performance.now() - t0; };
f();
const ts = Array.from({ length: 10 }, f).sort((x, y) => x - y);
console.log('conv median ms', ts[5].toFixed(1));

