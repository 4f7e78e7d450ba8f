/**
 * Upper bounds on what a darknet .cfg may ask for. Real cfgs stay far below them (yolov4-p7: 1536
 * input, 1280 filters, 7x7 kernels); a hostile or mistyped value (filters=1000000000, width=10^6)
 * is refused with the file and line instead of building a network that needs gigabytes and ends in
 * "Invalid typed array length".
 */
import { CONFIG_LIMITS } from '../../model/config.ts';
import type { SectionReader } from './cfg.ts';

export const DARKNET_LIMITS = {
  /** Layer sections (yolov4.cfg has 162, yolov4-p7 under 600). */
  layers: 10_000,
  /** [net] width and height (the project config has the same bound on inputSize). */
  side: CONFIG_LIMITS.inputSize,
  /** [net] channels. */
  channels: 64,
  filters: 16_384,
  /** Conv and maxpool kernel side. */
  size: 32,
  /** Conv, maxpool and upsample stride. */
  stride: 32,
  padding: 64,
  classes: CONFIG_LIMITS.numClasses,
  /** Anchors of a [yolo] layer (num). */
  anchors: CONFIG_LIMITS.anchors,
  /** Values of one layer's output for one image at the cfg's input size (4 GiB of float32). */
  layerOutput: 2 ** 30,
  /** Floats of all conv weights together (2 GiB of float32; yolov4.cfg has 64 million). */
  weightFloats: 2 ** 29,
} as const;

/** Throws the reader's error (file:line) when `value` of `key` exceeds `max`. */
export function atMost(r: SectionReader, key: string, value: number, max: number): void {
  if (value > max) throw r.error(`${key}=${value} is larger than ${max}, the most this importer builds`, key);
}
