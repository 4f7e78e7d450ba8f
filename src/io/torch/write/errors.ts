/** The error class of the PyTorch writer: a model or value that a .pth file cannot hold. */
import { Yolo4Error } from '../../../util/errors.ts';

export class TorchExportError extends Yolo4Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TorchExportError';
  }
}
