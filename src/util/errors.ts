/**
 * The project's error classes share one base, so the CLI maps any of them to an exit code without
 * knowing where it was thrown: usage errors (the command line or options asked for something
 * impossible) exit 2, every other failure 1. Each folder derives its own classes from these two.
 */
export class Yolo4Error extends Error {
  /** The process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The command line or an option asked for something impossible or incomplete: exit 2. */
export class UsageError extends Yolo4Error {
  override readonly exitCode: number = 2;
}

export function isUsageError(e: unknown): e is UsageError {
  return e instanceof UsageError;
}

/** The exit code for any thrown value: a Yolo4Error's own, else 1. */
export function exitCodeOf(e: unknown): number {
  return e instanceof Yolo4Error ? e.exitCode : 1;
}

/**
 * A check of the code's own invariants failed (a bug, not the user's input): exit 1. Its messages
 * usually start with "internal:".
 */
export class InternalError extends Yolo4Error {}

/** A worker thread failed (its setup threw, it crashed or exited) or its pool was used after close: exit 1. */
export class WorkerError extends Yolo4Error {}
