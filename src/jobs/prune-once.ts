/**
 * `yolo4 prune` without --sensitivity/--iterative: plan once, print the plan, apply it, check that the
 * pruned model equals the original with the removed channels silenced, save it, print the summary.
 */
import * as tf from '@tensorflow/tfjs';
import { withSyncReads } from '../backend/webgpu-sync-read.ts';
import { checkOutputTarget, saveCheckpoint } from '../io/checkpoint.ts';
import { convWidthsOf } from '../model/yolov4.ts';
import { applyPlan, checkExactness, formatPlan, planPruning } from '../prune/index.ts';
import { JobError } from './errors.ts';
import { modelOrigin, openModel } from './open-model.ts';
import { amountsOf, rankingOptions, scopeOptions, type PruneJobOptions } from './prune-options.ts';
import { budgetJson, formatBudgetJob, hasTarget, planBudgetJob, writeAmounts, type BudgetJobResult } from './prune-budget.ts';
import { formatPruneSummary, formatWidthChanges, summaryJson, type VerifyResult } from './prune-summary.ts';

/** Largest side of the verification input: big enough to reach every layer, small enough to be quick. */
const VERIFY_MAX_SIZE = 128;

export async function pruneOnce(o: PruneJobOptions): Promise<void> {
  // --out is checked before any work, so a refusal costs nothing.
  if (!o.dryRun) await checkOutputTarget(o.out!, { force: o.force });
  const loaded = await openModel(o);
  const { model, config } = loaded;
  const inputSize = o.imgSize ?? config.inputSize;
  let budget: BudgetJobResult | undefined;
  let plan;
  if (hasTarget(o)) {
    budget = await planBudgetJob(model, config, o, inputSize, (l) => console.error(l));
    plan = budget.plan;
  } else {
    const amounts = await amountsOf(o);
    plan = withSyncReads(() => planPruning(model, { ...scopeOptions(o, amounts), ...rankingOptions(o), inputSize }));
  }
  if (!o.json) console.log(formatPlan(plan));
  if (budget) {
    if (!o.json) console.log(formatBudgetJob(budget));
    const file = o.amountsOut ?? (o.dryRun ? undefined : `${o.out!.replace(/[\\/]+$/, '')}.amounts.json`);
    if (file) {
      await writeAmounts(file, budget.amounts, o.force);
      if (!o.json) console.log(`Budget: wrote the per-group amounts to ${file} (reusable with --amounts)`);
    } else if (!o.json) {
      console.log('Budget: per-group amounts not written (give --amounts-out <file.json>)');
    }
  }
  if (o.dryRun) {
    if (o.json) console.log(JSON.stringify({ ...summaryJson(plan, convWidthsOf(model), undefined), ...budgetJson(budget) }));
    else console.log(formatPruneSummary(plan, { dryRun: true }));
    model.dispose();
    return;
  }
  const { model: pruned, history } = withSyncReads(() => applyPlan(model, plan));
  try {
    let verify: VerifyResult | undefined;
    if (o.verify) {
      const size = Math.min(inputSize, VERIFY_MAX_SIZE);
      const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 1);
      const d = withSyncReads(() => checkExactness(model, plan, x, pruned));
      x.dispose();
      verify = { size, ...d, ok: d.maxAbsDiff <= 1e-3 * Math.max(1, d.maxAbs) };
      if (!verify.ok) {
        if (!o.json) console.log(formatPruneSummary(plan, { verify }));
        throw new JobError('the pruned model does not reproduce the silenced original; nothing was saved');
      }
    }
    await saveCheckpoint(o.out!, pruned, config, {
      pruning: [...loaded.pruning, ...history],
      source: { kind: 'pruned', from: modelOrigin(o) },
      overwrite: o.force,
    });
    if (o.json) console.log(JSON.stringify({ ...summaryJson(plan, convWidthsOf(model), verify), ...budgetJson(budget) }));
    else console.log(`${formatWidthChanges(convWidthsOf(model), convWidthsOf(pruned))}\n${formatPruneSummary(plan, { verify, saved: o.out })}`);
  } finally {
    model.dispose();
    pruned.dispose();
  }
}
