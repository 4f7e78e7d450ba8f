/**
 * The detections of one image, as every consumer needs them: an array of `Detection` (boxes in
 * original-image pixels, best score first) that also knows the image size and the class names, so it
 * can serialize itself for `predictions.json` / a video's JSON (`toJSON`, also used by
 * JSON.stringify), as COCO results (`toCoco`), and draw itself (`render`, `draw`).
 */
import type sharp from 'sharp';
import type { ImageInput } from '../image/rgb.ts';
import { drawDetections, renderDetections, type DrawOptions } from './draw.ts';
import type { Detection } from './nms.ts';

/** One detection in predictions.json: class name and id, score (5 decimals), box x1 y1 x2 y2 (2 decimals). */
export interface JsonDetection {
  class: string;
  classId: number;
  score: number;
  box: [number, number, number, number];
}

/** One COCO result ([x, y, w, h] in pixels); eval's CocoDetection is this plus any extra keys. */
// A type alias, not an interface, so that it also fits eval's index-signature type.
export type CocoResult = {
  image_id: number;
  category_id: number;
  bbox: number[];
  score: number;
};

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

export class Detections extends Array<Detection> {
  /** map/filter/slice give plain arrays: their results are no longer one image's detections. */
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  /** Image width and height in pixels (0 when not known). */
  width = 0;
  height = 0;
  classNames: readonly string[] = [];

  static create(items: readonly Detection[], image: { width: number; height: number }, classNames: readonly string[]): Detections {
    const d = new Detections();
    d.push(...items);
    d.width = image.width;
    d.height = image.height;
    d.classNames = classNames;
    return d;
  }

  className(classId: number): string {
    return this.classNames[classId] ?? `class${classId}`;
  }

  toJSON(): JsonDetection[] {
    return Array.from(this, (d) => ({
      class: this.className(d.classId),
      classId: d.classId,
      score: round(d.score, 5),
      box: d.box.map((v) => round(v, 2)) as [number, number, number, number],
    }));
  }

  /** COCO results ([x, y, w, h] boxes, 3 decimals) for `imageId`, class ids mapped to category ids. */
  toCoco(imageId: number, categoryOf: (classId: number) => number, keep: (d: Detection) => boolean = () => true): CocoResult[] {
    return Array.from(this).filter(keep).map((d) => ({
      image_id: imageId,
      category_id: categoryOf(d.classId),
      bbox: [d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]].map((v) => Math.round(v * 1000) / 1000),
      score: Math.round(d.score * 1e5) / 1e5,
    }));
  }

  private size(): { width: number; height: number } | undefined {
    return this.width > 0 && this.height > 0 ? { width: this.width, height: this.height } : undefined;
  }

  /** The image with these boxes drawn, as a sharp pipeline. */
  render(image: ImageInput, opts: DrawOptions = {}): Promise<sharp.Sharp> {
    return renderDetections(image, Array.from(this), { classNames: [...this.classNames], ...opts }, this.size());
  }

  /** Draws these boxes on the image and writes it; the format follows the extension. */
  draw(image: ImageInput, outPath: string, opts: DrawOptions & { jpegQuality?: number } = {}): Promise<void> {
    return drawDetections(image, Array.from(this), outPath, { classNames: [...this.classNames], ...opts }, this.size());
  }
}
