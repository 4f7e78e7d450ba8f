import { Yolo4Error } from '../../util/errors.ts';

/** A model (or a target path) that cannot be written as ONNX; the message names the layer or file. */
export class OnnxExportError extends Yolo4Error {}
