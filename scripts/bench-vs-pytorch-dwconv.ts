/** Conv2DBackpropFilter: the registered tap kernel vs "weight gradient as one dilated conv". */
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilter } from '../src/backend/conv2d-backprop-filter.ts';
import { median, startBackend, value, loadavg } from './bench-vs-pytorch-util.ts';
await startBackend('wasm', Number(value('threads', '1')));

/** dW for y = conv2d(x, W, stride, pad) with PyTorch-style symmetric pad p (x already padded if needed). */
function dwAsConv(x: tf.Tensor4D, dy: tf.Tensor4D, k: number, stride: number, pad: 'same' | 'valid'): tf.Tensor4D {
  return tf.tidy(() => {
    const [, H, W] = x.shape;
    const [, oh, ow] = dy.shape;
    // TF 'same': total pad = max((oh-1)*s + k - H, 0), top = floor(total/2).
    let xp = x;
    if (pad === 'same') {
      const ph = Math.max((oh - 1) * stride + k - H, 0);
      const pw = Math.max((ow - 1) * stride + k - W, 0);
      xp = tf.pad(x, [[0, 0], [Math.floor(ph / 2), ph - Math.floor(ph / 2)], [Math.floor(pw / 2), pw - Math.floor(pw / 2)], [0, 0]]);
    }
    const a = tf.transpose(xp, [3, 1, 2, 0]); // [ci, Hp, Wp, n]
    const f = tf.transpose(dy, [1, 2, 0, 3]); // [oh, ow, n, co]
    let out = tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid', 'NHWC', stride); // [ci, >=k, >=k, co]
    if (out.shape[1] !== k || out.shape[2] !== k) out = tf.slice(out, [0, 0, 0, 0], [-1, k, k, -1]);
    return tf.transpose(out, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

const cases = [
  { n: 4, h: 128, c: 16, co: 16, k: 3, s: 1, pad: 'same' as const },
  { n: 4, h: 64, c: 32, co: 32, k: 3, s: 1, pad: 'same' as const },
  { n: 4, h: 32, c: 64, co: 64, k: 3, s: 1, pad: 'same' as const },
  { n: 4, h: 16, c: 128, co: 128, k: 3, s: 1, pad: 'same' as const },
  { n: 4, h: 130, c: 16, co: 32, k: 3, s: 2, pad: 'valid' as const },
  { n: 4, h: 64, c: 32, co: 32, k: 1, s: 1, pad: 'same' as const },
  { n: 4, h: 32, c: 128, co: 64, k: 1, s: 1, pad: 'same' as const },
];
for (const c of cases) {
  const x = tf.randomNormal([c.n, c.h, c.h, c.c]) as tf.Tensor4D;
  const w = [c.k, c.k, c.c, c.co] as [number, number, number, number];
  const y = tf.conv2d(x, tf.zeros(w) as tf.Tensor4D, c.s, c.pad);
  const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
  const ref = conv2dBackpropFilter(x, dy, { strides: c.s, pad: c.pad, filterShape: w });
  const alt = dwAsConv(x, dy, c.k, c.s, c.pad);
  const err = tf.tidy(() => tf.max(tf.abs(tf.sub(ref, alt))).dataSync()[0] / tf.max(tf.abs(ref)).dataSync()[0]);
  const t = (f: () => tf.Tensor) => { const ts: number[] = []; for (let i = 0; i < 5; i++) { const t0 = performance.now(); const r = f(); r.dataSync(); r.dispose(); ts.push(performance.now() - t0); } return median(ts); };
  const a = t(() => conv2dBackpropFilter(x, dy, { strides: c.s, pad: c.pad, filterShape: w }));
  const b = t(() => dwAsConv(x, dy, c.k, c.s, c.pad));
  const fwd = t(() => tf.conv2d(x, tf.zeros(w) as tf.Tensor4D, c.s, c.pad));
  console.log(`x [${x.shape}] k${c.k} s${c.s} -> ${c.co}: taps ${a.toFixed(1)} ms, as-conv ${b.toFixed(1)} ms (${(a / b).toFixed(2)}x), forward conv ${fwd.toFixed(1)} ms, rel err ${err.toExponential(1)}`);
  tf.dispose([x, y, dy, ref, alt]);
}
console.log('load', loadavg());
