/**
 * The image decoder (src/image/decode.ts) in the data code's words: its failures become a
 * `DatasetError` naming the file, which the loader's skipBad, its worker threads and the readers'
 * warnings rely on.
 */
import { imageSize, readRgb, ImageDecodeError, type ReadRgbOptions } from '../image/decode.ts';
import type { RgbImage, Size } from '../image/rgb.ts';
import { DatasetError } from './errors.ts';

function asDatasetError(e: unknown, verb: 'read' | 'decode'): unknown {
  if (!(e instanceof ImageDecodeError)) return e;
  if (e.problem === 'missing') return new DatasetError({ file: e.file }, 'image file not found');
  return new DatasetError({ file: e.file }, e.problem === 'size' ? e.detail : `cannot ${verb} image: ${e.detail}`);
}

/** The stored size of an image file (reads the header only). */
export async function probeImage(file: string): Promise<Size> {
  try {
    const { width, height } = await imageSize(file);
    return { width, height };
  } catch (e) {
    throw asDatasetError(e, 'read');
  }
}

/** Decodes an image file to RGB, optionally resized and cropped (see `readRgb`). */
export async function decodeImage(file: string, opts: ReadRgbOptions = {}): Promise<RgbImage> {
  try {
    const { data, width, height } = await readRgb(file, opts);
    return { data, width, height };
  } catch (e) {
    throw asDatasetError(e, 'decode');
  }
}
