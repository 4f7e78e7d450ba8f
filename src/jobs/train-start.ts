/**
 * The start of a `train` / `finetune` run: a new run (weights or a model config, settings from the
 * options) or the resumption of an interrupted one (its checkpoint, settings, optimizer state, dataset).
 */
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { loadCheckpoint, loadOptimizerState, readCheckpointMeta, type PruneHistoryRecord } from '../io/checkpoint.ts';
import { loadWeights } from '../io/load-weights.ts';
import { checkOutputFolder, TRAIN_RUN_FOLDER } from '../io/output-folder.ts';
import { loadConfigFile, type Yolov4Config } from '../model/config.ts';
import type { TrainSettings } from '../train/settings.ts';
import type { TrainingState } from '../train/trainer.ts';
import { planResume, refuseIgnoredFlags } from '../train/resume.ts';
import { JobError, JobOptionError } from './errors.ts';
import { givenFlags, settingsFromFlags, type TrainRunOptions } from './train-options.ts';
import { useBackend } from './use-backend.ts';

/** The model config of a model trained from scratch without --config. */
export const DEFAULT_MODEL_CONFIG = 'configs/yolov4-small.json';

export type TrainVerb = 'train' | 'finetune';

export interface StartedRun {
  /** Undefined for a new model: it is built once the dataset's classes are known. */
  model?: tf.LayersModel;
  config: Yolov4Config;
  pruning: PruneHistoryRecord[];
  settings: TrainSettings;
  resume?: { state: TrainingState; optimizer?: { json: unknown; weights?: Uint8Array } };
  /** The dataset config (a resumed run's own unless --data is given). */
  dataPath?: string;
}

/** Checks the options and the run folder, selects the backend, and loads what the run starts from. */
export async function startRun(verb: TrainVerb, a: TrainRunOptions, defaults: Partial<TrainSettings>, runDir: string): Promise<StartedRun> {
  let model: tf.LayersModel | undefined;
  let config: Yolov4Config;
  let pruning: PruneHistoryRecord[] = [];
  let resume: StartedRun['resume'];
  let settings: TrainSettings;
  let dataPath: string | undefined = a.data;
  if (a.resume) {
    refuseIgnoredFlags(givenFlags(a, ['weights', 'config', 'out', 'force']), a.resume, verb);
    const last = path.join(a.resume, 'last');
    const meta = await readCheckpointMeta(last);
    const state = meta.training as unknown as TrainingState | undefined;
    if (!state?.settings) throw new JobError(`${last} has no training state to resume from`);
    const plan = planResume(state.settings, state.epoch, a.resume, { epochs: a.epochs, skipBad: a.skipBad, verb });
    await useBackend(a.backend, a.threads);
    ({ model } = await loadCheckpoint(last));
    config = meta.config;
    pruning = meta.pruning;
    settings = plan.settings;
    resume = { state, optimizer: await loadOptimizerState(last) };
    // The dataset is in the checkpoint's source (older runs: nowhere, so --data is needed).
    dataPath ??= (meta.source?.data as string | undefined) ?? ((meta.training as Record<string, unknown>).data as string | undefined);
    if (plan.note) console.error(plan.note);
    console.error(`resuming ${a.resume} at epoch ${state.epoch + 1}/${settings.epochs}, batch ${state.batchInEpoch}, step ${state.step}`);
  } else {
    if (verb === 'finetune' && !a.weights) throw new JobOptionError('finetune needs --weights (the pruned checkpoint or .pth to fine-tune)');
    if (!dataPath) throw new JobOptionError(`${verb} needs --data <dataset config>, e.g. datasets/tinycoco.json`);
    await checkOutputFolder(runDir, TRAIN_RUN_FOLDER, { force: a.force });
    await useBackend(a.backend, a.threads);
    if (a.weights) {
      ({ model, config, pruning } = await loadWeights(a.weights));
    } else {
      config = loadConfigFile(a.config || DEFAULT_MODEL_CONFIG);
    }
    settings = settingsFromFlags(a, defaults, a.imgSize ?? config.inputSize);
  }
  return { model, config, pruning, settings, resume, dataPath };
}
