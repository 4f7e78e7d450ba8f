/**
 * A usage error: the command line asked for something impossible or incomplete (a missing flag, a
 * value out of range). The CLI prints its message and exits 2; every other error exits 1.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function isUsageError(e: unknown): e is UsageError {
  return e instanceof UsageError;
}
