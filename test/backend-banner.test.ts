import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';

// tfjs's cpu backend prints, on its first tensor under Node, a banner telling users to install
// tfjs-node; selectBackend prints our own backend line instead (issue 11).
const BANNER = /looks like you are running TensorFlow\.js in Node\.js|speed things up dramatically/i;

function child(code: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  return r.stdout + r.stderr;
}

test('selecting wasm, then running tensors on the cpu backend too, prints no tfjs-node banner', () => {
  const out = child(`
    import * as tf from '@tensorflow/tfjs';
    const { selectBackend } = await import('./src/backend/select.ts');
    await selectBackend('wasm');
    tf.tensor([1, 2]).dataSync();
    await tf.setBackend('cpu');
    tf.tensor([3, 4]).dataSync();
    console.log('ran on', tf.getBackend());
  `);
  assert.match(out, /backend: wasm/);
  assert.match(out, /ran on cpu/);
  assert.not.match(out, BANNER);
});

test('tensors made before any selection print no banner either, and other tfjs warnings still show', () => {
  const out = child(`
    import * as tf from '@tensorflow/tfjs';
    await import('./src/backend/select.ts');
    tf.tensor([1, 2]).dataSync();
    // A genuine tfjs warning: registering a kernel that exists.
    const k = tf.getKernelsForBackend('cpu')[0];
    tf.registerKernel(k);
  `);
  assert.not.match(out, BANNER);
  assert.match(out, /already registered/);
});

test('a CLI run on the cpu backend prints our backend line and no banner', () => {
  const r = spawnSync(process.execPath, ['bin/yolo4.js', 'info', '--backend', 'cpu', '--config', 'configs/yolov4-small.json'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /backend: cpu/);
  assert.not.match(r.stdout + r.stderr, BANNER);
});

test.run();
