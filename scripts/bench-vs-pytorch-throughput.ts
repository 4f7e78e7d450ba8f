/**
 * Throughput of batched inference over many images on 1 vs 2 (or more) cores, three ways:
 *   inproc  one process, tfjs wasm with N XNNPACK threads (src/speed/wasm-threads.ts);
 *   pool    N worker_threads, each a single-threaded wasm backend with a model copy (src/predict/worker-pool.ts).
 * Each configuration runs in its own child process (the wasm backend initializes once per process);
 * configurations are interleaved over --rounds rounds and the median over rounds is reported.
 *
 *   npx tsx scripts/bench-vs-pytorch-throughput.ts [--config configs/yolov4-small.json] [--size 256]
 *       [--images 16] [--batch 16] [--cores 2] [--rounds 3] [--reps 3] [--no-fold]
 * --batch 16 sends all images as one batch (split over the pool's workers); --batch 1 sends them one
 * by one (all in flight at once for the pool, sequential for inproc).
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { loadConfigFile } from '../src/model/config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { foldBatchNorm } from '../src/speed/fold-bn.ts';
import { createInferencePool } from '../src/predict/worker-pool.ts';
import { args, flag, loadavg, markdownTable, median, startBackend, value } from './bench-vs-pytorch-util.ts';

const configPath = value('config', 'configs/yolov4-small.json');
const size = Number(value('size', '256'));
const images = Number(value('images', '16'));
const batch = Number(value('batch', '16'));
const reps = Number(value('reps', '3'));
const fold = !flag('no-fold');

if (!flag('child')) {
  const cores = Number(value('cores', String(os.availableParallelism?.() ?? os.cpus().length)));
  const rounds = Number(value('rounds', '3'));
  const configs = [
    { name: 'inproc', n: 1, label: 'wasm, 1 thread (baseline)' },
    { name: 'inproc', n: cores, label: `wasm, ${cores} threads (threaded build)` },
    { name: 'pool', n: 1, label: 'pool, 1 worker x 1 thread' },
    { name: 'pool', n: cores, label: `pool, ${cores} workers x 1 thread` },
  ];
  const results = configs.map(() => [] as number[]);
  const loads: string[] = [loadavg()];
  for (let r = 0; r < rounds; r++) {
    configs.forEach((c, k) => {
      const out = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args, '--child', '--mode', c.name, '--n', String(c.n)],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      const line = out.stdout.split('\n').find((l) => l.startsWith('MS '));
      if (!line) {
        console.error(`${c.label}: failed (exit ${out.status})\n${out.stdout}`);
        return;
      }
      results[k].push(Number(line.slice(3)));
      console.error(`round ${r}: ${c.label}: ${Number(line.slice(3)).toFixed(0)} ms for ${images} images`);
    });
    loads.push(loadavg());
  }
  const base = median(results[0]);
  console.log(`${configPath} at ${size}, ${images} images, ${batch === 1 ? 'one by one' : `batches of ${batch}`}, ${fold ? 'BN folded' : 'unfolded'}; median of ${rounds} interleaved rounds (each the median of ${reps} reps)`);
  console.log(markdownTable(['configuration', 'time', 'images/s', 'vs 1 thread'], configs.map((c, k) => {
    const ms = median(results[k]);
    return [c.label, `${ms.toFixed(0)} ms`, (images / (ms / 1000)).toFixed(1), `${(base / ms).toFixed(2)}x`];
  })));
  console.log(`\nload (1/5/15 min) at each round boundary: ${loads.join(' | ')}`);
  process.exit(0);
}

const mode = value('mode', 'inproc');
const n = Number(value('n', '1'));
const data = new Float32Array(images * size * size * 3).map((_, i) => ((i * 2654435761) >>> 0) / 2 ** 32);
const timesMs: number[] = [];
await startBackend('wasm', mode === 'inproc' ? n : 1); // before any tensor exists
const model = buildYolov4(loadConfigFile(configPath));
if (mode === 'inproc') {
  const m = fold ? foldBatchNorm(model) : model;
  const once = async () => {
    for (let s = 0; s < images; s += batch) {
      const b = Math.min(batch, images - s);
      const x = tf.tensor4d(data.subarray(s * size * size * 3, (s + b) * size * size * 3), [b, size, size, 3]);
      const outs = m.predict(x) as tf.Tensor[];
      await Promise.all(outs.map((o) => o.data()));
      tf.dispose([x, ...outs]);
    }
  };
  await once();
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await once();
    timesMs.push(performance.now() - t0);
  }
} else {
  const pool = await createInferencePool(model, { workers: n, fold });
  const per = size * size * 3;
  const once = async () => {
    const jobs = [];
    for (let s = 0; s < images; s += batch) {
      const b = Math.min(batch, images - s);
      const part = data.subarray(s * per, (s + b) * per);
      jobs.push(b === 1 ? pool.run(part, [1, size, size, 3]) : pool.predict(part, [b, size, size, 3]));
    }
    await Promise.all(jobs);
  };
  await once();
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await once();
    timesMs.push(performance.now() - t0);
  }
  await pool.close();
}
console.log(`MS ${median(timesMs)}`);
