/**
 * The augmentation switches and their defaults (the reference training recipe). Every part can be
 * switched off on its own: probabilities to 0, `scale`/`hsv` to null, `jitter` to 0, `placement` to false.
 */
import { DEFAULT_HSV, type HsvAmounts } from './hsv.ts';

export interface AugmentOptions {
  /** Probability of a mosaic sample (0.5). Switch off (0) for the last part of training. */
  mosaic: number;
  /** Probability of mixing a mosaic sample with another (single-image) sample, 50/50 (0.5). */
  mixup: number;
  /** Random scale of the longer side relative to the input size ([0.25, 2]); null = fit. */
  scale: [number, number] | null;
  /** Aspect-ratio jitter (0.3). */
  jitter: number;
  /** Random placement on the canvas (true); false = centred. */
  placement: boolean;
  /** Horizontal flip probability (0.5). */
  flip: number;
  /** HSV gain amplitudes ({hue 0.1, sat 0.7, val 0.4}); null = off. */
  hsv: HsvAmounts | null;
  /** Mosaic tile scale range ([0.4, 1]). */
  mosaicScale: [number, number];
  /** Mosaic centre range as a fraction of the input size ([0.3, 0.7]). */
  mosaicCenter: [number, number];
  /** Boxes narrower or lower than this (input pixels, after clipping) are dropped (1). */
  minBoxSize: number;
}

export const DEFAULT_AUGMENT: Readonly<AugmentOptions> = Object.freeze({
  mosaic: 0.5,
  mixup: 0.5,
  scale: [0.25, 2] as [number, number],
  jitter: 0.3,
  placement: true,
  flip: 0.5,
  hsv: { ...DEFAULT_HSV },
  mosaicScale: [0.4, 1] as [number, number],
  mosaicCenter: [0.3, 0.7] as [number, number],
  minBoxSize: 1,
});

export type AugmentSetting = boolean | Partial<AugmentOptions> | undefined;

/**
 * `false`/`undefined` -> null (plain letterbox, no randomness); `true` -> the defaults; an object ->
 * the defaults overridden by its fields (`base` instead of the defaults when given).
 */
export function resolveAugment(a: AugmentSetting, base?: AugmentOptions | null): AugmentOptions | null {
  if (a === false || a === undefined) return null;
  const from = base ?? DEFAULT_AUGMENT;
  const o: AugmentOptions = { ...from, ...(a === true ? {} : a) };
  const prob = (k: 'mosaic' | 'mixup' | 'flip') => {
    if (!(o[k] >= 0 && o[k] <= 1)) throw new RangeError(`augment.${k} must be a probability in [0, 1], got ${o[k]}`);
  };
  prob('mosaic');
  prob('mixup');
  prob('flip');
  const range = (k: 'scale' | 'mosaicScale' | 'mosaicCenter') => {
    const r = o[k];
    if (r === null && k === 'scale') return;
    if (!Array.isArray(r) || r.length !== 2 || !(r[0] > 0 && r[1] >= r[0])) {
      throw new RangeError(`augment.${k} must be [lo, hi] with 0 < lo <= hi, got ${JSON.stringify(r)}`);
    }
  };
  range('scale');
  range('mosaicScale');
  range('mosaicCenter');
  if (!(o.jitter >= 0 && o.jitter < 1)) throw new RangeError(`augment.jitter must be in [0, 1), got ${o.jitter}`);
  if (!(o.minBoxSize >= 0)) throw new RangeError(`augment.minBoxSize must be >= 0, got ${o.minBoxSize}`);
  return o;
}
