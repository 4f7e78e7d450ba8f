/**
 * tfjs vs PyTorch on the same CPU, same architecture (same parameter count), side by side.
 *
 *   npx tsx scripts/bench-vs-pytorch.ts [--threads 1,2] [--runs 5] [--cases infer,train256,train416]
 *                                       [--no-torch] [--python /usr/bin/python3]
 *
 * For each thread count, a child process starts tfjs (wasm; threaded build when threads > 1, see
 * src/speed/wasm-threads.ts) and, if `python -c 'import torch'` works, a PyTorch server
 * (scripts/torch_yolov4.py, torch.set_num_threads(threads), OMP_WAIT_POLICY=PASSIVE so idle torch
 * threads do not spin while tfjs runs). Runs alternate (tfjs variant A, B, ..., torch; repeat), one
 * warm-up each. Prints a markdown table of medians and ratios with backend, threads and /proc/loadavg.
 *
 * Cases:
 *   infer    full 80-class YOLOv4 at 416, batch 1, inference: tfjs as built, tfjs with BN folded
 *            (src/speed/fold-bn.ts), tfjs folded + fast Mish (src/model/mish-fast.ts), the same model
 *            on ONNX Runtime (`--runtime onnx`: src/predict/onnx-predictor.ts, CPU provider, same
 *            threads; skipped when onnxruntime-node is not installed), PyTorch eval.
 *   train256 / train416   small config (x0.25 width), batch 4, one forward + backward in training
 *            mode (loss = sum of mean squares of the three outputs; no optimizer step on either
 *            side): tfjs as is, tfjs with installSpeedups() (fast BN gradient, fast Mish, 3x3 conv
 *            weight gradient as one conv), PyTorch.
 *            At 416 tfjs runs the batch as micro-batches of 2 (--micro): a batch of 4 needs more than
 *            the 4 GiB a wasm heap can address.
 *   cli      what a user gets: `yolo4 predict --fps --weights <full YOLOv4> --img-size 416 --runs 3`
 *            with default flags and `--threads N` (and with `--runtime onnx`), each a fresh CLI
 *            process on a checkpoint of random weights saved first, its reported inference median
 *            taken; alternating with PyTorch's forward as above.
 * PyTorch is never a dependency: without it the torch columns say "n/a".
 */
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import * as readline from 'node:readline';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { loadConfigFile, headChannels, type Yolov4Config } from '../src/model/config.ts';
import { buildYolov4, countTrainableParams } from '../src/model/yolov4.ts';
import { foldBatchNorm } from '../src/speed/fold-bn.ts';
import { installSpeedups } from '../src/speed/install.ts';
import { OnnxPredictor } from '../src/predict/onnx-predictor.ts';
import { saveCheckpoint } from '../src/io/checkpoint.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { args, flag, fmtS, loadavg, markdownTable, median, startBackend, value } from './bench-vs-pytorch-util.ts';

const runs = Number(value('runs', '5'));
const python = value('python', '/usr/bin/python3');
const cases = value('cases', 'infer,cli,train256,train416').split(',');
const self = fileURLToPath(import.meta.url);

interface Row {
  key: string;
  threads: number;
  backend: string;
  torch: string;
  case: string;
  variant: string;
  ms: number;
  torchMs: number | null;
  params: string;
  load: string;
}

// ---------------------------------------------------------------------------------------------
// Orchestrator: one child per thread count, so each gets a fresh wasm backend.
if (!flag('child')) {
  const threadList = value('threads', `1,${os.availableParallelism?.() ?? os.cpus().length}`)
    .split(',').map(Number).filter((n, i, a) => n >= 1 && a.indexOf(n) === i);
  const rows: Row[] = [];
  for (const t of threadList) {
    const childArgs = ['--import', 'tsx', self, '--child', '--threads', String(t), ...args.filter((a, i) => !(a === '--threads' || args[i - 1] === '--threads'))];
    console.error(`== ${t} thread(s): node ${childArgs.slice(2).join(' ')}`);
    const r = spawnSync(process.execPath, childArgs, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 24 });
    // Rows arrive one per finished case, so a crash (e.g. the 4 GiB wasm heap) keeps the others.
    const got = r.stdout.split('\n').filter((l) => l.startsWith('ROW ')).map((l) => JSON.parse(l.slice(4)) as Row);
    rows.push(...got);
    if (r.status !== 0) {
      const doneCases = new Set(got.map((g) => g.key));
      const failed = cases.filter((c) => !doneCases.has(c));
      console.error(`child for ${t} thread(s) exited with ${r.status ?? r.signal}: no result for ${failed.join(', ')}`);
      for (const c of failed) {
        rows.push({ key: c, threads: t, backend: '', torch: '', case: c, variant: `failed (exit ${r.status ?? r.signal}; wasm heap is limited to 4 GiB)`, ms: NaN, torchMs: null, params: '', load: loadavg() });
      }
    }
  }
  const header = ['threads', 'case', 'variant', 'tfjs median', 'PyTorch median', 'tfjs / PyTorch', 'params (tfjs = torch)', 'load before→after'];
  const body = rows.map((r) => [
    String(r.threads), r.case, r.variant, Number.isFinite(r.ms) ? fmtS(r.ms) : 'n/a', r.torchMs === null ? 'n/a' : fmtS(r.torchMs),
    r.torchMs === null || !Number.isFinite(r.ms) ? 'n/a' : `${(r.ms / r.torchMs).toFixed(1)}x`, r.params, r.load,
  ]);
  console.log(markdownTable(header, body));
  const b = rows[0];
  if (b) console.log(`\ntfjs: ${[...new Set(rows.map((r) => r.backend).filter(Boolean))].join('; ')}. PyTorch: ${[...new Set(rows.map((r) => r.torch).filter(Boolean))].join('; ')}. ` +
    `${runs} alternating runs after one warm-up, medians. Machine: ${os.cpus().length} logical CPUs, ${os.cpus()[0]?.model ?? ''}; Node ${process.version}.`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Child: one thread count.
const threads = Number(value('threads', '1'));
const backend = await startBackend('wasm', threads);

/** The PyTorch server, or null when torch is not importable. */
class Torch {
  private lines: AsyncIterableIterator<string>;
  private constructor(private proc: ChildProcessByStdio<Writable, Readable, null>) {
    this.lines = readline.createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  }
  static async start(threads: number): Promise<Torch | null> {
    if (flag('no-torch')) return null;
    const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.error(`PyTorch not available (${python} -c 'import torch' failed): torch columns will be n/a`);
      return null;
    }
    const script = fileURLToPath(new URL('./torch_yolov4.py', import.meta.url));
    const proc = spawn(python, [script], {
      env: { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    return new Torch(proc);
  }
  async call(msg: object): Promise<Record<string, unknown>> {
    this.proc.stdin.write(`${JSON.stringify(msg)}\n`);
    const { value: line, done } = await this.lines.next();
    if (done) throw new Error('PyTorch server exited');
    const res = JSON.parse(line) as Record<string, unknown>;
    if (res.error) throw new Error(`PyTorch: ${String(res.error)}`);
    return res;
  }
  quit() {
    this.proc.stdin.write('{"cmd":"quit"}\n');
    this.proc.stdin.end();
  }
}

const torch = await Torch.start(threads);
const torchInfo = torch ? await torch.call({ cmd: 'info' }) : null;
const torchLabel = torchInfo ? `PyTorch ${String(torchInfo.torch)} CPU (${threads} thread${threads === 1 ? '' : 's'})` : 'not available';

async function torchBuild(config: Yolov4Config): Promise<number | null> {
  if (!torch) return null;
  const r = await torch.call({ cmd: 'build', widths: config.widths, blocks: config.blocks, head: headChannels(config), threads });
  return Number(r.params);
}

type Variant = { name: string; setup?: () => void; run: () => Promise<void> };

/** Alternating runs of tfjs variants and torch; returns medians. */
async function alternate(variants: Variant[], torchMsg: object | null): Promise<{ ms: number[]; torchMs: number | null }> {
  const times: number[][] = variants.map(() => []);
  const torchTimes: number[] = [];
  for (let i = 0; i <= runs; i++) { // i = 0 is the warm-up
    for (let v = 0; v < variants.length; v++) {
      variants[v].setup?.();
      const t0 = performance.now();
      await variants[v].run();
      if (i > 0) times[v].push(performance.now() - t0);
    }
    if (torch && torchMsg) {
      const r = await torch.call(torchMsg);
      if (i > 0) torchTimes.push(Number(r.ms));
    }
    console.error(`  run ${i}${i === 0 ? ' (warm-up)' : ''}: ${variants.map((v, k) => `${v.name} ${fmtS(times[k].at(-1) ?? NaN)}`).join(', ')}${torchTimes.length ? `, torch ${fmtS(torchTimes.at(-1)!)}` : ''}`);
  }
  return { ms: times.map(median), torchMs: torchTimes.length ? median(torchTimes) : null };
}

const emit = (row: Row) => console.log(`ROW ${JSON.stringify(row)}`);
const plain = () => installSpeedups({ bnGrad: false, mish: false, convFilterGrad: false });
const fast = () => installSpeedups({ bnGrad: true, mish: true, convFilterGrad: true });

for (const c of cases) {
  const load0 = loadavg();
  if (c === 'infer') {
    const config = loadConfigFile('configs/yolov4.json');
    const model = buildYolov4(config);
    const folded = foldBatchNorm(model);
    const x = tf.randomUniform([1, 416, 416, 3]);
    const fwd = (m: tf.LayersModel) => async () => {
      const outs = m.predict(x) as tf.Tensor[];
      await Promise.all(outs.map((o) => o.data()));
      tf.dispose(outs);
    };
    const tp = await torchBuild(config);
    const p = countTrainableParams(model);
    const ort = await OnnxPredictor.create(model, config, { inputSize: 416, threads }).catch((e: Error) => {
      console.error(`  onnxruntime: not measured (${e.message})`);
      return null;
    });
    const variants: Variant[] = [
      { name: 'as built', setup: plain, run: fwd(model) },
      { name: 'BN folded', setup: plain, run: fwd(folded) },
      { name: 'BN folded + fast Mish', setup: fast, run: fwd(folded) },
    ];
    if (ort) {
      variants.push({ name: 'ONNX Runtime (CPU)', run: async () => tf.dispose(await ort.predictAsync(x as tf.Tensor4D)) });
    }
    const r = await alternate(variants, { cmd: 'forward', size: 416, batch: 1 });
    ort?.dispose();
    const params = `${p.toLocaleString('en-US')}${tp === null ? '' : tp === p ? ' (=)' : ` (torch ${tp.toLocaleString('en-US')}!)`}`;
    const load = `${load0} → ${loadavg()}`;
    variants.map((v) => v.name).forEach((name, k) => emit({
      key: c, threads: backend.threads, backend: backend.label, torch: torchLabel, case: 'full 80-class, 416, batch 1, inference',
      variant: name, ms: r.ms[k], torchMs: r.torchMs, params, load,
    }));
    tf.dispose(x);
    model.dispose();
    folded.dispose();
  } else if (c === 'cli') {
    const config = loadConfigFile('configs/yolov4.json');
    const dir = mkdtempSync(join(os.tmpdir(), 'bench-cli-'));
    const weights = join(dir, 'full-yolov4');
    const model = buildYolov4(config);
    await saveCheckpoint(weights, model, config);
    const params = countTrainableParams(model);
    model.dispose();
    const torchParams = await torchBuild(config);
    const bin = fileURLToPath(new URL('../bin/yolo4.js', import.meta.url));
    const runtimes = [['tfjs'], ['onnx', '--runtime', 'onnx']];
    const times: number[][] = runtimes.map(() => []);
    const torchTimes: number[] = [];
    for (let i = 0; i <= runs; i++) { // i = 0 is the warm-up
      runtimes.forEach(([name, ...extra], k) => {
        const r = spawnSync(process.execPath, [bin, 'predict', '--fps', '--weights', weights, '--img-size', '416', '--runs', '3', '--threads', String(threads), ...extra], { encoding: 'utf8' });
        const m = /inference ([\d.]+) ms/.exec(`${r.stdout}\n${r.stderr}`);
        if (r.status !== 0 || !m) throw new Error(`yolo4 predict --fps (${name}) failed: ${r.stderr.slice(-800)}`);
        if (i > 0) times[k].push(Number(m[1]));
      });
      if (torch) {
        const r = await torch.call({ cmd: 'forward', size: 416, batch: 1 });
        if (i > 0) torchTimes.push(Number(r.ms));
      }
      console.error(`  run ${i}${i === 0 ? ' (warm-up)' : ''}: ${runtimes.map(([name], k) => `${name} ${fmtS(times[k].at(-1) ?? NaN)}`).join(', ')}${torchTimes.length ? `, torch ${fmtS(torchTimes.at(-1)!)}` : ''}`);
    }
    rmSync(dir, { recursive: true, force: true });
    runtimes.forEach(([name], k) => emit({
      key: c, threads, backend: backend.label, torch: torchLabel, case: 'full 80-class, 416, batch 1, `yolo4 predict --fps` (inference median of 3)',
      variant: `runtime ${name}, default flags`, ms: median(times[k]), torchMs: torchTimes.length ? median(torchTimes) : null,
      params: `${params.toLocaleString('en-US')}${torchParams === null ? '' : torchParams === params ? ' (=)' : ` (torch ${torchParams})`}`, load: `${load0} → ${loadavg()}`,
    }));
  } else if (c === 'train256' || c === 'train416') {
    const size = c === 'train256' ? 256 : 416;
    const batch = Number(value('batch', '4'));
    const config = loadConfigFile('configs/yolov4-small.json');
    const model = buildYolov4(config);
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    // The wasm heap is 32-bit (4 GiB): a batch of 4 at 416 needs ~5 GiB in one step, so large
    // inputs run as micro-batches whose gradients are summed (same work; BN statistics per micro-batch).
    const micro = Math.min(batch, Number(value('micro', size >= 416 ? '2' : String(batch))));
    const x = tf.randomUniform([batch, size, size, 3]);
    const step = async () => {
      let acc: tf.NamedTensorMap | undefined;
      for (let s = 0; s < batch; s += micro) {
        const xb = tf.slice(x, [s, 0, 0, 0], [Math.min(micro, batch - s), -1, -1, -1]);
        const { value: loss, grads } = tf.variableGrads(() => {
          const outs = model.apply(xb, { training: true }) as tf.Tensor[];
          return tf.addN(outs.map((o) => tf.mean(tf.square(o)))) as tf.Scalar;
        }, vars);
        await loss.data();
        tf.dispose([loss, xb]);
        if (!acc) acc = grads;
        else {
          const prev: tf.NamedTensorMap = acc;
          acc = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.add(prev[k], g)]));
          tf.dispose([...Object.values(prev), ...Object.values(grads)]);
        }
      }
      tf.dispose(Object.values(acc ?? {}));
    };
    const tp = await torchBuild(config);
    const p = countTrainableParams(model);
    const r = await alternate([
      { name: 'as is', setup: plain, run: step },
      { name: 'installSpeedups (BN grad, Mish, conv dW)', setup: fast, run: step },
    ], { cmd: 'train', size, batch });
    const params = `${p.toLocaleString('en-US')}${tp === null ? '' : tp === p ? ' (=)' : ` (torch ${tp.toLocaleString('en-US')}!)`}`;
    const load = `${load0} → ${loadavg()}`;
    ['as is', 'installSpeedups (BN grad, Mish, conv dW)'].forEach((name, k) => emit({
      key: c, threads: backend.threads, backend: backend.label, torch: torchLabel,
      case: `small (x0.25), ${size}, batch ${batch}${micro < batch ? ` (tfjs: ${batch / micro} x ${micro})` : ''}, train fwd+bwd`, variant: name, ms: r.ms[k], torchMs: r.torchMs, params, load,
    }));
    tf.dispose(x);
    model.dispose();
  } else {
    console.error(`unknown case '${c}' (infer, train256, train416)`);
  }
}
plain();
torch?.quit();
