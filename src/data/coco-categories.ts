/**
 * COCO `category_id` <-> contiguous class index.
 *
 * COCO ids are sparse (the 80 detection classes use ids 1..90 with gaps); the network predicts a
 * contiguous index 0..C-1. The default order is the categories sorted by id, which for COCO is the
 * usual 80-class order (person=0 ... toothbrush=79). Evaluation must write results with the original
 * id: `categoryIds[classId]`.
 */
import { DatasetError } from './errors.ts';

export interface CocoCategoryLike {
  id: number;
  name: string;
}

export interface CocoCategoryMap {
  /** `categoryIds[classId]` = COCO category id. */
  categoryIds: number[];
  /** Class names in index order (the config's names if given, else the categories' names). */
  classNames: string[];
  /** COCO category id -> class index; ids of categories left out by `classNames` are absent. */
  indexOf: Map<number, number>;
}

/**
 * Builds the map. With `classNames`:
 * - if every name is a category name, classes are matched by name (this allows a subset or another order);
 * - otherwise, if there are exactly as many names as categories, they are taken in category-id order
 *   (e.g. darknet's `coco.names`, which spells `motorbike` where COCO has `motorcycle`);
 * - otherwise it is an error.
 */
export function cocoCategoryMap(categories: CocoCategoryLike[], classNames: string[] | undefined, file: string): CocoCategoryMap {
  const seen = new Set<number>();
  for (const c of categories) {
    if (!Number.isInteger(c.id)) throw new DatasetError({ file }, `category ${JSON.stringify(c)} has no integer id`);
    if (seen.has(c.id)) throw new DatasetError({ file }, `category id ${c.id} appears twice`);
    seen.add(c.id);
  }
  const sorted = [...categories].sort((a, b) => a.id - b.id);
  let chosen: { id: number; name: string }[];
  if (!classNames) {
    chosen = sorted.map((c) => ({ id: c.id, name: String(c.name) }));
  } else {
    const byName = new Map(sorted.map((c) => [String(c.name), c.id]));
    if (classNames.every((n) => byName.has(n))) {
      chosen = classNames.map((n) => ({ id: byName.get(n)!, name: n }));
    } else if (classNames.length === sorted.length) {
      chosen = sorted.map((c, i) => ({ id: c.id, name: classNames[i] }));
    } else {
      const missing = classNames.filter((n) => !byName.has(n)).slice(0, 5);
      throw new DatasetError(
        { file },
        `classNames (${classNames.length}) neither match category names (not found: ${missing.join(', ')}) ` +
          `nor count the ${sorted.length} categories`,
      );
    }
  }
  const categoryIds = chosen.map((c) => c.id);
  return { categoryIds, classNames: chosen.map((c) => c.name), indexOf: new Map(categoryIds.map((id, i) => [id, i])) };
}

/** Class index -> COCO category id (throws on an index outside the map). */
export function categoryIdOf(map: Pick<CocoCategoryMap, 'categoryIds'>, classId: number): number {
  const id = map.categoryIds[classId];
  if (id === undefined) throw new RangeError(`class index ${classId} has no COCO category (0..${map.categoryIds.length - 1})`);
  return id;
}
