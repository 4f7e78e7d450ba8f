/**
 * Forward latency of YOLOv4 (full 80-class at 416, and the small config) on each available backend:
 * median of N runs after one warm-up, plus peak RSS. A benchmark, not a test.
 *
 *   npx tsx scripts/bench-forward.ts [--runs 5] [--backends wasm,cpu,webgpu] [--slow]
 *
 * The full model on the pure-JS cpu backend takes minutes per forward; it runs only with --slow.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendChoice } from '../src/backend/select.ts';
import { loadConfigFile } from '../src/model/config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const value = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(value('runs', '5'));
const backends = value('backends', 'tensorflow,wasm,cpu').split(',') as BackendChoice[];

let peakRss = 0;
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 20);

const cases = [
  { name: 'full 80-class', config: 'configs/yolov4.json', size: 416 },
  { name: 'small (x0.25 width)', config: 'configs/yolov4-small.json', size: 416 },
  { name: 'small (x0.25 width)', config: 'configs/yolov4-small.json', size: 256 },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: string[][] = [];
for (const backend of backends) {
  try {
    await selectBackend(backend, { quiet: true });
  } catch (e) {
    console.error(`skip ${backend}: ${(e as Error).message}`);
    continue;
  }
  for (const c of cases) {
    if (tf.getBackend() === 'cpu' && c.name.startsWith('full') && !flag('slow')) {
      rows.push([tf.getBackend(), c.name, String(c.size), 'skipped (--slow)', '', '']);
      continue;
    }
    const model = buildYolov4(loadConfigFile(c.config));
    const input = tf.randomUniform([1, c.size, c.size, 3]);
    peakRss = process.memoryUsage().rss;
    const once = async () => {
      const t0 = performance.now();
      const outs = model.predict(input) as tf.Tensor[];
      await Promise.all(outs.map((o) => o.data()));
      tf.dispose(outs);
      return performance.now() - t0;
    };
    await once(); // warm-up: kernel compilation and weight upload
    const times: number[] = [];
    const n = tf.getBackend() === 'cpu' ? Math.min(runs, 2) : runs;
    for (let i = 0; i < n; i++) times.push(await once());
    rows.push([tf.getBackend(), c.name, String(c.size), `${(median(times) / 1000).toFixed(3)} s`, `${n}`, `${(peakRss / 2 ** 30).toFixed(2)} GiB`]);
    console.error(rows[rows.length - 1].join(' | '));
    input.dispose();
    model.dispose();
  }
}
clearInterval(sampler);
const header = ['backend', 'model', 'input', 'median forward', 'runs', 'process peak RSS so far (wasm memory never shrinks)'];
console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log(`\nload: ${(await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').trim()}`);
