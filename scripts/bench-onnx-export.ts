/**
 * Time and memory of exportOnnx on the full 80-class YOLOv4 (random weights): export seconds, file
 * size, and the process's RSS before the export and at its peak during it. A benchmark, not a test.
 *
 *   npx tsx scripts/bench-onnx-export.ts [--out model.onnx] [--config configs/yolov4.json]
 *
 * Without --out the file goes to a temporary directory and is deleted afterwards; with it, the file
 * stays (e.g. for scripts/check-onnx-export.py).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { selectBackend } from '../src/backend/select.ts';
import { exportOnnx } from '../src/io/onnx/index.ts';
import { loadConfigFile, resolveConfig } from '../src/model/config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';

const args = process.argv.slice(2);
const value = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

await selectBackend('auto', { quiet: true });
const configFile = value('config');
const config = configFile ? loadConfigFile(configFile) : resolveConfig({});
const built = performance.now();
const model = buildYolov4(config);
const params = model.countParams();
console.log(`built ${config.name} (${(params / 1e6).toFixed(1)} M parameters) in ${((performance.now() - built) / 1000).toFixed(1)} s`);

const keep = value('out');
const dir = keep ? undefined : mkdtempSync(path.join(tmpdir(), 'yolo4-onnx-bench-'));
const file = keep ?? path.join(dir!, 'model.onnx');

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const rssBefore = process.memoryUsage().rss;
let peakRss = rssBefore;
// Sampling misses the peak of a synchronous stretch, so maxRSS (the kernel's own peak) is reported too.
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 10);
const started = performance.now();
try {
  const out = await exportOnnx(model, config, file, { force: true });
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  console.log(`exported ${out.nodes} nodes, ${mb(out.bytes)} (${out.bytes} bytes), opset ${out.opset}, in ${seconds.toFixed(1)} s -> ${file}`);
  console.log(`RSS before export ${mb(rssBefore)}, sampled peak during it ${mb(peakRss)}, process maxRSS ${mb(process.resourceUsage().maxRSS * 1024)}`);
} finally {
  clearInterval(sampler);
  model.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
