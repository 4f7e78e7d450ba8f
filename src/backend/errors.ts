/** Errors of the project's own training kernels (backend selection has BackendError in select.ts). */
import { Yolo4Error } from '../util/errors.ts';

/** A kernel got inputs that do not fit its attributes (a bug in the caller, not in the user's data). */
export class KernelInputError extends Yolo4Error {}
