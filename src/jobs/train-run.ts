/**
 * `yolo4 train` / `yolo4 finetune`: start or resume a run (train-start.ts), open the dataset, reconcile
 * the model's classes with the dataset's, then train with progress bars and Ctrl-C handling (stop
 * after the batch with a resumable checkpoint). A run that fails before saving leaves no folder behind.
 */
import * as path from 'node:path';
import { existsSync, promises as fs } from 'node:fs';
import cliProgress from 'cli-progress';
import { loadDatasetConfig, openDataset } from '../data/dataset-config.ts';
import type { Dataset } from '../data/types.ts';
import { splitGroundTruth } from '../eval/open-split.ts';
import { hasPlaceholderClassNames, resolveConfig, type Yolov4Config } from '../model/config.ts';
import { buildYolov4 } from '../model/yolov4.ts';
import type { TrainSettings } from '../train/settings.ts';
import { trainModel } from '../train/trainer.ts';
import { datasetInModelClasses } from '../train/dataset-classes.ts';
import { explainWasmAbort, isWasmAbort } from '../train/wasm-abort.ts';
import { JobError, JobOptionError } from './errors.ts';
import type { TrainRunOptions } from './train-options.ts';
import { startRun, type TrainVerb } from './train-start.ts';

/** The config the model trains with: a new model adopts the dataset's classes, given weights keep theirs. */
function reconcileClasses(config: Yolov4Config, newModel: boolean, trainSet: Dataset): Yolov4Config {
  if (newModel) return resolveConfig({ ...config, numClasses: trainSet.classNames.length, classNames: trainSet.classNames });
  if (hasPlaceholderClassNames(config.classNames) && config.numClasses === trainSet.classNames.length) {
    return { ...config, classNames: trainSet.classNames };
  }
  if (hasPlaceholderClassNames(config.classNames)) {
    throw new JobError(`the weights have ${config.numClasses} unnamed classes but the dataset has ${trainSet.classNames.length}; train from a config instead`);
  }
  // Trained in the model's classes (the trainer moves the dataset's class ids); refused here, before a run folder exists.
  datasetInModelClasses(trainSet, config.classNames);
  return config;
}

export async function runTraining(verb: TrainVerb, a: TrainRunOptions, defaults: Partial<TrainSettings>): Promise<void> {
  const runDir = path.resolve(a.resume ?? a.out ?? path.join('runs', `${verb}-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  const started = await startRun(verb, a, defaults, runDir);
  const { pruning, settings, resume, dataPath } = started;
  if (!dataPath) throw new JobOptionError(`${verb} needs --data <dataset config>: ${a.resume} does not record its dataset`);
  const dataConfig = await loadDatasetConfig(dataPath);
  const trainSet = await openDataset(dataConfig, 'train', { skipBad: settings.skipBad });
  const valSet = await openDataset(dataConfig, 'val', { skipBad: settings.skipBad }).catch((e: Error) => {
    console.error(`no validation set (${e.message}); best is chosen by training loss`);
    return undefined;
  });
  const config = reconcileClasses(started.config, !started.model, trainSet);
  const model = started.model ?? buildYolov4(config);
  const valGroundTruth = valSet ? await splitGroundTruth(dataConfig, 'val') : undefined;

  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    console.error('\nstopping after this batch to save a resumable checkpoint (Ctrl-C again to quit now)');
  };
  process.on('SIGINT', onSigint);
  const bar = new cliProgress.SingleBar({
    format: '{epoch} |{bar}| {value}/{total} loss {loss} (box {box} obj {obj} cls {cls}) lr {lr} {ips} img/s ETA {eta_formatted}',
    hideCursor: true,
    clearOnComplete: false,
  }, cliProgress.Presets.shades_classic);
  const valBar = new cliProgress.SingleBar({ format: '  val mAP |{bar}| {value}/{total} images' }, cliProgress.Presets.shades_classic);
  console.error(`${verb}: ${trainSet.items.length} train / ${valSet?.items.length ?? 0} val images, ${config.numClasses} classes, input ${settings.inputSize}, run dir ${runDir}`);
  const newRunDir = !existsSync(runDir);
  try {
    const result = await trainModel({
      model, config, trainSet, valSet, valGroundTruth, runDir, settings, pruning, resume,
      source: { kind: verb, data: path.resolve(dataPath) },
      hooks: {
        onEpochStart: (epoch, batches) => bar.start(batches, 0, { epoch: `epoch ${epoch + 1}/${settings.epochs}`, loss: '-', box: '-', obj: '-', cls: '-', lr: '-', ips: '-' }),
        onBatch: (p) => bar.update(p.batch, {
          loss: p.loss.toFixed(3), box: p.box.toFixed(3), obj: p.obj.toFixed(3), cls: p.cls.toFixed(3), lr: p.lr.toExponential(2), ips: p.imagesPerSecond.toFixed(1),
        }),
        onValidationProgress: (done, total) => {
          if (done <= 4 || done === total) valBar.start(total, done);
          valBar.update(done);
          if (done === total) valBar.stop();
        },
        onEpochEnd: (r) => {
          bar.stop();
          const ap = Number.isFinite(r.AP) ? ` AP ${r.AP.toFixed(4)} AP50 ${r.AP50.toFixed(4)}` : '';
          const vl = Number.isFinite(r.valLoss) ? ` val loss ${r.valLoss.toFixed(4)}` : '';
          console.error(`epoch ${r.epoch + 1}: loss ${r.loss.toFixed(4)}${vl}${ap} (${r.seconds.toFixed(1)} s)`);
        },
        shouldStop: () => stopRequested,
        log: (l) => console.error(l),
      },
    });
    bar.stop();
    if (result.interrupted) {
      // Not finished: `train && next` must not go on.
      console.error(`continue with: yolo4 ${verb} --resume ${path.relative(process.cwd(), runDir) || '.'}`);
      process.exitCode = 130;
    } else {
      console.error(`done: ${path.join(runDir, 'best')} (best ${result.state.metricName} at epoch ${result.state.bestEpoch + 1}), ${path.join(runDir, 'last')}, results.csv, results.png`);
    }
  } catch (e) {
    bar.stop();
    // A run that never saved a checkpoint is no run: do not leave its folder behind.
    if (newRunDir && !existsSync(path.join(runDir, 'last'))) {
      await fs.rm(runDir, { recursive: true, force: true });
      console.error(`removed ${runDir}: no epoch was saved`);
    }
    throw isWasmAbort(e) ? explainWasmAbort(e, settings) : e;
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
    // After a wasm abort the backend is gone and dispose would throw over the real error.
    try { model.dispose(); } catch { /* the backend is dead */ }
  }
}
