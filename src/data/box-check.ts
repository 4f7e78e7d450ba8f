/**
 * Checking one annotated box against its image: the rule every reader applies.
 *
 * - Coordinates must be finite and the box non-empty (`x2 > x1`, `y2 > y1`).
 * - A box may overshoot the image by less than `OVERSHOOT_TOLERANCE` (1 px) on any side: such
 *   overshoot is rounding in the annotation tool and is clipped away. Anything more is an error.
 * - The class index must be an integer in [0, numClasses).
 * - A zero-size box (x2 == x1 or y2 == y1, or nothing left after clipping) throws `EmptyBoxError`:
 *   such boxes exist in real datasets (COCO has a few), so readers drop them with one summary
 *   warning instead of failing. Inverted boxes (x2 < x1) are errors.
 */
import { DatasetError, type DatasetErrorWhere } from './errors.ts';
import type { Box } from './types.ts';

export const OVERSHOOT_TOLERANCE = 1;

/** A box with no area: readers drop it (with a warning) rather than fail. */
export class EmptyBoxError extends DatasetError {
  constructor(where: DatasetErrorWhere, message: string) {
    super(where, message);
    this.name = 'EmptyBoxError';
  }
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));

export function checkBox(
  b: Box,
  width: number,
  height: number,
  numClasses: number,
  where: DatasetErrorWhere,
): Box {
  const { x1, y1, x2, y2, classId } = b;
  if (![x1, y1, x2, y2].every(Number.isFinite)) {
    throw new DatasetError(where, `box has a non-numeric coordinate (${[x1, y1, x2, y2].join(', ')})`);
  }
  if (!Number.isInteger(classId) || classId < 0 || classId >= numClasses) {
    throw new DatasetError(where, `unknown class ${classId} (the dataset has ${numClasses} classes, 0..${numClasses - 1})`);
  }
  if (x2 < x1 || y2 < y1) {
    throw new DatasetError(where, `inverted box x1=${fmt(x1)} y1=${fmt(y1)} x2=${fmt(x2)} y2=${fmt(y2)}`);
  }
  if (x2 === x1 || y2 === y1) {
    throw new EmptyBoxError(where, `zero-size box x1=${fmt(x1)} y1=${fmt(y1)} x2=${fmt(x2)} y2=${fmt(y2)}`);
  }
  const over = Math.max(-x1, -y1, x2 - width, y2 - height);
  if (over >= OVERSHOOT_TOLERANCE) {
    throw new DatasetError(
      where,
      `box x1=${fmt(x1)} y1=${fmt(y1)} x2=${fmt(x2)} y2=${fmt(y2)} lies outside the ${width}x${height} image ` +
        `by ${fmt(over)} px (up to ${OVERSHOOT_TOLERANCE} px is clipped)`,
    );
  }
  const c = {
    x1: Math.max(0, x1),
    y1: Math.max(0, y1),
    x2: Math.min(width, x2),
    y2: Math.min(height, y2),
    classId,
  };
  if (!(c.x2 > c.x1 && c.y2 > c.y1)) {
    throw new EmptyBoxError(where, `box is empty after clipping to the ${width}x${height} image`);
  }
  return c;
}
