/**
 * Draws an image file onto a canvas at a given size and position, optionally mirrored, keeping only
 * the part inside a clip rectangle. Only that visible window is decoded into JS memory: resize and
 * crop run inside sharp.
 */
import type { Placement, Rect } from '../image/geometry.ts';
import type { RgbImage, Size } from '../image/rgb.ts';
import { decodeImage } from './image-files.ts';
import { flipHorizontal, paste } from './pixels.ts';

export async function drawPlaced(
  canvas: RgbImage,
  file: string,
  p: Placement,
  opts: { clip?: Rect; flip?: boolean; expect?: Size } = {},
): Promise<void> {
  const clip = opts.clip ?? { x0: 0, y0: 0, x1: canvas.width, y1: canvas.height };
  const x0 = Math.max(clip.x0, 0, p.dx);
  const y0 = Math.max(clip.y0, 0, p.dy);
  const x1 = Math.min(clip.x1, canvas.width, p.dx + p.nw);
  const y1 = Math.min(clip.y1, canvas.height, p.dy + p.nh);
  if (x1 <= x0 || y1 <= y0) {
    // Nothing visible; decode a thumbnail anyway so a broken file is reported the same way.
    await decodeImage(file, { expect: opts.expect, resize: { width: 1, height: 1 } });
    return;
  }
  // The window in the resized, unmirrored image: mirrored column c is unmirrored column nw - 1 - c.
  const left = opts.flip ? p.nw - (x1 - p.dx) : x0 - p.dx;
  const img = await decodeImage(file, {
    expect: opts.expect,
    resize: { width: p.nw, height: p.nh },
    crop: { left, top: y0 - p.dy, width: x1 - x0, height: y1 - y0 },
  });
  if (opts.flip) flipHorizontal(img);
  paste(canvas, img, x0, y0);
}
