/**
 * What `--resume` may change: the number of epochs (a finished run is extended, its lr schedule
 * re-planned for the new total) and nothing else of the stored settings, apart from `skipBad`
 * (reading, not training). Other training flags would be silently ignored, so they are refused.
 */
import { UsageError } from '../util/errors.ts';
import type { TrainSettings } from './settings.ts';

export interface ResumePlan {
  settings: TrainSettings;
  /** One line when the run is extended or shortened; undefined otherwise. */
  note?: string;
}

/** Flags (as typed, e.g. `--lr0`) given along with --resume that it would ignore, and the ones it accepts. */
export const FLAGS_ACCEPTED_WITH_RESUME = ['--epochs', '--skip-bad', '--data'];

export function refuseIgnoredFlags(given: string[], runDir: string, verb: string): void {
  const ignored = given.filter((f) => !FLAGS_ACCEPTED_WITH_RESUME.includes(f));
  if (!ignored.length) return;
  throw new UsageError(
    `--resume continues ${runDir} with its own settings, so ${ignored.join(', ')} would be ignored; `
    + `drop ${ignored.length > 1 ? 'them' : 'it'}, or start a new run from its weights: yolo4 ${verb} --weights ${runDir}/last --data ... (with the flags you want)`,
  );
}

/**
 * `doneEpochs`: epochs completed (the state's `epoch`); `epochs`: the --epochs given, if any.
 */
export function planResume(stored: TrainSettings, doneEpochs: number, runDir: string, opts: { epochs?: number; skipBad?: boolean; verb: string }): ResumePlan {
  const settings: TrainSettings = { ...stored, skipBad: opts.skipBad ?? stored.skipBad };
  const epochs = opts.epochs ?? stored.epochs;
  if (!Number.isInteger(epochs) || epochs <= 0) throw new UsageError(`--epochs must be a positive integer, got ${epochs}`);
  if (epochs <= doneEpochs) {
    const more = `give --epochs N with N > ${doneEpochs} to train further, or fine-tune from it: yolo4 finetune --weights ${runDir}/last --data ...`;
    if (opts.epochs === undefined) throw new UsageError(`${runDir} already finished its ${stored.epochs} epochs; ${more}`);
    throw new UsageError(`--epochs ${epochs}: ${runDir} has already trained ${doneEpochs} epochs; ${more}`);
  }
  if (epochs === stored.epochs) return { settings };
  settings.epochs = epochs;
  const lr = stored.schedule === 'cosine'
    ? `the cosine lr schedule is re-planned for ${epochs} epochs from step 0, so the lr from here on differs from the original plan`
    : stored.schedule === 'step' ? `the step schedule keeps its milestones (${stored.milestones.join(', ') || 'none'})` : 'the lr stays constant';
  return { settings, note: `${opts.verb}: ${runDir} goes from ${stored.epochs} to ${epochs} epochs; ${lr}` };
}
