/** `yolo4 prune`: its flags; the work (once, --sensitivity or --iterative) is jobs/prune.ts' runPrune. */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { ALLOCATIONS, type GroupReduction, type Importance, type Strategy } from '../prune/index.ts';
import { runPrune } from '../jobs/prune.ts';
import { parseRatios, type PruneJobOptions } from '../jobs/prune-options.ts';
import { DEFAULT_RATIOS } from '../jobs/sensitivity.ts';
import { UsageError } from '../util/errors.ts';
import { useBackend } from './common.ts';
import { FORCE_FLAG } from './import-darknet.ts';
import { INPUT_SIZE_ALIAS, withImgSizeAlias } from './img-size-flag.ts';
import { defineVerb, type GlobalFlags } from './verb.ts';

type PruneArgs = PruneJobOptions & GlobalFlags;

const command = 'prune';
const describe = 'Remove the filters with the smallest L1 norm (Li et al. 2017) and every coupled channel';

function builder(y: Argv) {
  return withImgSizeAlias(y)
    .option('weights', { type: 'string', describe: 'checkpoint directory or PyTorch .pth file to prune' })
    .option('config', { type: 'string', describe: 'instead of --weights: a model config JSON, freshly initialised (to see what a plan does to the architecture)' })
    .option('out', { type: 'string', describe: 'checkpoint directory for the pruned model, new or empty (required unless --dry-run); with --sensitivity or --iterative, a new or empty directory for their tables, plots and checkpoints' })
    .option('force', { ...FORCE_FLAG, describe: 'overwrite an existing checkpoint (or an earlier --sensitivity/--iterative run) at --out; never anything else' })
    .option('layer', { type: 'string', describe: 'prune one conv, by layer name (backbone.conv1.conv) or module prefix (backbone.conv1)' })
    .option('layers', { type: 'string', array: true, describe: "prune a set of convs: names or globs, e.g. 'conv2.*' (repeatable)" })
    .option('all', { type: 'boolean', default: false, describe: 'prune every prunable group (the heads\' output convs are never pruned)' })
    .option('amount', { type: 'number', describe: 'fraction of each group\'s channels to remove, 0..1: floor(amount*n) channels, never all' })
    .option('amounts', { type: 'string', describe: 'JSON file of per-layer amounts, e.g. {"conv2.*": 0.5, "backbone.stages.4.*": 0.2} (last match wins)' })
    .option('strategy', { choices: ['independent', 'greedy'] as const, default: 'greedy' as Strategy, describe: 'independent: rank every layer on the original kernels; greedy: rank in order on the already-shrunk network (kernels on removed maps not counted)' })
    .option('importance', { choices: ['l1', 'l2', 'bn-scale', 'random'] as const, default: 'l1' as Importance, describe: 'filter score: sum |w| (Li et al.), L2 norm, |BN gamma|, or seeded random (baseline)' })
    .option('round-to', { type: 'number', default: 1, describe: 'keep each pruned group\'s channel count a multiple of K' })
    .option('min-channels', { type: 'number', default: 1, describe: 'never leave a group narrower than this (groups already at or below it are not pruned)' })
    .option('exclude', { type: 'string', array: true, describe: 'layers (names or globs) never pruned, in addition to the heads\' output convs' })
    .option('group-reduction', { choices: ['root', 'sum', 'mean', 'max'] as const, default: 'root' as GroupReduction, describe: 'score of a group of convs tied by residual adds: its first conv (root, as in the paper) or a sum/mean/max over all of them' })
    .option('prune-head-inputs', { type: 'boolean', default: false, describe: 'let the heads\' output convs lose input channels (frees yolo_headN.0 for pruning)' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of --importance random' })
    .option('img-size', { type: 'number', describe: 'input size for the FLOPs report, and of evaluation and fine-tuning with --sensitivity/--iterative (default: the model\'s)' })
    .option('input-size', INPUT_SIZE_ALIAS)
    .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan and change nothing' })
    .option('verify', { type: 'boolean', default: true, describe: 'check that the pruned model equals the original with the removed channels silenced (small random input)' })
    .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary instead of the plan' })
    .group(['target-flops', 'target-params', 'target-speedup', 'allocation', 'sensitivity-file', 'amounts-out'], 'Prune to a budget (instead of --amount/--amounts; no scope = --all):')
    .option('target-flops', { type: 'number', describe: 'keep this fraction of the FLOPs (0..1, e.g. 0.5): the first plan of the --allocation order that reaches it' })
    .option('target-params', { type: 'number', describe: 'keep this fraction of the parameters (0..1)' })
    .option('target-speedup', { type: 'number', describe: 'run this many times faster (> 1): latency measured on the active backend, BN folded, at the model\'s input size; searched for in FLOPs' })
    .option('allocation', { choices: ALLOCATIONS, describe: 'how the budget is spread: uniform (one amount for all groups, found by bisection; default), global (all channels ranked together by importance normalised within each group), sensitivity (Li et al.: the steps with the smallest mAP drop per FLOP saved, from --sensitivity-file or measured on --data)' })
    .option('sensitivity-file', { type: 'string', describe: 'sensitivity.json written by `prune --sensitivity` on this model, for --allocation sensitivity' })
    .option('amounts-out', { type: 'string', describe: 'write the per-group amounts the budget chose to this JSON file, reusable with --amounts (default: <out>.amounts.json beside the checkpoint; --iterative writes step-<k>/amounts.json in its --out instead)' })
    .group(['sensitivity', 'data', 'ratios', 'limit', 'proxy', 'proxy-images', 'top'], 'Sensitivity analysis (Li et al. Fig. 2): every group pruned alone at each ratio, evaluated:')
    .option('sensitivity', { type: 'boolean', default: false, describe: 'prune each group (or those of --layer/--layers) alone at each --ratios value and evaluate; writes sensitivity.csv/.json/.png to --out <dir>' })
    .option('data', { type: 'string', describe: 'dataset config JSON: its val split is evaluated (mAP@0.5); --iterative also fine-tunes on its train split' })
    .option('ratios', { type: 'string', describe: `comma-separated fractions to prune, each in [0, 1] (default ${DEFAULT_RATIOS.join(',')})` })
    .option('limit', { type: 'number', describe: 'evaluate only the first n val images' })
    .option('proxy', { type: 'boolean', default: false, describe: 'metric: relative change of the head outputs instead of mAP (used anyway without --data; with --data on its first val images, else on seeded random inputs)' })
    .option('proxy-images', { type: 'number', default: 4, describe: 'number of inputs of the --proxy metric' })
    .option('top', { type: 'number', default: 5, describe: 'print the n most sensitive groups' })
    .group(['iterative', 'steps', 'finetune-epochs', 'max-map-drop', 'metric', 'batch', 'lr0', 'max-batches', 'augment'], 'Iterative prune + fine-tune (--amount is the target after all steps):')
    .option('iterative', { type: 'boolean', default: false, describe: 'prune in --steps steps of 1-(1-amount)^(1/steps) each, fine-tune and evaluate after each; writes step-<k>/checkpoint, best, steps.csv/.json/.png, steps-size.png to --out <dir>' })
    .option('steps', { type: 'number', describe: 'number of prune + fine-tune steps' })
    .option('finetune-epochs', { type: 'number', default: 1, describe: 'fine-tuning epochs per step (0: prune and evaluate only)' })
    .option('max-map-drop', { type: 'number', describe: 'stop after a step whose mAP@0.5 (after fine-tuning) is more than this below the unpruned model\'s (e.g. 0.05); best = the most pruned step within it' })
    .option('metric', { choices: ['AP50', 'AP'] as const, default: 'AP50' as const, describe: 'metric of --max-map-drop and best: mAP@0.5 or mAP@[.5:.95]' })
    .option('batch', { type: 'number', default: 8, describe: 'fine-tuning batch size' })
    .option('lr0', { type: 'number', default: 1e-3, describe: 'fine-tuning learning rate (constant, Li et al.)' })
    .option('max-batches', { type: 'number', default: 0, describe: 'stop each fine-tuning epoch after n batches (0: all)' })
    .option('augment', { type: 'boolean', default: true, describe: 'augmentation while fine-tuning (--no-augment: letterbox only)' })
    // Numeric ranges (--amount, --steps, ...) are checked for every verb in cli/validate-flags.ts.
    .check((a) => {
      const scopes = [a.layer !== undefined, (a.layers?.length ?? 0) > 0, a.all].filter(Boolean).length;
      if (a.sensitivity && a.iterative) throw new UsageError('give only one of --sensitivity, --iterative');
      checkBudgetFlags(a as unknown as BudgetFlags);
      if (scopes > 1) throw new UsageError('give only one of --layer, --layers, --all');
      if (!a.weights === !a.config) throw new UsageError('give --weights <ckpt|.pth> or --config <model.json>');
      if (a.sensitivity) {
        if (a.dryRun) throw new UsageError('--dry-run does not apply to --sensitivity');
        if (!a.out) throw new UsageError('give --out <dir> for the sensitivity table and plots');
        if (a.ratios !== undefined) parseRatios(a.ratios);
        return true;
      }
      const budget = hasBudget(a as BudgetFlags);
      if (budget && (a.amount !== undefined || a.amounts)) throw new UsageError('give a target (--target-flops, --target-params, --target-speedup) or --amount/--amounts, not both');
      if (!budget && scopes === 0 && !a.amounts) throw new UsageError('say what to prune: --layer, --layers, --all or --amounts');
      if (!budget && a.amount === undefined && !a.amounts) throw new UsageError('give --amount (0..1) or --amounts <file.json>');
      if (a.iterative) {
        if (a.dryRun) throw new UsageError('--dry-run does not apply to --iterative (use it without --iterative to see one plan)');
        if (!a.out) throw new UsageError('give --out <dir> for the step checkpoints and the steps table');
        if (!a.data) throw new UsageError('--iterative needs --data <dataset config> (fine-tuning and evaluation)');
        if (a.steps === undefined) throw new UsageError('--iterative needs --steps N (a positive integer)');
        return true;
      }
      if (!a.dryRun && !a.out) throw new UsageError('give --out <dir> for the pruned checkpoint (or --dry-run)');
      return true;
    })
    .example('$0 prune --weights ckpt --layers conv2.0 conv2.1 conv2.2 --amount 0.4 --out pruned', 'the three convs after SPP, greedy')
    .example('$0 prune --weights ckpt --all --amount 0.3 --strategy independent --dry-run', 'print the whole-network plan')
    .example('$0 prune --sensitivity --weights ckpt --data datasets/tinycoco.json --ratios 0.25,0.5,0.75 --out runs/sens', 'per-layer sensitivity (mAP@0.5 vs. fraction pruned)')
    .example('$0 prune --weights ckpt --all --target-flops 0.5 --allocation global --out pruned', 'half the FLOPs, channels ranked across layers; writes pruned.amounts.json')
    .example('$0 prune --weights ckpt --target-flops 0.5 --allocation sensitivity --sensitivity-file runs/sens/sensitivity.json --out pruned', 'half the FLOPs, the least sensitive layers first (Li et al.)')
    .example('$0 prune --iterative --weights ckpt --data datasets/tinycoco.json --all --amount 0.5 --steps 3 --finetune-epochs 2 --max-map-drop 0.05 --out runs/iter', 'prune 50% in 3 steps of 20.6% with fine-tuning');
}

type BudgetFlags = Pick<PruneArgs, 'targetFlops' | 'targetParams' | 'targetSpeedup' | 'allocation' | 'sensitivityFile' | 'amountsOut' | 'sensitivity' | 'data' | 'iterative'>;

const hasBudget = (a: BudgetFlags) =>
  a.targetFlops !== undefined || a.targetParams !== undefined || a.targetSpeedup !== undefined;

/** The budget flags: one target (ranges: validate-flags.ts), and the allocation flags only with a target. */
function checkBudgetFlags(a: BudgetFlags): void {
  const targets = [['--target-flops', a.targetFlops], ['--target-params', a.targetParams], ['--target-speedup', a.targetSpeedup]] as const;
  const given = targets.filter(([, v]) => v !== undefined);
  if (given.length > 1) throw new UsageError(`give only one of ${given.map(([f]) => f).join(', ')}`);
  if (given.length === 0) {
    for (const f of ['allocation', 'sensitivityFile', 'amountsOut'] as const) {
      if (a[f] !== undefined) throw new UsageError(`--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies only with --target-flops, --target-params or --target-speedup`);
    }
    return;
  }
  if (a.iterative && a.targetSpeedup !== undefined) throw new UsageError('--iterative takes --target-flops or --target-params; for a speed-up, prune once with --target-speedup');
  if (a.iterative && a.amountsOut !== undefined) throw new UsageError('--amounts-out does not apply to --iterative (each step writes step-<k>/amounts.json in --out)');
  if (a.sensitivity) throw new UsageError('--sensitivity measures a table; the targets apply to a plain prune or --iterative');
  if (a.sensitivityFile !== undefined && a.allocation !== 'sensitivity') throw new UsageError('--sensitivity-file applies only with --allocation sensitivity');
  if (a.allocation === 'sensitivity' && a.sensitivityFile === undefined && !a.data) throw new UsageError('--allocation sensitivity needs --sensitivity-file <sensitivity.json> (from prune --sensitivity) or --data <dataset config> to measure it');
}

async function handler(argv: ArgumentsCamelCase<PruneArgs>): Promise<void> {
  await useBackend(argv.backend, argv.threads);
  await runPrune(argv);
}

export default defineVerb({ command, describe, builder, handler });
