/**
 * The training folder's error classes: options that ask for something impossible (usage, exit 2),
 * a run whose loss diverged, saved state that does not fit the run, loss inputs that do not fit the
 * model, and a failed validation.
 * Out-of-memory aborts have their own class in wasm-abort.ts.
 */
import { UsageError, Yolo4Error } from '../util/errors.ts';

/** A training setting or a loss/targets argument that comes from the options is invalid. */
export class TrainOptionError extends UsageError {}

/** The loss became NaN or infinite: the run cannot continue at this learning rate. */
export class TrainingDivergedError extends Yolo4Error {}

/** Saved optimizer or EMA state (from a checkpoint being resumed) does not fit this run's model or settings. */
export class TrainStateMismatchError extends Yolo4Error {}

/** The loss or target builder got tensors or target rows that do not fit the model's heads or classes. */
export class LossInputError extends Yolo4Error {}

/** Validation failed after an epoch whose checkpoint was saved first (so the run can be resumed). */
export class ValidationError extends Yolo4Error {
  constructor(readonly epoch: number, readonly checkpoint: string, cause: unknown) {
    super(`validation after epoch ${epoch + 1} failed: ${(cause as Error)?.message ?? String(cause)} (the epoch is saved in ${checkpoint}; fix the val set or use --skip-bad, then --resume)`);
    this.name = 'ValidationError';
    this.cause = cause;
  }
}
