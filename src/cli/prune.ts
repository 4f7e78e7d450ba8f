import { promises as fs } from 'node:fs';
import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs';
import * as tf from '@tensorflow/tfjs';
import { saveCheckpoint, type PruneHistoryRecord } from '../io/checkpoint.ts';
import { loadConfigFile } from '../model/config.ts';
import { buildYolov4, convWidthsOf } from '../model/yolov4.ts';
import { loadWeights } from '../io/load-weights.ts';
import { applyPlan, checkExactness, formatPlan, planPruning, type Importance, type Strategy } from '../prune/index.ts';
import { useBackend } from './common.ts';

interface PruneArgs {
  weights?: string; config?: string; out?: string; layer?: string; layers?: string[]; all: boolean; amount?: number; amounts?: string;
  strategy: Strategy; importance: Importance; roundTo: number; exclude?: string[]; groupReduction: string;
  pruneHeadInputs: boolean; seed: number; inputSize?: number; dryRun: boolean; verify: boolean; json: boolean; backend: string;
}

const command = 'prune';
const describe = 'Remove the filters with the smallest L1 norm (Li et al. 2017) and every coupled channel';

function builder(y: Argv) {
  return y
    .option('weights', { type: 'string', describe: 'checkpoint directory or PyTorch .pth file to prune' })
    .option('config', { type: 'string', describe: 'instead of --weights: a model config JSON, freshly initialised (to see what a plan does to the architecture)' })
    .option('out', { type: 'string', describe: 'checkpoint directory for the pruned model (required unless --dry-run)' })
    .option('layer', { type: 'string', describe: 'prune one conv, by layer name (backbone.conv1.conv) or module prefix (backbone.conv1)' })
    .option('layers', { type: 'string', array: true, describe: "prune a set of convs: names or globs, e.g. 'conv2.*' (repeatable)" })
    .option('all', { type: 'boolean', default: false, describe: 'prune every prunable group (the heads\' output convs are never pruned)' })
    .option('amount', { type: 'number', describe: 'fraction of each group\'s channels to remove, 0..1: floor(amount*n) channels, never all' })
    .option('amounts', { type: 'string', describe: 'JSON file of per-layer amounts, e.g. {"conv2.*": 0.5, "backbone.stages.4.*": 0.2} (last match wins)' })
    .option('strategy', { choices: ['independent', 'greedy'] as const, default: 'greedy' as Strategy, describe: 'independent: rank every layer on the original kernels; greedy: rank in order on the already-shrunk network (kernels on removed maps not counted)' })
    .option('importance', { choices: ['l1', 'l2', 'bn-scale', 'random'] as const, default: 'l1' as Importance, describe: 'filter score: sum |w| (Li et al.), L2 norm, |BN gamma|, or seeded random (baseline)' })
    .option('round-to', { type: 'number', default: 1, describe: 'keep each pruned group\'s channel count a multiple of K' })
    .option('exclude', { type: 'string', array: true, describe: 'layers (names or globs) never pruned, in addition to the heads\' output convs' })
    .option('group-reduction', { choices: ['root', 'sum', 'mean', 'max'], default: 'root', describe: 'score of a group of convs tied by residual adds: its first conv (root, as in the paper) or a sum/mean/max over all of them' })
    .option('prune-head-inputs', { type: 'boolean', default: false, describe: 'let the heads\' output convs lose input channels (frees yolo_headN.0 for pruning)' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of --importance random' })
    .option('input-size', { type: 'number', describe: 'input size for the FLOPs report (default: the model\'s)' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan and change nothing' })
    .option('verify', { type: 'boolean', default: true, describe: 'check that the pruned model equals the original with the removed channels silenced (small random input)' })
    .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary instead of the plan' })
    .check((a) => {
      const scopes = [a.layer !== undefined, (a.layers?.length ?? 0) > 0, a.all].filter(Boolean).length;
      if (scopes === 0 && !a.amounts) throw new Error('say what to prune: --layer, --layers, --all or --amounts');
      if (scopes > 1) throw new Error('give only one of --layer, --layers, --all');
      if (a.amount === undefined && !a.amounts) throw new Error('give --amount (0..1) or --amounts <file.json>');
      if (!a.dryRun && !a.out) throw new Error('give --out <dir> for the pruned checkpoint (or --dry-run)');
      if (!a.weights === !a.config) throw new Error('give --weights <ckpt|.pth> or --config <model.json>');
      if (a.amount !== undefined && !(a.amount > 0 && a.amount < 1)) throw new Error(`--amount must be between 0 and 1 (exclusive), got ${a.amount}`);
      return true;
    })
    .example('$0 prune --weights ckpt --layers conv2.0 conv2.1 conv2.2 --amount 0.4 --out pruned', 'the three convs after SPP, greedy')
    .example('$0 prune --weights ckpt --all --amount 0.3 --strategy independent --dry-run', 'print the whole-network plan');
}

async function readAmounts(file: string): Promise<Record<string, number>> {
  const text = await fs.readFile(file, 'utf8').catch((e: Error) => { throw new Error(`cannot read --amounts file "${file}": ${e.message}`); });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`--amounts file "${file}" is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json) || Object.values(json).some((v) => typeof v !== 'number')) {
    throw new Error(`--amounts file "${file}" must be an object of layer pattern -> amount (number)`);
  }
  return json as Record<string, number>;
}

async function handler(argv: ArgumentsCamelCase<PruneArgs>): Promise<void> {
  await useBackend(argv.backend);
  const loaded = argv.weights
    ? await loadWeights(argv.weights)
    : (() => {
      const config = loadConfigFile(argv.config!);
      return { model: buildYolov4(config), config, pruning: [] as PruneHistoryRecord[] };
    })();
  const { model, config } = loaded;
  const inputSize = argv.inputSize ?? config.inputSize;
  const amounts = argv.amounts ? await readAmounts(argv.amounts) : undefined;
  const plan = planPruning(model, {
    layer: argv.layer, layers: argv.layers, all: argv.all || (amounts !== undefined && !argv.layer && !argv.layers?.length),
    amount: argv.amount ?? (amounts ? 0 : undefined), amounts,
    strategy: argv.strategy, importance: argv.importance, roundTo: argv.roundTo, exclude: argv.exclude,
    groupReduction: argv.groupReduction as never, pruneOutputInputs: argv.pruneHeadInputs, seed: argv.seed, inputSize,
  });
  if (!argv.json) console.log(formatPlan(plan));
  if (argv.dryRun) {
    if (argv.json) console.log(JSON.stringify(summaryJson(plan, convWidthsOf(model), undefined)));
    model.dispose();
    return;
  }
  const { model: pruned, history } = applyPlan(model, plan);
  let verify: { maxAbsDiff: number; maxAbs: number } | undefined;
  if (argv.verify) {
    const size = Math.min(inputSize, 128);
    const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 1);
    verify = checkExactness(model, plan, x, pruned);
    x.dispose();
    const ok = verify.maxAbsDiff <= 1e-3 * Math.max(1, verify.maxAbs);
    if (!argv.json) console.log(`verify: pruned vs silenced original at ${size}x${size}: max |diff| ${verify.maxAbsDiff.toExponential(2)} (outputs up to ${verify.maxAbs.toFixed(3)}) ${ok ? 'OK' : 'MISMATCH'}`);
    if (!ok) throw new Error('the pruned model does not reproduce the silenced original; nothing was saved');
  }
  await saveCheckpoint(argv.out!, pruned, config, {
    pruning: [...loaded.pruning, ...history],
    source: { kind: 'pruned', from: argv.weights ?? argv.config },
  });
  if (argv.json) console.log(JSON.stringify(summaryJson(plan, convWidthsOf(model), verify)));
  else console.log(`${formatWidthChanges(convWidthsOf(model), convWidthsOf(pruned))}\nsaved ${argv.out}`);
  model.dispose();
  pruned.dispose();
}

/** Output widths after the plan: each group's kept count applies to every producer conv in it. */
function widthsAfter(plan: ReturnType<typeof planPruning>, before: Record<string, number>): Record<string, number> {
  const after = { ...before };
  for (const g of plan.groups) {
    for (const d of g.deps) if (d.dim === 'out' && d.layer in after) after[d.layer] = before[d.layer] - d.indices.length;
  }
  return after;
}

function formatWidthChanges(before: Record<string, number>, after: Record<string, number>): string {
  const changed = Object.keys(before).filter((k) => after[k] !== before[k]);
  return [`widths changed (${changed.length} convs):`, ...changed.map((k) => `  ${k}: ${before[k]} -> ${after[k]}`)].join('\n');
}

function summaryJson(plan: ReturnType<typeof planPruning>, before: Record<string, number>, verify?: { maxAbsDiff: number }) {
  const after = widthsAfter(plan, before);
  return {
    strategy: plan.strategy, importance: plan.importance,
    paramsBefore: plan.paramsBefore, paramsAfter: plan.paramsAfter, paramsRemoved: plan.paramsRemoved,
    flopsBefore: plan.flops?.before, flopsAfter: plan.flops?.after,
    layers: Object.keys(before).map((name) => ({ name, before: before[name], after: after[name] })),
    groups: plan.groups.map((g) => ({ root: g.root, n: g.n, keep: g.keep, removed: g.remove })),
    skipped: plan.skipped,
    ...(verify ? { verifyMaxAbsDiff: verify.maxAbsDiff } : {}),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export default { command, describe, builder, handler } as CommandModule<any, any>;
