/**
 * The single error class of the PyTorch reader. Every problem a user can hit
 * (bad file, corrupt data, refused pickle global, unsupported feature) is
 * reported as a TorchFormatError with a message that says what went wrong.
 */
import { Yolo4Error } from '../../util/errors.ts';

export class TorchFormatError extends Yolo4Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TorchFormatError';
  }
}

/** Quote a file name for messages: `"name"`, or `input` when no name is known. */
export function describeSource(name: string | undefined): string {
  return name === undefined || name === '' ? 'input' : `"${name}"`;
}
