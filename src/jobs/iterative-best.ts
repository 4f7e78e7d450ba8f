/** The `best` step of an iterative pruning run (the rule is in iterative.ts' file comment) and its checkpoint copy. */
import { copyCheckpoint } from '../io/checkpoint.ts';
import type { IterativeResult, StepRecord } from './iterative-types.ts';

/** Applies the `best` rule (see the file comment) and copies the chosen step's checkpoint to `dir` when it changed. */
export async function chooseBest(records: StepRecord[], maxDrop: number, metric: 'AP50' | 'AP', dir: string, previous: IterativeResult['best']): Promise<IterativeResult['best']> {
  const within = records.filter((r) => r.drop <= maxDrop);
  let chosen: StepRecord;
  let reason: string;
  if (within.length) {
    chosen = within[within.length - 1];
    reason = Number.isFinite(maxDrop) ? `the most pruned step within the max ${metric} drop of ${maxDrop}` : 'the last step (no max drop given)';
  } else {
    chosen = records.reduce((b, r) => ((metric === 'AP50' ? r.AP50 : r.AP) > (metric === 'AP50' ? b.AP50 : b.AP) ? r : b), records[0]);
    reason = `no step within the max ${metric} drop of ${maxDrop}: the step with the highest ${metric}`;
  }
  // Replaces only a checkpoint of ours at dir, swapped in like a save (crash-safe).
  if (previous?.step !== chosen.step) await copyCheckpoint(chosen.checkpoint, dir);
  return { step: chosen.step, checkpoint: dir, reason };
}
