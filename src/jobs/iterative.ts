/**
 * Iterative prune-then-fine-tune (Li et al. 2017, section 3.4, "prune and retrain iteratively"):
 * instead of removing the target fraction at once, N steps each remove a_step of every group's
 * channels (re-ranked on the current, fine-tuned weights), fine-tune E epochs and evaluate.
 *
 *   const r = await iterativePrune(model, config, { all: true, amount: 0.5, steps: 3, finetuneEpochs: 2,
 *     trainSet, valSet, valGroundTruth, maxMapDrop: 0.05, outDir: 'runs/iter' });
 *
 * Amounts compound: a_step = 1 - (1 - target)^(1/N), so a group keeps (1 - a_step)^N = 1 - target of
 * its channels after N steps, up to rounding: each step removes exactly floor(a_step * n_current)
 * channels of a group that has n_current (select.ts), so the final width is n_N with
 * n_{k+1} = n_k - floor(a_step * n_k), never below the one-shot (1 - target) * n (floors keep a few
 * more channels). Per-pattern targets (`amounts`) compound the same way, each with its own a_step.
 *
 * Each step: prune (planPruning + applyPlan on the current model) -> evaluate ("pruned") -> fine-tune
 * E epochs with the fine-tune defaults (DEFAULT_FINETUNE_SETTINGS: constant lr 1e-3, no frozen
 * backbone; `settings` overrides) -> evaluate -> save `step-<k>` (checkpoint with the whole pruning
 * history) -> record params, FLOPs, AP, AP50 in `steps.csv` / `steps.json`, plots `steps.png` (mAP per
 * step) and `steps-size.png` (params and FLOPs left).
 *
 * The metric is mAP@0.5 (`metric: 'AP'` for mAP@[.5:.95]) on the val set, after fine-tuning; the drop
 * of a step is baseline - metric, where the baseline is the unpruned model on the same images.
 * - Early stop: after a step whose drop exceeds `maxMapDrop` no further step runs (that step's
 *   checkpoint is still written and recorded). `maxMapDrop` undefined: never stop early.
 * - `best` (a copy of one step's checkpoint): the LAST, i.e. most pruned, step whose drop is within
 *   `maxMapDrop` (without `maxMapDrop`: the last step). If no step is within the bound, the step with
 *   the highest metric (the least damaged model); `best.reason` says which rule chose it. Only pruned
 *   steps are candidates, never the unpruned input.
 * The input model is not modified or disposed; every model made here is disposed.
 */
import { cacheForSyncReads, withSyncReads } from '../backend/webgpu-sync-read.ts';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { evaluateModelOnDataset } from '../eval/evaluate-model.ts';
import { removeCheckpoint, saveCheckpoint, type PruneHistoryRecord } from '../io/checkpoint.ts';
import { checkOutputFolder, ITERATIVE_FOLDER } from '../io/output-folder.ts';
import type { Yolov4Config } from '../model/config.ts';
import {
  applyPlan, countFlops, countParams, formatBudget, planPruning, planToBudget, type PrunePlan, type RankingOptions,
} from '../prune/index.ts';
import { DEFAULT_FINETUNE_SETTINGS, resolveTrainSettings } from '../train/settings.ts';
import { trainModel } from '../train/trainer.ts';
import { chooseBest } from './iterative-best.ts';
import { plotSteps, stepsCsv } from './iterative-report.ts';
import { JobError, JobOptionError } from './errors.ts';

// The outputs (steps.csv, plots, table) are in iterative-report.ts, the option and result types in
// iterative-types.ts.
export { stepsCsv } from './iterative-report.ts';
export type { IterativeBudget, IterativeHooks, IterativeOptions, IterativeResult, StepRecord } from './iterative-types.ts';
import type { IterativeOptions, IterativeResult, StepRecord } from './iterative-types.ts';

/** Fraction of the original cost kept after step `step` of `steps`: the budget compounds like the amounts. */
export const budgetAfterStep = (ratio: number, step: number, steps: number) => Math.pow(ratio, step / steps);

/** Per-step amount a with (1 - a)^steps = 1 - target. */
export function stepAmount(target: number, steps: number): number {
  if (!(target >= 0 && target < 1)) throw new JobOptionError(`target amount must be in [0, 1), got ${target}`);
  if (!Number.isInteger(steps) || steps < 1) throw new JobOptionError(`steps must be a positive integer, got ${steps}`);
  return 1 - Math.pow(1 - target, 1 / steps);
}

/** Kept channel count of a group of n after `steps` steps at per-step amount a (no roundTo, no fixed channels). */
export function keptAfterSteps(n: number, a: number, steps: number): number {
  let k = n;
  for (let s = 0; s < steps; s++) k -= Math.min(Math.floor(a * k + 1e-9), k - 1);
  return k;
}

export async function iterativePrune(model: tf.LayersModel, config: Yolov4Config, o: IterativeOptions): Promise<IterativeResult> {
  const t0 = performance.now();
  const log = o.hooks?.log ?? (() => {});
  const metric = o.metric ?? 'AP50';
  const maxDrop = o.maxMapDrop ?? Infinity;
  const inputSize = o.inputSize ?? config.inputSize;
  if (o.amount === undefined && !o.amounts && !o.budget) throw new JobOptionError('iterative pruning needs a target amount (or per-layer amounts, or a budget)');
  if (o.budget && (o.amount !== undefined || o.amounts)) throw new JobOptionError('iterative pruning takes a budget or amounts, not both');
  if (o.amount !== undefined && !(o.amount > 0 && o.amount < 1)) throw new JobOptionError(`target amount must be between 0 and 1 (exclusive), got ${o.amount}`);
  if (!Number.isInteger(o.finetuneEpochs) || o.finetuneEpochs < 0) throw new JobOptionError(`finetuneEpochs must be a non-negative integer, got ${o.finetuneEpochs}`);
  if (o.finetuneEpochs > 0 && !o.trainSet) throw new JobOptionError('fine-tuning needs a train set');
  const a = o.amount !== undefined ? stepAmount(o.amount, o.steps) : NaN; // NaN: per-pattern amounts only
  const perPattern = o.amounts ? Object.fromEntries(Object.entries(o.amounts).map(([k, v]) => [k, stepAmount(v, o.steps)])) : undefined;
  for (const ds of [o.valSet, o.trainSet]) {
    if (ds && ds.classNames.length !== config.numClasses) {
      throw new JobError(`the model has ${config.numClasses} classes but the ${ds.split} set of '${ds.name}' has ${ds.classNames.length}`);
    }
  }
  const settings = resolveTrainSettings(DEFAULT_FINETUNE_SETTINGS, { inputSize, valEvery: 0 }, o.settings ?? {}, { epochs: Math.max(1, o.finetuneEpochs) });
  await checkOutputFolder(o.outDir, ITERATIVE_FOLDER, { force: o.force });
  await fs.mkdir(o.outDir, { recursive: true });
  const files = { csv: path.join(o.outDir, 'steps.csv'), json: path.join(o.outDir, 'steps.json'), plot: path.join(o.outDir, 'steps.png'), sizePlot: path.join(o.outDir, 'steps-size.png') };

  const evaluate = async (m: tf.LayersModel, what: string) => {
    const ev = await evaluateModelOnDataset(m, config, o.valSet, {
      inputSize, groundTruth: o.valGroundTruth, limit: o.evalLimit, batchSize: o.evalBatchSize ?? 4,
      onProgress: (d, t) => o.hooks?.onEvalProgress?.(d, t, what),
    });
    return { AP50: ev.result.stats.AP50, AP: ev.result.stats.AP };
  };
  const pick = (r: { AP50: number; AP: number }) => (metric === 'AP50' ? r.AP50 : r.AP);

  const params0 = countParams(model);
  const flops0 = countFlops(model, inputSize).flops;
  log(`baseline: evaluating the unpruned model on ${Math.min(o.evalLimit ?? Infinity, o.valSet.items.length)} val images`);
  const tb = performance.now();
  const m0 = await evaluate(model, 'baseline');
  const baseline: StepRecord = {
    step: 0, amount: 0, cumulative: 0, params: params0, flops: flops0, paramsRatio: 1, flopsRatio: 1,
    AP50Pruned: m0.AP50, APPruned: m0.AP, AP50: m0.AP50, AP: m0.AP, drop: 0, finetuneLoss: NaN, checkpoint: '',
    seconds: (performance.now() - tb) / 1000,
  };
  const base = pick(m0);
  log(`baseline: ${params0.toLocaleString('en-US')} params, ${(flops0 / 1e9).toFixed(3)} GFLOPs, AP50 ${m0.AP50.toFixed(4)}, AP ${m0.AP.toFixed(4)}`);

  const records: StepRecord[] = [];
  let history: PruneHistoryRecord[] = [...(o.pruning ?? [])];
  let current = model;
  let stopped: IterativeResult['stopped'] = 'completed';
  let stopReason = `all ${o.steps} steps done`;
  let best: IterativeResult['best'] = null;
  const write = async () => {
    const result = summary();
    await fs.writeFile(files.csv, stepsCsv([baseline, ...records]));
    const nan = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);
    await fs.writeFile(files.json, JSON.stringify(result, nan, 1));
    await plotSteps(files.plot, files.sizePlot, baseline, records, metric).catch((e: Error) => log(`could not draw ${files.plot}: ${e.message}`));
  };
  const summary = (): IterativeResult => ({
    target: o.budget?.target ?? o.amounts ?? o.amount!, stepAmount: perPattern ?? a, steps: o.steps, finetuneEpochs: o.finetuneEpochs, metric,
    maxMapDrop: Number.isFinite(maxDrop) ? maxDrop : null, baseline, records, stopped, stopReason, best, files,
    seconds: (performance.now() - t0) / 1000,
  });

  try {
    for (let step = 1; step <= o.steps; step++) {
      const ts = performance.now();
      o.hooks?.onStepStart?.(step, o.steps, a);
      // Weights fine-tuned on a GPU become readable for pruning's sync reads (webgpu-sync-read.ts).
      await cacheForSyncReads(current.weights.map((w) => w.read()));
      const ranking: RankingOptions = {
        strategy: o.strategy, importance: o.importance, groupReduction: o.groupReduction, roundTo: o.roundTo, minChannels: o.minChannels,
        exclude: o.exclude, pruneOutputInputs: o.pruneOutputInputs, seed: o.seed,
      };
      let plan: PrunePlan;
      if (o.budget) {
        const { metric: costMetric, ratio } = o.budget.target;
        const sensitivity = o.budget.allocation === 'sensitivity' ? await o.budget.sensitivityFor?.(current, step) : undefined;
        const allocation = o.budget.allocation;
        const r = withSyncReads(() => planToBudget(current, {
          all: o.all, layer: o.layer, layers: o.layers, ...ranking, inputSize, allocation,
          target: { metric: costMetric, ratio: budgetAfterStep(ratio, step, o.steps) }, reference: costMetric === 'flops' ? flops0 : params0,
          sensitivity,
        }));
        plan = r.plan;
        for (const line of formatBudget(r).split('\n')) log(`step ${step}/${o.steps}: ${line}`);
        await fs.mkdir(path.join(o.outDir, `step-${step}`), { recursive: true });
        await fs.writeFile(path.join(o.outDir, `step-${step}`, 'amounts.json'), `${JSON.stringify(r.amounts, null, 1)}\n`);
      } else {
        plan = withSyncReads(() => planPruning(current, { all: o.all, layer: o.layer, layers: o.layers, amount: o.amount !== undefined ? a : 0, amounts: perPattern, ...ranking, inputSize }));
      }
      const finalPlan = plan;
      const { model: pruned, history: h } = withSyncReads(() => applyPlan(current, finalPlan));
      if (current !== model) current.dispose();
      current = pruned;
      history = [...history, ...h];
      const params = countParams(pruned);
      const flops = countFlops(pruned, inputSize).flops;
      log(`step ${step}/${o.steps}: pruned ${plan.groups.length} groups${Number.isFinite(a) ? ` by ${(a * 100).toFixed(2)}%` : ''}: ${plan.paramsBefore.toLocaleString('en-US')} -> ${params.toLocaleString('en-US')} params`);
      let before = { AP50: NaN, AP: NaN };
      if (o.evalBeforeFinetune !== false && o.finetuneEpochs > 0) {
        before = await evaluate(pruned, `step ${step} pruned`);
        log(`step ${step}: after pruning AP50 ${before.AP50.toFixed(4)}, AP ${before.AP.toFixed(4)}`);
      }
      let finetuneLoss = NaN;
      if (o.finetuneEpochs > 0) {
        const runDir = path.join(o.outDir, `step-${step}`, 'finetune');
        const r = await trainModel({
          model: pruned, config, trainSet: o.trainSet!, runDir, settings: { ...settings, epochs: o.finetuneEpochs }, pruning: history,
          source: { kind: 'iterative-finetune', step, from: o.from }, hooks: o.hooks?.train ?? { log },
        });
        finetuneLoss = r.records.at(-1)?.loss ?? NaN;
        if (!o.keepFinetuneCheckpoints) {
          for (const d of ['last', 'best']) await removeCheckpoint(path.join(runDir, d)); // only the trainer's own checkpoints
        }
        if (r.interrupted) {
          stopped = 'interrupted';
          stopReason = `interrupted during the fine-tuning of step ${step}`;
          log(stopReason);
          break;
        }
      }
      const after = await evaluate(pruned, `step ${step}`);
      if (o.finetuneEpochs === 0) before = after;
      const checkpoint = path.join(o.outDir, `step-${step}`, 'checkpoint');
      await saveCheckpoint(checkpoint, pruned, config, {
        pruning: history,
        source: { kind: 'iterative', step, steps: o.steps, stepAmount: perPattern ?? a, target: o.budget?.target ?? o.amounts ?? o.amount, finetuneEpochs: o.finetuneEpochs, from: o.from },
      });
      const record: StepRecord = {
        step, amount: a, cumulative: 1 - Math.pow(1 - a, step), params, flops, paramsRatio: params / params0, flopsRatio: flops / flops0,
        AP50Pruned: before.AP50, APPruned: before.AP, AP50: after.AP50, AP: after.AP, drop: base - pick(after), finetuneLoss, checkpoint,
        seconds: (performance.now() - ts) / 1000,
      };
      records.push(record);
      log(`step ${step}/${o.steps}: ${params.toLocaleString('en-US')} params (${(record.paramsRatio * 100).toFixed(1)}%), ${(flops / 1e9).toFixed(3)} GFLOPs, AP50 ${after.AP50.toFixed(4)}, AP ${after.AP.toFixed(4)} (${metric} drop ${record.drop.toFixed(4)}) in ${record.seconds.toFixed(1)} s`);
      best = await chooseBest(records, maxDrop, metric, path.join(o.outDir, 'best'), best);
      o.hooks?.onStepEnd?.(record);
      const tooFar = record.drop > maxDrop;
      if (tooFar) {
        stopped = 'max-map-drop';
        stopReason = `step ${step}: ${metric} ${pick(after).toFixed(4)} is ${record.drop.toFixed(4)} below the baseline ${base.toFixed(4)} (max drop ${maxDrop})`;
        log(`stopping early: ${stopReason}`);
      }
      await write();
      if (tooFar) break;
    }
  } finally {
    if (current !== model) current.dispose();
  }
  await write();
  return summary();
}
