/**
 * Writes what scripts/check-darknet-export.py compares in OpenCV: a full-size 80-class YOLOv4 (the
 * yolov4.cfg structure, seeded random darknet weights, BN statistics spread so that outputs depend on
 * the input), pruned with our pruner, exported to darknet .cfg + .weights, plus one 416 input and our
 * three head outputs (NCHW float32, darknet's head order: stride 8 first).
 *
 *   node --import tsx scripts/check-darknet-export.ts --out /tmp/dk-check [--amount 0.3]
 *   /usr/bin/python3 scripts/check-darknet-export.py /tmp/dk-check
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select.ts';
import {
  exportDarknetFiles, importDarknetText, parseDarknetCfg, randomDarknetWeights, resolveDarknetNetwork,
} from '../src/io/darknet/index.ts';
import { countTrainableParams } from '../src/model/yolov4.ts';
import { applyPlan, planPruning } from '../src/prune/index.ts';
import { value } from './bench-vs-pytorch-util.ts';

const out = value('out', '/tmp/dk-check');
const amount = Number(value('amount', '0.3'));
const size = Number(value('size', '416'));
await selectBackend('wasm', { quiet: true });
mkdirSync(out, { recursive: true });

const cfg = readFileSync('test/fixtures/darknet/yolov4.cfg', 'utf8');
const weights = randomDarknetWeights(resolveDarknetNetwork(parseDarknetCfg(cfg)), 2026);
const { model, config, layout } = importDarknetText(cfg, weights, { inputSize: size });
console.log(`imported yolov4.cfg as ${layout}: ${countTrainableParams(model).toLocaleString('en-US')} parameters`);
const plan = planPruning(model, { all: true, amount, strategy: 'independent', importance: 'l1', inputSize: size });
const { model: pruned } = applyPlan(model, plan);
console.log(`pruned ${amount} of every group: ${countTrainableParams(pruned).toLocaleString('en-US')} parameters`);
const files = exportDarknetFiles(pruned, config);
writeFileSync(join(out, 'pruned.cfg'), files.cfgText);
writeFileSync(join(out, 'pruned.weights'), files.weights);

const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 7);
writeFileSync(join(out, 'input.f32'), Buffer.from((tf.transpose(x, [0, 3, 1, 2]).dataSync() as Float32Array).buffer));
const ys = pruned.predict(x) as tf.Tensor[];
// Ours: stride 32, 16, 8; darknet's [yolo] order: stride 8, 16, 32.
[...ys].reverse().forEach((y, h) => {
  writeFileSync(join(out, `head${h}.f32`), Buffer.from((tf.transpose(y, [0, 3, 1, 2]).dataSync() as Float32Array).buffer));
  console.log(`head ${h}: [${y.shape}] max |y| ${tf.max(tf.abs(y)).dataSync()[0].toFixed(3)}`);
});
console.log(`wrote ${out}/pruned.cfg, pruned.weights, input.f32, head0-2.f32`);
