/** Errors of backend selection and of the project's own training kernels. */
import { Yolo4Error } from '../util/errors.ts';

/** A kernel got inputs that do not fit its attributes (a bug in the caller, not in the user's data). */
export class KernelInputError extends Yolo4Error {}

/** A backend that was asked for cannot run here; the message says why and what to install. */
export class BackendError extends Yolo4Error {
  override name = 'BackendError';
}
