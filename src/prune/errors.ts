/**
 * The pruner's error classes: what the user asked for cannot be done (a bad amount, strategy,
 * importance or rounding, a name or pattern that matches nothing prunable: usage, exit 2), or the
 * model cannot be handled (a structure the dependency graph does not follow, a plan that does not
 * fit the model, a pruned model that fails verification: exit 1).
 */
import { UsageError, Yolo4Error } from '../util/errors.ts';

/** A pruning option or layer name the user gave cannot be used. */
export class PruneOptionError extends UsageError {}

/** The model, or a plan applied to it, is something the pruner cannot handle. */
export class PruneGraphError extends Yolo4Error {}
