import * as tf from '@tensorflow/tfjs';
import { startBackend } from './bench-vs-pytorch-util.ts';
await startBackend('wasm', 2);
function transpose2d(src: Float32Array, rows: number, cols: number, dst: Float32Array) {
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        let s = r * cols + c0;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[s++];
      }
    }
  }
}
for (const [R, C] of [[65536, 32], [16384, 32], [65536, 8], [4096, 256]]) {
  const x = tf.randomUniform([R, C]);
  const src = x.dataSync() as Float32Array; const dst = new Float32Array(R * C);
  for (let k = 0; k < 3; k++) {
    let t = performance.now(); for (let i = 0; i < 5; i++) { const y = tf.transpose(x); y.dataSync(); y.dispose(); } const a = (performance.now() - t) / 5;
    t = performance.now(); for (let i = 0; i < 5; i++) transpose2d(src, R, C, dst); const b = (performance.now() - t) / 5;
    if (k === 2) console.log(R, C, 'wasm', a.toFixed(2), 'js', b.toFixed(2));
  }
  x.dispose();
}
