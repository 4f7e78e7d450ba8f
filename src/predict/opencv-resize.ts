/**
 * The preprocessing of darknet models as OpenCV's DNN module runs them (see
 * src/predict/resample-opencv.ts): a plain resize, no letterbox, RGB / 255.
 */
import { letterboxImage, type ImageInput, type LetterboxResult } from './letterbox.ts';

/**
 * An image as OpenCV's DNN sees a darknet model's input: plain INTER_LINEAR resize to size x size, RGB
 * / 255. Returns the same structure as letterboxImage(..., { mode: 'resize' }), so detectBatch maps the
 * boxes back to original pixels.
 */
export async function opencvResizeImage(input: ImageInput, size: number | { width: number; height: number }): Promise<LetterboxResult> {
  return letterboxImage(input, size, { mode: 'resize', resampler: 'opencv' });
}
