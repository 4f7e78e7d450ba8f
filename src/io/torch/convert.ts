/**
 * Conversion of float tensors (float32/64, float16, bfloat16) to float32.
 */
import { TorchFormatError } from './errors.ts';
import type { TorchTensor } from './types.ts';

/** IEEE 754 half-precision bits to a number (exact). */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * The tensor's values as float32. float32 data is returned as is (not
 * copied); float64, float16 and bfloat16 are converted into a new array.
 * Integer and bool tensors are refused with a TorchFormatError.
 */
export function toFloat32(t: TorchTensor): Float32Array {
  const d = t.data;
  switch (t.dtype) {
    case 'float32':
      return d as Float32Array;
    case 'float64':
      return Float32Array.from(d as Float64Array);
    case 'float16': {
      const src = d as Uint16Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = halfToNumber(src[i]);
      return out;
    }
    case 'bfloat16': {
      // bfloat16 is the top half of a float32: shift the bits into place (exact, keeps NaN payloads).
      const src = d as Uint16Array;
      const out = new Float32Array(src.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
      return out;
    }
    default:
      throw new TorchFormatError(
        `toFloat32: cannot convert a ${t.dtype} tensor of shape [${t.shape.join(', ')}] to float32; only float tensors can be converted.`,
      );
  }
}
