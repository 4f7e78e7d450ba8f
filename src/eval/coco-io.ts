/** Reading COCO ground-truth and results JSON files, with errors that name the file. */
import { readFile } from 'node:fs/promises';
import { CocoInputError, type CocoDetection, type CocoGroundTruth } from './coco-types.ts';
import { validateDetections, validateGroundTruth } from './coco-validate.ts';

/** Reads and parses a JSON file; throws CocoInputError naming the file if it is missing or not JSON. */
export async function loadCocoJson<T = unknown>(path: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'file not found' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    throw new CocoInputError(`cannot read COCO JSON "${path}": ${why}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new CocoInputError(`invalid JSON in "${path}": ${(e as Error).message}`);
  }
}

/** Loads and validates a COCO instances file. */
export async function loadGroundTruth(path: string): Promise<CocoGroundTruth> {
  const gt = await loadCocoJson(path);
  try {
    validateGroundTruth(gt);
  } catch (e) {
    if (e instanceof CocoInputError) throw new CocoInputError(`${path}: ${e.message}`);
    throw e;
  }
  return gt;
}

/**
 * Loads a COCO results file: either the standard list `[{image_id, category_id, bbox, score}]`
 * or an object whose `annotations` field is that list. Validated against `gt` when given.
 */
export async function loadDetections(path: string, gt?: CocoGroundTruth): Promise<CocoDetection[]> {
  const raw = await loadCocoJson(path);
  const list =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw) && Array.isArray((raw as { annotations?: unknown }).annotations)
      ? (raw as { annotations: unknown[] }).annotations
      : raw;
  if (!Array.isArray(list)) {
    throw new CocoInputError(`${path}: expected a JSON array of detections (or an object with an "annotations" array)`);
  }
  if (gt) {
    try {
      validateDetections(gt, list);
    } catch (e) {
      if (e instanceof CocoInputError) throw new CocoInputError(`${path}: ${e.message}`);
      throw e;
    }
  }
  return list as CocoDetection[];
}
