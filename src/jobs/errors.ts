/** The errors of the jobs: a bad option exits 2 (like a bad flag), a failed job exits 1. */
import { UsageError, Yolo4Error } from '../util/errors.ts';

/** An option (or option file) of a job asks for something impossible or incomplete. */
export class JobOptionError extends UsageError {}

/** A job could not do its work (the inputs disagree, a check failed). */
export class JobError extends Yolo4Error {}
