/**
 * Time of one training step (forward, YOLOv4 loss, backward, optimizer update) of a YOLOv4 built from
 * flags, on random images with a few fixed boxes per image: the median over --steps steps after
 * --warmup steps, and images/s.
 *
 *   node --import tsx scripts/bench-train-step.ts [--width 0.125] [--depth 0.1] [--input 128] [--batch 8]
 *        [--min-channels 8] [--optimizer adam|sgd] [--steps 20] [--backend(s) auto|webgpu|...] [--threads N]
 */
import * as os from 'node:os';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendChoice } from '../src/backend/select.ts';
import { resolveConfig, STANDARD_ANCHORS } from '../src/model/config.ts';
import { summarizeModel } from '../src/model/summary.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { installSpeedups } from '../src/speed/install.ts';
import { enableWasmThreads } from '../src/speed/wasm-threads.ts';
import { DEFAULT_OPTIMIZER, Optimizer } from '../src/train/optimizer.ts';
import { trainStep } from '../src/train/train-step.ts';

const argv = await yargs(hideBin(process.argv))
  .scriptName('bench-train-step')
  .option('width', { type: 'number', default: 0.125, describe: 'width multiplier' })
  .option('depth', { type: 'number', default: 0.1, describe: 'depth multiplier' })
  .option('min-channels', { type: 'number', default: 8, describe: 'no conv narrower than this (0: off)' })
  .option('input', { type: 'number', default: 128, describe: 'input size, a multiple of 32' })
  .option('batch', { type: 'number', default: 8 })
  .option('classes', { type: 'number', default: 3 })
  .option('optimizer', { choices: ['adam', 'sgd'] as const, default: 'adam' as const })
  .option('steps', { type: 'number', default: 20, describe: 'timed steps' })
  .option('warmup', { type: 'number', default: 4, describe: 'untimed steps first' })
  .option('backend', { type: 'string', alias: 'backends', default: 'auto', describe: 'auto | tensorflow | wasm | cpu | webgpu' })
  .option('threads', { type: 'number', describe: 'wasm threads (default: the backend\'s)' })
  .strict()
  .help()
  .parseAsync();

if (argv.threads) await enableWasmThreads({ threads: argv.threads });
const backend = await selectBackend(argv.backend as BackendChoice, { quiet: true });
installSpeedups();
const input = argv.input;
let config = resolveConfig({
  numClasses: argv.classes, inputSize: input, widthMultiplier: argv.width, depthMultiplier: argv.depth,
  anchors: STANDARD_ANCHORS.map(([w, h]) => [(w * input) / 416, (h * input) / 416]),
});
if (argv.minChannels > 0) config = resolveConfig({ ...config, widths: Object.fromEntries(Object.entries(config.widths).map(([n, c]) => [n, Math.max(c, argv.minChannels)])) });
const model = buildYolov4(config);
const vars = model.trainableWeights.map((w) => ({ name: w.originalName, variable: w.read() as tf.Variable }));
const optimizer = new Optimizer({ ...DEFAULT_OPTIMIZER, kind: argv.optimizer, weightDecay: 5e-4 }, (n) => n.endsWith('/kernel'));
const images = tf.randomUniform([argv.batch, input, input, 3]) as tf.Tensor4D;
// Three boxes per image of different sizes, so every head has positives.
const targets = Array.from({ length: argv.batch }, (_, b) => Float32Array.from([
  0.3, 0.3, 0.1, 0.1, b % argv.classes, 0.7, 0.6, 0.3, 0.3, (b + 1) % argv.classes, 0.5, 0.5, 0.8, 0.7, (b + 2) % argv.classes,
]));
const lossOpts = { anchors: config.anchors, anchorMask: config.anchorMask, numClasses: argv.classes, inputSize: [input, input] as [number, number] };

const times: number[] = [];
for (let i = 0; i < argv.warmup + argv.steps; i++) {
  const t = performance.now();
  await trainStep(model, vars, optimizer, images, targets, lossOpts, 1e-3, 0, input);
  if (i >= argv.warmup) times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
const s = summarizeModel(model, input);
console.log(`${backend.name}${backend.detail ? ` (${backend.detail})` : ''}, load ${os.loadavg()[0].toFixed(2)}: ` +
  `${s.params.toLocaleString('en-US')} params, ${(s.flops / 1e9).toFixed(3)} GFLOPs at ${input}, batch ${argv.batch}, ${argv.optimizer}: ` +
  `median step ${median.toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times[times.length - 1].toFixed(0)}), ${((argv.batch * 1000) / median).toFixed(1)} images/s`);
