/**
 * Shared data types of the dataset readers, the augmentation and the loader.
 *
 * Boxes in a dataset are in the original image's pixels, corners `x1 < x2`, `y1 < y2`, continuous
 * coordinates (a box covering pixel columns 10..19 is `x1 = 10, x2 = 20`).
 */

export type DatasetFormat = 'coco' | 'yolo' | 'voc';
export type Split = 'train' | 'val';

/** An annotation: corners in pixels and a class (bare corners are `Box` of src/image/geometry.ts). */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** Contiguous class index, 0..classNames.length-1. */
  classId: number;
}

export interface DatasetItem {
  /** Unique within the dataset: the COCO image id, the VOC file id, or the image path relative to the image root. */
  id: string | number;
  /** Absolute path of the image file. */
  file: string;
  /** Original image size in pixels (always filled by `openDataset`; optional for hand-made datasets). */
  width?: number;
  height?: number;
  /** Objects to train on. */
  boxes: Box[];
  /**
   * Objects marked `iscrowd` (COCO) or `difficult` (VOC). Not trained on (the reference implementation
   * drops them); kept so that evaluation or tools can see them.
   */
  ignored?: Box[];
  /** COCO only: the image id of the annotation file (for writing results). */
  cocoImageId?: number;
}

export interface Dataset {
  name: string;
  format: DatasetFormat;
  split: Split;
  classNames: string[];
  items: DatasetItem[];
  /**
   * COCO only: `categoryIds[classId]` is the original `category_id` (the contiguous index <-> id map;
   * see `src/data/coco-categories.ts`).
   */
  categoryIds?: number[];
  /** The annotation file or folder the items came from (for messages). */
  source: string;
}

/** Called with a message whenever `skipBad` skips something. Default: `console.warn`. */
export type WarnFn = (message: string) => void;

/** Options shared by the dataset readers. */
export interface ReadOptions {
  /** Skip images whose annotations or files are broken, with a warning for each, instead of throwing. */
  skipBad?: boolean;
  /** Receives the skip warnings. Default: `console.warn`. */
  warn?: WarnFn;
  /**
   * How much to check the image files while opening: `'exists'` (default) that each file exists,
   * `'header'` also reads each header (catches unreadable files and sizes that differ from the
   * annotations before training starts), `'none'` nothing. Images without a size in their
   * annotations (YOLO txt, VOC files without <size>) are always probed.
   */
  checkImages?: 'none' | 'exists' | 'header';
  /** Parallel file reads while opening. Default 16. */
  concurrency?: number;
}
