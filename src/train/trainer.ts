/**
 * The training loop: batches from the loader, YOLOv4 loss, gradients, optimizer step, EMA,
 * validation, results.csv + plot, and atomic checkpoints (`last`, `best`, periodic) that carry the
 * optimizer state and the exact position (epoch, batch, step) so a resumed run continues where the
 * interrupted one stopped.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { createLoader } from '../data/loader.ts';
import { saveCheckpoint } from '../io/checkpoint.ts';
import { evaluateModelOnDataset } from '../eval/evaluate-model.ts';
import type { YoloLossOptions } from './loss.ts';
import { Optimizer } from './optimizer.ts';
import { packTrainerState, unpackTrainerState } from './trainer-state.ts';
import { learningRateAt, scaleLrForBatch, type LrSchedule } from './schedule.ts';
import { ModelEma } from './ema.ts';
import type { TrainSettings } from './settings.ts';
import { trainLoaderOptions, validationLoaderOptions } from './loader-options.ts';
import { datasetInModelClasses } from './dataset-classes.ts';
import { plotResults, readResults, writeResults, type EpochRecord } from './results.ts';
import { pickScale, trainStep } from './train-step.ts';
import { validationLoss } from './validation-loss.ts';
import type { TrainingState, TrainResult, TrainRun } from './trainer-types.ts';
import { TrainingDivergedError, ValidationError } from './errors.ts';

export type { EpochRecord };
export type { BatchProgress, TrainHooks, TrainingState, TrainResult, TrainRun } from './trainer-types.ts';

function scheduleFor(s: TrainSettings, batchesPerEpoch: number): LrSchedule {
  const { lr0, lrMin } = s.scaleLrByBatch ? scaleLrForBatch(s.lr0, s.lrMin, s.batchSize, s.optimizer) : { lr0: s.lr0, lrMin: s.lrMin };
  return {
    kind: s.schedule,
    lr0,
    lrMin,
    totalSteps: s.epochs * batchesPerEpoch,
    warmupSteps: Math.round(s.warmupEpochs * batchesPerEpoch),
    warmupStartFactor: 0.1,
    flatSteps: Math.round(Math.min(s.flatEpochs, s.epochs / 2) * batchesPerEpoch),
    milestones: s.milestones.map((e) => e * batchesPerEpoch),
    gamma: s.gamma,
  };
}

/** Names of the variables this epoch trains: everything, or everything outside the backbone. */
function trainableFor(model: tf.LayersModel, frozenBackbone: boolean) {
  return model.trainableWeights
    .filter((w) => !(frozenBackbone && w.originalName.startsWith('backbone.')))
    .map((w) => ({ name: w.originalName, variable: w.read() as tf.Variable }));
}

export async function trainModel(run: TrainRun): Promise<TrainResult> {
  const { model, config, valSet, runDir, settings: s, hooks = {} } = run;
  const log = hooks.log ?? ((l: string) => console.log(l));
  // Validation repeats its notes (class matching, skipped images) every time: say each once.
  const said = new Set<string>();
  const warnOnce = (m: string) => {
    if (said.has(m)) return;
    said.add(m);
    log(m);
  };
  // Losses need the model's class indices; the val mAP matches classes by name itself.
  const { dataset: trainSet, note } = datasetInModelClasses(run.trainSet, config.classNames);
  if (note) log(note);
  const valLossSet = valSet && datasetInModelClasses(valSet, config.classNames).dataset;
  await fs.mkdir(runDir, { recursive: true });
  await fs.writeFile(path.join(runDir, 'args.json'), JSON.stringify({ settings: s, config: config.name, train: trainSet.source, val: valSet?.source }, null, 1));

  const loader = createLoader(trainSet, trainLoaderOptions(config, s, trainSet.items.length, log));
  const batchesPerEpoch = s.maxBatchesPerEpoch > 0 ? Math.min(s.maxBatchesPerEpoch, loader.batchesPerEpoch) : loader.batchesPerEpoch;
  const schedule = scheduleFor(s, batchesPerEpoch);
  const optimizer = new Optimizer(
    { kind: s.optimizer, momentum: s.momentum, nesterov: s.nesterov, beta1: s.momentum, beta2: 0.999, epsilon: 1e-8, weightDecay: s.weightDecay },
    (name) => name.endsWith('/kernel'), // weight decay on conv weights only
  );
  const ema = s.ema ? new ModelEma(model, s.emaDecay) : undefined;

  const state: TrainingState = run.resume?.state
    ? { ...run.resume.state, settings: s }
    : { epoch: 0, batchInEpoch: 0, step: 0, bestMetric: -Infinity, bestEpoch: -1, metricName: valSet ? 'AP' : 'val_loss', emaUpdates: 0, settings: s };
  if (run.resume?.optimizer) unpackTrainerState(run.resume.optimizer, optimizer, ema, model);

  const csvPath = path.join(runDir, 'results.csv');
  const records: EpochRecord[] = await readResults(csvPath, state.epoch);
  await writeResults(csvPath, records);

  const save = async (name: string, useEma: boolean) => {
    const target = path.join(runDir, name);
    const write = async () => saveCheckpoint(target, model, config, {
      pruning: run.pruning,
      source: run.source,
      training: { ...state, emaUpdates: ema?.updates ?? 0 } as unknown as Record<string, unknown>,
      optimizer: useEma ? undefined : await packTrainerState(optimizer, ema, model),
    });
    if (useEma && ema) await ema.withAveraged(write);
    else await write();
  };

  const lossOpts: YoloLossOptions = {
    anchors: config.anchors,
    anchorMask: config.anchorMask,
    numClasses: config.numClasses,
    inputSize: [s.inputSize, s.inputSize],
    labelSmoothing: s.labelSmoothing,
    focalObj: s.focalObj,
    // Settings from before the gains existed have no field: undefined keeps the reference's.
    boxWeight: s.boxGain || undefined,
    clsWeight: s.clsGain || undefined,
    anchorIouThreshold: s.anchorIouThreshold || undefined,
    // The reference's per-head objectness balance; two-head (tiny) models use its first two values.
    balance: config.anchorMask.length <= 3 ? [0.4, 1, 4].slice(0, config.anchorMask.length) : config.anchorMask.map(() => 1),
  };
  const mosaicEnd = Math.floor(s.mosaicEpochsFraction * s.epochs);
  let interrupted = false;

  for (let epoch = state.epoch; epoch < s.epochs && !interrupted; epoch++) {
    if (s.augment && epoch >= mosaicEnd) loader.setAugment({ mosaic: 0, mixup: 0 });
    const vars = trainableFor(model, epoch < s.freezeEpochs);
    const t0 = performance.now();
    const sums = { loss: 0, box: 0, obj: 0, cls: 0, n: 0 };
    let lr = learningRateAt(schedule, state.step);
    hooks.onEpochStart?.(epoch, batchesPerEpoch);
    let images = 0;
    for await (const batch of loader.epoch(epoch)) {
      if (batch.index < state.batchInEpoch || batch.index >= batchesPerEpoch) {
        // Already trained before the interruption, or past the per-epoch cap.
        batch.images.dispose();
        if (batch.index >= batchesPerEpoch) break;
        continue;
      }
      lr = learningRateAt(schedule, state.step);
      const size = s.multiScale ? pickScale(s.inputSize, s.seed, state.step) : s.inputSize;
      const terms = await trainStep(model, vars, optimizer, batch.images, batch.targets, { ...lossOpts, inputSize: [size, size] }, lr, s.clipGradNorm, size, s.subdivisions);
      batch.images.dispose();
      ema?.update();
      state.step += 1;
      state.batchInEpoch = batch.index + 1;
      images += batch.targets.length;
      sums.loss += terms.total;
      sums.box += terms.box;
      sums.obj += terms.obj;
      sums.cls += terms.cls;
      sums.n += 1;
      hooks.onBatch?.({
        epoch, batch: batch.index + 1, batches: batchesPerEpoch, lr, loss: terms.total, box: terms.box, obj: terms.obj, cls: terms.cls,
        imagesPerSecond: images / ((performance.now() - t0) / 1000),
      });
      if (!Number.isFinite(terms.total)) throw new TrainingDivergedError(`loss became ${terms.total} at epoch ${epoch} batch ${batch.index}; lower the learning rate`);
      if (hooks.shouldStop?.()) {
        interrupted = true;
        break;
      }
    }
    if (interrupted) {
      state.epoch = epoch;
      await save('last', false);
      log(`interrupted: saved a resumable checkpoint at epoch ${epoch}, batch ${state.batchInEpoch} -> ${path.join(runDir, 'last')}`);
      break;
    }

    const n = Math.max(1, sums.n);
    const record: EpochRecord = {
      epoch, loss: sums.loss / n, box: sums.box / n, obj: sums.obj / n, cls: sums.cls / n, lr,
      valLoss: NaN, AP: NaN, AP50: NaN, seconds: 0,
    };
    const last = epoch === s.epochs - 1;
    if (valSet) {
      const runVal = async () => {
        record.valLoss = await validationLoss(model, valLossSet!, lossOpts, validationLoaderOptions(config, s, warnOnce), s.valLimit);
        if (last || (s.valEvery > 0 && (epoch + 1) % s.valEvery === 0)) {
          const ev = await evaluateModelOnDataset(model, config, valSet, {
            inputSize: s.inputSize, groundTruth: run.valGroundTruth, limit: s.valLimit || undefined, onProgress: hooks.onValidationProgress,
            skipBad: s.skipBad, warn: warnOnce,
          });
          record.AP = ev.result.stats.AP;
          record.AP50 = ev.result.stats.AP50;
        }
      };
      try {
        if (ema) await ema.withAveraged(runVal);
        else await runVal();
      } catch (e) {
        // The epoch's training is done: keep it resumable before reporting the failure.
        state.epoch = epoch + 1;
        state.batchInEpoch = 0;
        records.push(record);
        await writeResults(csvPath, records);
        await save('last', false);
        throw new ValidationError(epoch, path.join(runDir, 'last'), e);
      }
    }
    record.seconds = (performance.now() - t0) / 1000;
    records.push(record);
    await writeResults(csvPath, records);
    await plotResults(path.join(runDir, 'results.png'), records).catch((e: Error) => log(`could not draw results.png: ${e.message}`));
    hooks.onEpochEnd?.(record);

    // Best by AP when measured this epoch, else by (lower) validation or training loss.
    const metric = Number.isFinite(record.AP) ? record.AP : -(Number.isFinite(record.valLoss) ? record.valLoss : record.loss);
    const metricName = Number.isFinite(record.AP) ? 'AP' : Number.isFinite(record.valLoss) ? '-val_loss' : '-loss';
    state.epoch = epoch + 1;
    state.batchInEpoch = 0;
    const improved = metricName !== state.metricName || metric > state.bestMetric;
    if (improved) {
      state.bestMetric = metric;
      state.bestEpoch = epoch;
      state.metricName = metricName;
    }
    await save('last', false);
    if (improved) await save('best', true);
    if (s.savePeriod > 0 && (epoch + 1) % s.savePeriod === 0) await save(`epoch-${String(epoch + 1).padStart(3, '0')}`, true);
  }
  optimizer.dispose();
  ema?.dispose();
  return { state, records, interrupted };
}
