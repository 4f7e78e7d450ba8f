/**
 * `yolo4 prune --iterative`: prune-then-fine-tune in steps (iterative.ts) with progress bars and
 * Ctrl-C handling (stop after the current batch); prints the steps table and where the best step is.
 */
import cliProgress from 'cli-progress';
import { checkOutputFolder, ITERATIVE_FOLDER } from '../io/output-folder.ts';
import { iterativePrune, stepAmount, type IterativeBudget } from './iterative.ts';
import { budgetTargetOf, hasTarget, measureSensitivityTable, readSensitivityFile } from './prune-budget.ts';
import { JobOptionError } from './errors.ts';
import { formatSteps } from './iterative-report.ts';
import { modelOrigin, openModel } from './open-model.ts';
import { amountsOf, elapsed, openPruneData, rankingOptions, scopeOptions, type PruneJobOptions } from './prune-options.ts';

export async function runIterativeJob(o: PruneJobOptions): Promise<void> {
  await checkOutputFolder(o.out!, ITERATIVE_FOLDER, { force: o.force }); // before any work
  const loaded = await openModel(o);
  const { model, config } = loaded;
  const log = (l: string) => console.error(l);
  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    console.error('\nstopping after the current batch (Ctrl-C again to quit now)');
  };
  process.on('SIGINT', onSigint);
  const bar = new cliProgress.SingleBar({
    format: '  {epoch} |{bar}| {value}/{total} loss {loss} {ips} img/s ETA {eta_formatted}', hideCursor: true,
  }, cliProgress.Presets.shades_classic);
  const evalBar = new cliProgress.SingleBar({ format: '  eval {what} |{bar}| {value}/{total} images' }, cliProgress.Presets.shades_classic);
  try {
    const amounts = await amountsOf(o);
    const data = await openPruneData(o.data!, o.finetuneEpochs > 0, config);
    const steps = o.steps!;
    if (o.amount !== undefined) log(`iterative: target ${o.amount} in ${steps} steps of ${(stepAmount(o.amount, steps) * 100).toFixed(2)}% each, ${o.finetuneEpochs} fine-tuning epoch(s) per step`);
    const { all: allGroups, layer, layers } = scopeOptions(o, amounts);
    let all = allGroups;
    let budget: IterativeBudget | undefined;
    if (hasTarget(o)) {
      if (o.targetSpeedup !== undefined) throw new JobOptionError('--iterative takes --target-flops or --target-params; for a speed-up, prune once with --target-speedup (latency is measured on the pruned model)');
      all ||= !layer && !layers?.length;
      const target = budgetTargetOf(o);
      budget = {
        target, allocation: o.allocation,
        // Step 1 may use the table of the input model; later steps measure the fine-tuned model again.
        sensitivityFor: async (m, step) => (step === 1 && o.sensitivityFile ? readSensitivityFile(o.sensitivityFile) : measureSensitivityTable(m, config, o, data, log)),
      };
      log(`iterative: keep ${target.ratio} of the ${target.metric === 'flops' ? 'FLOPs' : 'parameters'} in ${steps} steps (${target.ratio}^(k/${steps}) after step k), allocation ${o.allocation ?? 'uniform'}, ${o.finetuneEpochs} fine-tuning epoch(s) per step`);
    }
    const r = await iterativePrune(model, config, {
      ...rankingOptions(o), amount: o.amount, amounts, all, layer, layers, budget,
      steps, finetuneEpochs: o.finetuneEpochs, maxMapDrop: o.maxMapDrop, metric: o.metric,
      trainSet: data.train, valSet: data.val, valGroundTruth: data.gt, inputSize: o.imgSize, evalLimit: o.limit,
      settings: { batchSize: o.batch, lr0: o.lr0, lrMin: o.lr0, maxBatchesPerEpoch: o.maxBatches, augment: o.augment },
      outDir: o.out!, force: o.force, pruning: loaded.pruning, from: modelOrigin(o),
      hooks: {
        log,
        onEvalProgress: (done, total, what) => {
          if (done <= Math.min(total, 4) && !evalBar.isActive) evalBar.start(total, 0, { what });
          evalBar.update(done, { what });
          if (done === total) evalBar.stop();
        },
        train: {
          onEpochStart: (epoch, batches) => bar.start(batches, 0, { epoch: `fine-tune epoch ${epoch + 1}/${o.finetuneEpochs}`, loss: '-', ips: '-' }),
          onBatch: (p) => bar.update(p.batch, { loss: p.loss.toFixed(3), ips: p.imagesPerSecond.toFixed(1) }),
          onEpochEnd: () => bar.stop(),
          shouldStop: () => stopRequested,
          log,
        },
      },
    });
    bar.stop();
    if (o.json) {
      console.log(JSON.stringify(r));
      return;
    }
    console.log(formatSteps(r.baseline, r.records));
    console.log(`${r.stopped === 'completed' ? 'done' : `stopped (${r.stopped})`}: ${r.stopReason}`);
    if (r.best) console.log(`best: step ${r.best.step} -> ${r.best.checkpoint} (${r.best.reason})`);
    console.log(`wrote ${r.files.csv}, ${r.files.json}, ${r.files.plot}, ${r.files.sizePlot} in ${elapsed(r.seconds)}`);
  } finally {
    bar.stop();
    evalBar.stop();
    process.off('SIGINT', onSigint);
    model.dispose();
  }
}
