import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { buildYolov4, convWidthsOf, countTrainableParams } from '../src/model/yolov4.ts';
import { loadConfigFile } from '../src/model/config.ts';
import { summarizeModel } from '../src/model/summary.ts';
import {
  applyPlan, buildDependencyGraph, checkExactness, countFlops, countParams, findGroups, formatPlan, planPruning,
} from '../src/prune/index.ts';

const backendModule = './_backend.ts';
if (existsSync(new URL(backendModule, import.meta.url))) await import(backendModule);

const HEADS = ['yolo_head1.1', 'yolo_head2.1', 'yolo_head3.1'];

test('full YOLOv4 (80 classes): the seed case conv2.0/1/2 at L1 0.4 greedy gives 64,363,101 -> 60,438,323', () => {
  const model = buildYolov4(loadConfigFile('configs/yolov4.json'));
  const graph = buildDependencyGraph(model);
  assert.equal(graph.barriers, []);
  assert.equal(graph.outputProducers, HEADS);
  const groups = findGroups(graph);
  // 110 convs, 23 residual adds tie 23 block convs to their stage's split_conv1; the 3 heads' two
  // convs are never pruned.
  assert.is(findGroups(graph, { includeUnprunable: true }).length, 110 - 23);
  assert.is(groups.length, 110 - 23 - 6);
  const stage2 = groups.find((g) => g.root === 'backbone.stages.2.split_conv1.conv')!;
  assert.equal(stage2.producers, [
    'backbone.stages.2.split_conv1.conv',
    ...Array.from({ length: 8 }, (_, b) => `backbone.stages.2.blocks_conv.${b}.block.1.conv`),
  ]);
  assert.is(stage2.n, 128);
  assert.ok(stage2.members.some((m) => m.layer === 'backbone.stages.2.blocks_conv.8.conv' && m.dim === 'in'));

  const plan = planPruning(model, { layers: ['conv2.0', 'conv2.1', 'conv2.2'], amount: 0.4, strategy: 'greedy', importance: 'l1', graph, inputSize: 416 });
  assert.equal(plan.groups.map((g) => [g.root, g.n, g.keep]), [['conv2.0.conv', 512, 308], ['conv2.1.conv', 1024, 615], ['conv2.2.conv', 512, 308]]);
  const deps = plan.groups.map((g) => g.deps.map((d) => `${d.layer} ${d.dim}@${d.offset} ${d.indices.length}`));
  assert.equal(deps, [
    ['conv2.0.conv out@0 204', 'conv2.0.bn bn@0 204', 'conv2.1.conv in@0 204'],
    ['conv2.1.conv out@0 409', 'conv2.1.bn bn@0 409', 'conv2.2.conv in@0 409'],
    ['conv2.2.conv out@0 204', 'conv2.2.bn bn@0 204', 'upsample1.upsample.0.conv in@0 204', 'make_five_conv4.0.conv in@512 204'],
  ]);
  // The concat offset: make_five_conv4.0 reads cat([down_sample2(P4), P5]), P5 at 512.
  const g3 = plan.groups[2];
  assert.equal(g3.deps[3].indices, g3.remove.map((i) => 512 + i));
  assert.is(plan.paramsBefore, 64363101);
  assert.is(plan.paramsAfter, 60438323);
  assert.match(formatPlan(plan), 'Params: 64,363,101 -> 60,438,323 (-3,924,778, -6.10%)');

  const { model: pruned, history } = applyPlan(model, plan);
  assert.is(countParams(pruned), 60438323);
  assert.is(countTrainableParams(pruned), 60438323);
  const widths = convWidthsOf(pruned);
  assert.equal([widths['conv2.0.conv'], widths['conv2.1.conv'], widths['conv2.2.conv']], [308, 615, 308]);
  const s = summarizeModel(pruned, 416);
  assert.equal(HEADS.map((n) => { const l = s.layers.find((x) => x.name === n)!; return [l.outHeight, l.outWidth, l.outChannels]; }),
    [[13, 13, 255], [26, 26, 255], [52, 52, 255]]);
  assert.equal(pruned.outputs.map((o) => o.shape), model.outputs.map((o) => o.shape));
  assert.is(plan.flops!.after, countFlops(pruned, 416).flops);
  assert.is(history.length, 10);
  assert.ok(history.every((h) => h.strategy === 'greedy' && h.amount === 0.4 && h.importance === 'l1'));
  pruned.dispose();
  model.dispose();
});

test('scaled-down YOLOv4: --all at 0.3 is exact (pruned == silenced) in both strategies', () => {
  const model = buildYolov4(loadConfigFile('configs/yolov4-small.json'));
  // Non-trivial BN statistics so no BN is the identity.
  let seed = 1;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const values = layer.weights.map((w) => {
      const shape = w.shape as number[];
      seed++;
      if (w.originalName.endsWith('gamma')) return tf.randomUniform(shape, 0.5, 1.5, 'float32', seed);
      if (w.originalName.endsWith('moving_variance')) return tf.randomUniform(shape, 0.5, 2, 'float32', seed);
      return tf.randomUniform(shape, -0.5, 0.5, 'float32', seed);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
  const graph = buildDependencyGraph(model);
  const input = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 7);
  const picks: number[][][] = [];
  for (const strategy of ['independent', 'greedy'] as const) {
    const before = tf.memory().numTensors;
    const plan = planPruning(model, { all: true, amount: 0.3, strategy, graph, inputSize: 64 });
    assert.is(plan.groups.length, findGroups(graph).length);
    for (const g of plan.groups) assert.is(g.remove.length, Math.floor(0.3 * g.n + 1e-9), g.root);
    const { model: pruned } = applyPlan(model, plan);
    assert.is(countParams(pruned), plan.paramsAfter);
    assert.is(countFlops(pruned, 64).flops, plan.flops!.after);
    const report = checkExactness(model, plan, input, pruned);
    assert.equal(report.outputShapes, [[1, 2, 2, 255], [1, 4, 4, 255], [1, 8, 8, 255]]);
    assert.ok(report.maxAbs > 0.1);
    assert.ok(report.maxAbsDiff < 1e-5, `${strategy}: max |pruned - silenced| = ${report.maxAbsDiff}`);
    pruned.dispose();
    assert.is(tf.memory().numTensors, before, 'no tensors left behind');
    picks.push(plan.groups.map((g) => g.remove));
  }
  // Greedy ranks later layers on the shrunk network, so some choices differ; the first group's cannot.
  assert.equal(picks[0][0], picks[1][0]);
  assert.not.equal(picks[0], picks[1]);
  input.dispose();
  model.dispose();
});

test.run();
