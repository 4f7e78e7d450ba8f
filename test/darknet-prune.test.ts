import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import {
  countDarknetParams, exportDarknetFiles, importDarknet, importDarknetText, parseDarknetCfg, randomDarknetWeights,
  resolveDarknetNetwork,
} from '../src/io/darknet/index.ts';
import { applyPlan, buildDependencyGraph, checkExactness, countParams, findGroups, planPruning } from '../src/prune/index.ts';

const DIR = 'test/fixtures/darknet';
const FASTEST = `${DIR}/yolo-fastest-1.1`;

function maxDiff(a: tf.Tensor[], b: tf.Tensor[]): number {
  return Math.max(...a.map((x, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(x, b[i]))).dataSync()[0])));
}

/** Prunes every group by 30%, checks pruned == silenced, exports to darknet, re-imports, compares. */
function pruneExportReimport(model: tf.LayersModel, x: tf.Tensor, label: string) {
  const graph = buildDependencyGraph(model);
  assert.equal(graph.barriers, [], `${label}: barriers`);
  const plan = planPruning(model, { all: true, amount: 0.3, graph, inputSize: 320 });
  const { model: pruned } = applyPlan(model, plan);
  const report = checkExactness(model, plan, x, pruned);
  assert.ok(report.maxAbsDiff <= 1e-4, `${label}: pruned vs silenced max |diff| ${report.maxAbsDiff}`);
  assert.ok(report.maxAbs > 0.1, `${label}: outputs are ~0 (${report.maxAbs}), the check would be vacuous`);
  assert.is(countParams(pruned), plan.paramsAfter);

  const { cfgText, weights, network } = exportDarknetFiles(pruned);
  assert.is(countDarknetParams(network).trainable, plan.paramsAfter);
  const again = importDarknetText(cfgText, weights);
  const a = pruned.predict(x) as tf.Tensor[];
  const b = again.model.predict(x) as tf.Tensor[];
  const d = maxDiff(a, b);
  assert.is(d, 0, `${label}: re-imported pruned model differs by ${d}`);
  tf.dispose([...a, ...b]);
  again.model.dispose();
  return { graph, plan, pruned, cfgText, report };
}

test('yolov4-tiny (random weights): route groups are a coupling, all-layer pruning is exact and exports', () => {
  const text = readFileSync(`${DIR}/yolov4-tiny.cfg`, 'utf8');
  const { model } = importDarknetText(text, randomDarknetWeights(resolveDarknetNetwork(parseDarknetCfg(text)), 11));
  assert.is(model.getLayer('split_3').getClassName(), 'ChannelSplit');
  assert.equal([model.getLayer('split_3').getConfig().groups, model.getLayer('split_3').getConfig().groupId], [2, 1]);

  // conv_2 (64 filters) feeds [route] -1 groups=2 group_id=1 and, whole, [route] -6,-1: filter j and
  // j + 32 are one channel of the group, removed together, so both halves keep equal widths.
  const groups = findGroups(buildDependencyGraph(model));
  const g2 = groups.find((g) => g.root === 'conv_2')!;
  assert.is(g2.n, 32);
  assert.equal(g2.members.map((m) => `${m.layer}:${m.dim}@${m.offset}+${m.channels.length}`),
    ['conv_2:out@0+64', 'bn_2:bn@0+64', 'conv_4:in@0+32', 'conv_10:in@0+64']);
  assert.equal(g2.members[0].channels, [...Array.from({ length: 32 }, (_, i) => i), ...Array.from({ length: 32 }, (_, i) => i)]);

  const x = tf.randomUniform([1, 160, 160, 3], 0, 1, 'float32', 5);
  const { plan, pruned, cfgText } = pruneExportReimport(model, x, 'yolov4-tiny');
  const p2 = plan.groups.find((g) => g.root === 'conv_2')!;
  assert.is(p2.keep, 23);
  const d2 = p2.deps.find((d) => d.layer === 'conv_2' && d.dim === 'out')!;
  assert.equal(d2.indices, [...p2.remove, ...p2.remove.map((i) => i + 32)]);
  assert.is(pruned.getLayer('conv_2').getConfig().filters, 46);
  // The exported cfg carries the pruned widths (layer 2 is the third [convolutional]).
  const conv2 = parseDarknetCfg(cfgText).layers[2];
  assert.is(conv2.options.find((o) => o.key === 'filters')!.value, '46');
  // Heads keep 255 filters.
  assert.equal(pruned.outputs.map((o) => o.shape[3]), [255, 255]);
  x.dispose();
  model.dispose();
  pruned.dispose();
});

test('Yolo-Fastest (real weights): depthwise convs, shortcuts, SPP and two-layer routes prune exactly and export', async () => {
  const { model } = await importDarknet(`${FASTEST}/yolo-fastest-1.1.cfg`, `${FASTEST}/yolo-fastest-1.1.weights`);
  const graph = buildDependencyGraph(model);
  const groups = findGroups(graph);
  // conv_1 (1x1) feeds the depthwise conv_2: its channels run through conv_2's depthwise kernel and bn_2
  // into conv_3's input.
  const g1 = groups.find((g) => g.root === 'conv_1')!;
  assert.equal(g1.members.map((m) => `${m.layer}:${m.dim}`), ['conv_1:out', 'bn_1:bn', 'conv_2:depthwise', 'bn_2:bn', 'conv_3:in']);
  // conv_3 and conv_6 are tied by the [shortcut] from=-5 (layer 8), so is everything added to them.
  const g3 = groups.find((g) => g.root === 'conv_3')!;
  assert.equal(g3.producers, ['conv_3', 'conv_6']);
  assert.ok(groups.some((g) => g.producers.length === 6), 'the 48-channel stage ties 6 convs through 5 shortcuts');
  assert.equal(graph.outputProducers, ['conv_120', 'conv_129']);

  const png = await sharp(`${FASTEST}/opencv-reference/dog_input.png`).removeAlpha().raw().toBuffer();
  const x = tf.tidy(() => tf.div(tf.tensor4d(new Uint8Array(png), [1, 320, 320, 3], 'int32').toFloat(), 255));
  const { plan, pruned, cfgText } = pruneExportReimport(model, x, 'Yolo-Fastest');
  assert.is(plan.paramsBefore, 332798);
  assert.ok(plan.paramsAfter < 0.75 * plan.paramsBefore, `${plan.paramsAfter} parameters left`);
  // A pruned depthwise conv writes filters = groups = its channels.
  const sections = parseDarknetCfg(cfgText).layers;
  const dw = sections[2].options;
  const c1 = pruned.getLayer('conv_1').getConfig().filters as number;
  assert.ok(c1 < 8);
  assert.is(dw.find((o) => o.key === 'filters')!.value, String(c1));
  assert.is(dw.find((o) => o.key === 'groups')!.value, String(c1));
  x.dispose();
  model.dispose();
  pruned.dispose();
});

test.run();
