/**
 * Mosaic (YOLOv4): four images around a random centre (cutX, cutY), one per quadrant, each scaled,
 * aspect-jittered and optionally mirrored, with its corner anchored at the centre so that it extends
 * away from it; each tile is cut to its quadrant and so are its boxes.
 *
 * Quadrants, in tile order: 0 top-left [0, cutX) x [0, cutY), 1 top-right [cutX, S) x [0, cutY),
 * 2 bottom-left [0, cutX) x [cutY, S), 3 bottom-right [cutX, S) x [cutY, S).
 * Defaults follow the reference: centre U(0.3, 0.7) * S, tile scale U(0.4, 1), jitter 0.3, flip 0.5.
 */
import { clipBoxes } from './box-ops.ts';
import type { Size } from '../image/rgb.ts';
import { placeBoxes } from './place-boxes.ts';
import type { Placement, Rect } from '../image/geometry.ts';
import type { Rng } from './prng.ts';
import { sampleAspect, scaledSize } from './random-placement.ts';
import type { Box } from './types.ts';
import { InternalError } from '../util/errors.ts';

export interface MosaicOptions {
  /** Tile scale range (longer side relative to the input size). */
  scale: [number, number];
  /** Aspect-ratio jitter of each tile. */
  jitter: number;
  /** Probability of mirroring each tile. */
  flip: number;
  /** Range of the centre, as a fraction of the input size (both axes). */
  center: [number, number];
}

export interface MosaicTile {
  placement: Placement;
  flip: boolean;
  /** The quadrant: the only part of the canvas this tile may cover. */
  region: Rect;
}

export interface MosaicLayout {
  cutX: number;
  cutY: number;
  tiles: [MosaicTile, MosaicTile, MosaicTile, MosaicTile];
}

/** Fixed layout from a centre and the tiles' sizes and flips (what `sampleMosaicLayout` draws). */
export function mosaicLayout(
  size: number,
  cutX: number,
  cutY: number,
  tiles: { nw: number; nh: number; flip: boolean }[],
): MosaicLayout {
  const regions: Rect[] = [
    { x0: 0, y0: 0, x1: cutX, y1: cutY },
    { x0: cutX, y0: 0, x1: size, y1: cutY },
    { x0: 0, y0: cutY, x1: cutX, y1: size },
    { x0: cutX, y0: cutY, x1: size, y1: size },
  ];
  const out = tiles.map((t, q) => {
    const left = q === 0 || q === 2;
    const top = q === 0 || q === 1;
    const placement: Placement = { nw: t.nw, nh: t.nh, dx: left ? cutX - t.nw : cutX, dy: top ? cutY - t.nh : cutY };
    return { placement, flip: t.flip, region: regions[q] };
  });
  return { cutX, cutY, tiles: out as MosaicLayout['tiles'] };
}

export function sampleMosaicLayout(rng: Rng, sizes: Size[], size: number, o: MosaicOptions): MosaicLayout {
  if (sizes.length !== 4) throw new InternalError('mosaic needs 4 images');
  const cutX = Math.floor(size * rng.uniform(o.center[0], o.center[1]));
  const cutY = Math.floor(size * rng.uniform(o.center[0], o.center[1]));
  const tiles = sizes.map((s) => {
    const aspect = sampleAspect(rng, s.width, s.height, o.jitter);
    const scale = rng.uniform(o.scale[0], o.scale[1]);
    const flip = rng.chance(o.flip);
    return { ...scaledSize(aspect, scale, size), flip };
  });
  return mosaicLayout(size, cutX, cutY, tiles);
}

/** The mosaic's boxes: each source's boxes placed like its tile and clipped to its quadrant. */
export function mosaicBoxes(layout: MosaicLayout, sources: { boxes: readonly Box[]; width: number; height: number }[], minBoxSize = 1): Box[] {
  const out: Box[] = [];
  layout.tiles.forEach((t, q) => {
    const s = sources[q];
    const placed = placeBoxes(s.boxes, s.width, s.height, t.placement, t.flip);
    const r = t.region;
    out.push(...clipBoxes(placed, r.x0, r.y0, r.x1, r.y1, minBoxSize));
  });
  return out;
}
