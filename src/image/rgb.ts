/**
 * The pixel types every image path shares: 8-bit interleaved RGB (`RgbImage`), the raw pixels a
 * caller may hand in (`RawImage`, e.g. a video frame), and the gray the letterbox pads with.
 */
import type sharp from 'sharp';

/** Width and height in pixels. */
export interface Size {
  width: number;
  height: number;
}

/** RGB, 8 bits, row-major, 3 bytes per pixel. */
export interface RgbImage extends Size {
  data: Uint8Array;
}

/** Raw interleaved pixels with 1 to 4 channels (e.g. a decoded video frame). */
export interface RawImage extends RgbImage {
  channels: 1 | 2 | 3 | 4;
}

/** Anything the decoder accepts: a file path, an encoded buffer, a sharp pipeline or raw pixels. */
export type ImageInput = string | Buffer | Uint8Array | sharp.Sharp | RawImage;

/** The letterbox / padding gray of the reference implementation. */
export const PAD_VALUE = 128;

/** A width x height RGB image filled with one gray level (default: the padding gray). */
export function newCanvas(width: number, height: number, fill = PAD_VALUE): RgbImage {
  return { data: new Uint8Array(width * height * 3).fill(fill), width, height };
}

/**
 * Interleaved pixels with `channels` bands to RGB: gray is repeated, bands after the third dropped.
 * Three bands come back as a plain Uint8Array view of the same memory (no copy).
 */
export function toRgb(data: Uint8Array, channels: number): Uint8Array {
  if (channels === 3) return data.constructor === Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length);
  const n = data.length / channels;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const p = i * channels;
    const g = data[p];
    out[i * 3] = g;
    out[i * 3 + 1] = channels >= 3 ? data[p + 1] : g;
    out[i * 3 + 2] = channels >= 3 ? data[p + 2] : g;
  }
  return out;
}
