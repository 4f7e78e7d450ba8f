/** Errors of the model code (config problems have ConfigError in config.ts). */
import { Yolo4Error } from '../util/errors.ts';

/**
 * A model, layer or layer config is not what the code can work with (an unexpected topology format, a
 * layer missing from the model, invalid layer arguments, a conv without a kernel, a BN without moving
 * statistics): exit 1.
 */
export class ModelError extends Yolo4Error {}
