/** `yolo4 prune` in one call: once, --sensitivity or --iterative, as the options say. */
import { pruneOnce } from './prune-once.ts';
import { runIterativeJob } from './prune-iterative-run.ts';
import type { PruneJobOptions } from './prune-options.ts';
import { runSensitivityJob } from './prune-sensitivity-run.ts';

export async function runPrune(o: PruneJobOptions): Promise<void> {
  if (o.sensitivity) return runSensitivityJob(o);
  if (o.iterative) return runIterativeJob(o);
  return pruneOnce(o);
}
