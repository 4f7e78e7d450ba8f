/**
 * The main error type of the data code: every message names the file, and the line or annotation id
 * when there is one, so a broken dataset can be fixed without a debugger. DataError covers what no
 * single file explains.
 */
import { Yolo4Error } from '../util/errors.ts';

export interface DatasetErrorWhere {
  file: string;
  /** 1-based line of a text label file (YOLO txt, VOC XML). */
  line?: number;
  /** COCO annotation id, or the object's index in a VOC file. */
  annotationId?: number | string;
  /** The image an annotation belongs to, when the file is an annotation file. */
  image?: string;
}

export class DatasetError extends Yolo4Error {
  readonly file: string;
  readonly line?: number;
  readonly annotationId?: number | string;
  readonly image?: string;

  constructor(where: DatasetErrorWhere, message: string) {
    let at = where.file;
    if (where.line !== undefined) at += `:${where.line}`;
    const extra: string[] = [];
    if (where.annotationId !== undefined) extra.push(`annotation ${where.annotationId}`);
    if (where.image !== undefined) extra.push(`image ${where.image}`);
    if (extra.length) at += ` (${extra.join(', ')})`;
    super(`${at}: ${message}`);
    this.name = 'DatasetError';
    this.file = where.file;
    this.line = where.line;
    this.annotationId = where.annotationId;
    this.image = where.image;
  }
}

/**
 * A dataset problem no single file explains (a VOC source without paths, a dataset whose every image
 * failed to decode): exit 1.
 */
export class DataError extends Yolo4Error {}
