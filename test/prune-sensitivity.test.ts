import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { generateShapesDataset } from '../src/data/shapes.ts';
import { loadDatasetConfig, openDataset } from '../src/data/dataset-config.ts';
import type { Dataset } from '../src/data/types.ts';
import { loadGroundTruth } from '../src/eval/coco-io.ts';
import { evaluateModelOnDataset } from '../src/eval/evaluate-model.ts';
import { importDarknet } from '../src/io/darknet/index.ts';
import { resolveConfig } from '../src/model/config.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { buildDependencyGraph, findGroups } from '../src/prune/index.ts';
import { analyzeSensitivity, rankSensitivity, sensitivityCsv, writeSensitivity } from '../src/jobs/sensitivity.ts';

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-sens-'));
const config = resolveConfig({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 3, inputSize: 64, classNames: ['circle', 'square', 'triangle'] });
let val: Dataset;
let dataConfigPath: string;

test.before(async () => {
  const r = await generateShapesDataset({ outDir: path.join(work, 'shapes'), train: 4, val: 3, size: 64, seed: 2, format: 'png' });
  dataConfigPath = r.configPath!;
  val = await openDataset(await loadDatasetConfig(dataConfigPath), 'val');
});
test.after(() => rmSync(work, { recursive: true, force: true }));

test('mAP sensitivity: one row per group and ratio, ratio 0 = baseline, params fall with the ratio, nothing leaks, files written', async () => {
  const model = buildYolov4(config);
  const ratios = [0, 0.25, 0.5, 0.75];
  const before = tf.memory().numTensors;
  const progress: number[] = [];
  const r = await analyzeSensitivity(model, config, {
    dataset: val, ratios, layers: ['conv2.*', 'backbone.conv1'], batchSize: 3, onProgress: (d, t) => progress.push(d / t),
  });
  assert.is(tf.memory().numTensors, before, 'tensors leaked');
  assert.is(r.metric, 'map');
  assert.equal(r.groups, ['backbone.conv1.conv', 'conv2.0.conv', 'conv2.1.conv', 'conv2.2.conv']);
  assert.is(r.rows.length, r.groups.length * ratios.length);
  assert.is(progress.length, 1 + r.rows.length);
  assert.is(progress.at(-1), 1);
  for (const g of r.groups) {
    const rows = r.rows.filter((x) => x.group === g);
    assert.equal(rows.map((x) => x.ratio), ratios);
    const zero = rows[0];
    assert.is(zero.removed, 0);
    assert.equal([zero.params, zero.flops, zero.AP50, zero.AP], [r.baseline.params, r.baseline.flops, r.baseline.AP50, r.baseline.AP]);
    for (let i = 1; i < rows.length; i++) {
      assert.is(rows[i].removed, Math.floor(ratios[i] * rows[i].n), `${g} @ ${ratios[i]}`);
      assert.ok(rows[i].params <= rows[i - 1].params && rows[i].flops <= rows[i - 1].flops, `${g}: params must not grow with the ratio`);
      if (rows[i].removed > rows[i - 1].removed) assert.ok(rows[i].params < rows[i - 1].params, `${g}: more channels removed, fewer params`);
      assert.ok(rows[i].AP50 >= 0 && rows[i].AP50 <= 1);
    }
  }
  const conv21 = r.rows.filter((x) => x.group === 'conv2.1.conv');
  assert.equal(conv21.map((x) => x.n), [64, 64, 64, 64]);
  assert.equal(conv21.map((x) => x.removed), [0, 16, 32, 48]);

  const files = await writeSensitivity(r, path.join(work, 'sens'));
  const csv = readFileSync(files.csv, 'utf8').trim().split('\n');
  assert.is(csv[0], 'group,n,ratio,removed,params,flops,AP50,AP,output_change,seconds');
  assert.is(csv.length, 1 + 1 + r.rows.length);
  assert.ok(csv[1].startsWith('(unpruned),0,0,0,'));
  const json = JSON.parse(readFileSync(files.json, 'utf8'));
  assert.is(json.rows.length, r.rows.length);
  assert.is(json.ranking.length, r.groups.length);
  assert.equal(files.plots, [path.join(work, 'sens', 'sensitivity.png')]);
  assert.ok(readFileSync(files.plots[0]).subarray(1, 4).toString() === 'PNG');
  model.dispose();
});

test('proxy sensitivity (no dataset): every prunable group by default, output change 0 at ratio 0 and > 0 when channels go', async () => {
  const model = buildYolov4(config);
  const groups = findGroups(buildDependencyGraph(model));
  const before = tf.memory().numTensors;
  const r = await analyzeSensitivity(model, config, { ratios: [0, 0.5], proxyImages: 2 });
  assert.is(tf.memory().numTensors, before, 'tensors leaked');
  assert.is(r.metric, 'proxy');
  assert.is(r.images, 2);
  assert.equal(r.groups, groups.map((g) => g.root));
  assert.is(r.rows.length, groups.length * 2);
  for (const row of r.rows) {
    if (row.removed === 0) assert.is(row.outputChange, 0);
    else assert.ok(row.outputChange > 0 && Number.isFinite(row.outputChange), `${row.group}: ${row.outputChange}`);
    assert.ok(Number.isNaN(row.AP50));
  }
  const ranked = rankSensitivity(r);
  assert.is(ranked.length, groups.length);
  for (let i = 1; i < ranked.length; i++) assert.ok(ranked[i - 1].score >= ranked[i].score);
  assert.ok(sensitivityCsv(r).split('\n')[1].startsWith('(unpruned),0,0,0,'));
  // More than 8 groups: the top-8 plot plus every group, 8 per page.
  const files = await writeSensitivity(r, path.join(work, 'proxy'));
  assert.is(files.plots.length, 1 + Math.ceil(groups.length / 8));
  for (const p of files.plots) assert.ok(existsSync(p), p);
  model.dispose();
});

test('real model (Yolo-Fastest, COCO) on tinycoco: the ratio-0 row is the plain evaluation, a pruned row is evaluated', async () => {
  const { model, config: yf } = await importDarknet('models/yolo-fastest-1.1/yolo-fastest-1.1.cfg', 'models/yolo-fastest-1.1/yolo-fastest-1.1.weights', { namesFile: 'models/yolo-fastest-1.1/coco.names' });
  const dc = await loadDatasetConfig('datasets/tinycoco.json');
  const ds = await openDataset(dc, 'val');
  const gt = await loadGroundTruth((dc.val as { annotations: string }).annotations);
  const r = await analyzeSensitivity(model, yf, { dataset: ds, groundTruth: gt, layers: ['conv_0'], ratios: [0, 0.5], batchSize: 6 });
  const plain = await evaluateModelOnDataset(model, yf, ds, { groundTruth: gt, batchSize: 6 });
  assert.ok(plain.result.stats.AP50 > 0.05, `AP50 ${plain.result.stats.AP50}`);
  assert.is(r.baseline.AP50, plain.result.stats.AP50);
  assert.is(r.rows[0].AP50, plain.result.stats.AP50);
  assert.equal(r.rows.map((x) => [x.group, x.n, x.removed]), [['conv_0', 8, 0], ['conv_0', 8, 4]]);
  assert.ok(r.rows[1].AP50 !== r.baseline.AP50, 'pruning half the first conv changes the detections');
  model.dispose();
});

test('CLI: prune --sensitivity (proxy without --data, then mAP with --data), bad ratios rejected', () => {
  const cfgFile = path.join(work, 'tiny.json');
  writeFileSync(cfgFile, JSON.stringify({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 3, inputSize: 64, classNames: ['circle', 'square', 'triangle'] }));
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/yolo4.js', ...args], { encoding: 'utf8', env: { ...process.env, YOLO4_BACKEND: 'wasm' } });
  let r = run('prune', '--sensitivity', '--config', cfgFile, '--layers', 'conv2.*', '--ratios', '0.5', '--out', path.join(work, 'cli-proxy'), '--json');
  assert.is(r.status, 0, r.stderr);
  let j = JSON.parse(r.stdout);
  assert.is(j.metric, 'proxy');
  assert.equal(j.ranking.map((g: { group: string }) => g.group).sort(), ['conv2.0.conv', 'conv2.1.conv', 'conv2.2.conv']);
  r = run('prune', '--sensitivity', '--config', cfgFile, '--data', dataConfigPath, '--layer', 'conv2.1', '--ratios', '0.25, 0.5', '--limit', '2', '--out', path.join(work, 'cli-map'));
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /1 group x 2 ratios on 2 val images \(mAP@0\.5\)/);
  assert.match(r.stdout, /conv2\.1\.conv \(64\)/);
  assert.ok(existsSync(path.join(work, 'cli-map', 'sensitivity.png')));
  j = readFileSync(path.join(work, 'cli-map', 'sensitivity.csv'), 'utf8').trim().split('\n');
  assert.is(j.length, 4);
  r = run('prune', '--sensitivity', '--config', cfgFile, '--ratios', '0.5,1.5', '--out', path.join(work, 'bad'));
  assert.is(r.status, 2);
  assert.match(r.stderr, /--ratios must be comma-separated numbers in \[0, 1\]/);
  assert.not.ok(existsSync(path.join(work, 'bad')));
});

test.run();
