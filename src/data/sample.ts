/**
 * One training sample: decode + augment an item of the dataset into a `size x size` RGB canvas and
 * its boxes in canvas pixels. Every random draw comes from the sample's own `Rng` and happens before
 * the decodes it governs, so a sample depends only on its seed, not on I/O timing.
 *
 * - augment null: the evaluation input, by `ctx.mode`: letterbox (centred, gray padding) or a plain
 *   resize that stretches the image over the whole canvas (darknet models);
 * - with augmentation `ctx.mode` is not used: the reference's letterbox-style random placement and
 *   mosaic (aspect kept up to the jitter, gray padding), whatever the model's mode.
 * - else with probability `mosaic`: a mosaic of this item and 3 random others, HSV jitter on the
 *   whole, then with probability `mixup` a 50/50 blend with a single-image sample of a random item
 *   (boxes of both kept);
 * - otherwise a single image: random aspect/scale/placement, flip, HSV jitter.
 * Boxes are clipped to the canvas (to the quadrant in a mosaic) and dropped under `minBoxSize`.
 */
import type { AugmentOptions } from './augment-options.ts';
import { fitPlacement, placementAffine, type Affine, type Placement, type ResizeMode } from '../image/geometry.ts';
import { newCanvas, type RgbImage, type Size } from '../image/rgb.ts';
import { clipBoxes } from './box-ops.ts';
import { applyHsvGains, sampleHsvGains } from './hsv.ts';
import { probeImage } from './image-files.ts';
import { mosaicBoxes, sampleMosaicLayout } from './mosaic.ts';
import { blendInto } from './pixels.ts';
import { placeBoxes } from './place-boxes.ts';
import { drawPlaced } from './placed-image.ts';
import type { Rng } from './prng.ts';
import { sampleRandomPlacement } from './random-placement.ts';
import type { Box, DatasetItem } from './types.ts';
import { Yolo4Error } from '../util/errors.ts';

export interface SampleInfo {
  id: string | number;
  file: string;
  /** Original image size. */
  width: number;
  height: number;
  cocoImageId?: number;
  /**
   * Original pixels -> input pixels, for single, unmirrored samples (always so without augmentation):
   * `invertAffineBoxes(predictions, transform)` gives boxes in the original image. Absent otherwise.
   */
  transform?: Affine;
  mosaic: boolean;
  mixup: boolean;
  /** Single samples: mirrored. (Mosaic tiles are mirrored independently and not reported.) */
  flip: boolean;
  /** Ids of every image in the sample: mosaic tiles in quadrant order (TL, TR, BL, BR), then the mixup image. */
  parts: (string | number)[];
  /** Mosaic only: the centre (cutX, cutY) in input pixels; every box lies within one quadrant. */
  mosaicCut?: [number, number];
}

export interface Sample {
  image: RgbImage;
  /** In input pixels. */
  boxes: Box[];
  info: SampleInfo;
}

/** An image of the dataset failed to decode: which one (the loader's `skipBad` needs to know). */
export class SampleSourceError extends Yolo4Error {
  constructor(
    readonly index: number,
    readonly cause: unknown,
  ) {
    super((cause as Error).message);
    this.name = 'SampleSourceError';
  }
}

export interface SampleContext {
  items: readonly DatasetItem[];
  size: number;
  augment: AugmentOptions | null;
  /** How an unaugmented sample fills the canvas (default 'letterbox'). */
  mode?: ResizeMode;
  /** A random usable item index (the loader skips images known to be bad). */
  pick: (rng: Rng) => number;
}

async function sizeOf(items: readonly DatasetItem[], index: number): Promise<Size> {
  const it = items[index];
  if (it.width === undefined || it.height === undefined) {
    try {
      const s = await probeImage(it.file);
      it.width = s.width;
      it.height = s.height;
    } catch (e) {
      throw new SampleSourceError(index, e);
    }
  }
  return { width: it.width!, height: it.height! };
}

async function draw(ctx: SampleContext, canvas: RgbImage, index: number, p: Placement, opts: Parameters<typeof drawPlaced>[3]) {
  try {
    await drawPlaced(canvas, ctx.items[index].file, p, opts);
  } catch (e) {
    throw new SampleSourceError(index, e);
  }
}

function baseInfo(item: DatasetItem, s: Size): SampleInfo {
  const info: SampleInfo = {
    id: item.id,
    file: item.file,
    width: s.width,
    height: s.height,
    mosaic: false,
    mixup: false,
    flip: false,
    parts: [item.id],
  };
  if (item.cocoImageId !== undefined) info.cocoImageId = item.cocoImageId;
  return info;
}

/** One item letterboxed or stretched to the input, by `ctx.mode` (no randomness). */
export async function plainSample(ctx: SampleContext, index: number): Promise<Sample> {
  const item = ctx.items[index];
  const s = await sizeOf(ctx.items, index);
  const p = fitPlacement(s.width, s.height, ctx.size, ctx.size, ctx.mode ?? 'letterbox');
  const image = newCanvas(ctx.size, ctx.size);
  await draw(ctx, image, index, p, { expect: s });
  const boxes = clipBoxes(placeBoxes(item.boxes, s.width, s.height, p, false), 0, 0, ctx.size, ctx.size, ctx.augment?.minBoxSize ?? 1);
  return { image, boxes, info: { ...baseInfo(item, s), transform: placementAffine(s.width, s.height, p) } };
}

/** Single-image augmentation: random scale/aspect/placement, flip, HSV. */
export async function singleSample(ctx: SampleContext, index: number, rng: Rng, aug: AugmentOptions): Promise<Sample> {
  const item = ctx.items[index];
  const s = await sizeOf(ctx.items, index);
  const S = ctx.size;
  const p = sampleRandomPlacement(rng, s.width, s.height, S, aug);
  const flip = rng.chance(aug.flip);
  const gains = aug.hsv ? sampleHsvGains(rng, aug.hsv) : null;
  const image = newCanvas(S, S);
  await draw(ctx, image, index, p, { flip, expect: s });
  if (gains) applyHsvGains(image, gains);
  const boxes = clipBoxes(placeBoxes(item.boxes, s.width, s.height, p, flip), 0, 0, S, S, aug.minBoxSize);
  const info = { ...baseInfo(item, s), flip };
  if (!flip) info.transform = placementAffine(s.width, s.height, p);
  return { image, boxes, info };
}

/** Mosaic of `index` and three random items, then maybe mixup. */
export async function mosaicSample(ctx: SampleContext, index: number, rng: Rng, aug: AugmentOptions): Promise<Sample> {
  const S = ctx.size;
  const indices = [index, ctx.pick(rng), ctx.pick(rng), ctx.pick(rng)];
  const sizes: Size[] = [];
  for (const i of indices) sizes.push(await sizeOf(ctx.items, i));
  const layout = sampleMosaicLayout(rng, sizes, S, {
    scale: aug.mosaicScale,
    jitter: aug.jitter,
    flip: aug.flip,
    center: aug.mosaicCenter,
  });
  const gains = aug.hsv ? sampleHsvGains(rng, aug.hsv) : null;
  const image = newCanvas(S, S);
  await Promise.all(
    layout.tiles.map((t, q) => draw(ctx, image, indices[q], t.placement, { flip: t.flip, clip: t.region, expect: sizes[q] })),
  );
  if (gains) applyHsvGains(image, gains);
  let boxes = mosaicBoxes(
    layout,
    indices.map((i, q) => ({ boxes: ctx.items[i].boxes, width: sizes[q].width, height: sizes[q].height })),
    aug.minBoxSize,
  );
  const info: SampleInfo = {
    ...baseInfo(ctx.items[index], sizes[0]),
    mosaic: true,
    parts: indices.map((i) => ctx.items[i].id),
    mosaicCut: [layout.cutX, layout.cutY],
  };
  if (rng.chance(aug.mixup)) {
    const other = await singleSample(ctx, ctx.pick(rng), rng, aug);
    blendInto(image, other.image, 0.5);
    boxes = boxes.concat(other.boxes);
    info.mixup = true;
    info.parts.push(other.info.id);
  }
  return { image, boxes, info };
}

/** The sample for `index` under `ctx.augment`. */
export async function makeSample(ctx: SampleContext, index: number, rng: Rng): Promise<Sample> {
  const aug = ctx.augment;
  if (!aug) return plainSample(ctx, index);
  if (rng.chance(aug.mosaic)) return mosaicSample(ctx, index, rng, aug);
  return singleSample(ctx, index, rng, aug);
}
