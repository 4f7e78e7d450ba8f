/**
 * Drawing detections on images: sharp + an SVG overlay (boxes, filled label backgrounds with
 * contrasting text, one colour per class, labels kept inside the image and off each other: see
 * label-layout.ts).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import type sharp from 'sharp';
import type { Detection } from './nms.ts';
import { placeLabels, type LabelRect, type LabelRequest } from './label-layout.ts';
import { describeInput, imageSize, ImageDecodeError, toSharp } from '../image/decode.ts';
import type { ImageInput } from '../image/rgb.ts';

export type Rgb = [number, number, number];

export interface DrawOptions {
  /** Names by class id; missing names print as "class<id>". */
  classNames?: string[];
  /** Box line width in pixels (default: about 1/200 of the smaller image side, at least 2). */
  lineWidth?: number;
  /** Label font size in pixels (default: about 1/35 of the smaller image side, at least 11). */
  fontSize?: number;
  /** Print the score after the class name (default true). */
  showScore?: boolean;
  /** Colour of each class (default classColor). */
  colorOf?: (classId: number) => Rgb;
}

/** A distinct colour per class: hues spread by the golden ratio, two brightness levels. */
export function classColor(classId: number): Rgb {
  const h = ((classId * 0.618033988749895) % 1 + 1) % 1;
  const s = 0.85;
  const v = Math.floor(classId / 2) % 2 === 0 ? 1 : 0.8;
  return hsvToRgb(h, s, v);
}

function hsvToRgb(h: number, s: number, v: number): Rgb {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  const [r, g, b] = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i % 6];
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

/** Black or white, whichever reads better on the given background (WCAG relative luminance). */
export function textColorOn(bg: Rgb): Rgb {
  const lin = (c: number) => {
    const x = c / 255;
    return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * lin(bg[0]) + 0.7152 * lin(bg[1]) + 0.0722 * lin(bg[2]);
  // Contrast with black (l + 0.05) / 0.05 vs with white 1.05 / (l + 0.05): black wins above l ~ 0.179.
  return l > 0.179 ? [0, 0, 0] : [255, 255, 255];
}

const hex = (c: Rgb) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
const escapeXml = (s: string) => s.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch]!);

/** DejaVu Sans Mono's advance width is 0.602 em, so label widths are known without measuring text. */
const FONT_FAMILY = "'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, monospace";
const CHAR_WIDTH_EM = 0.61;

export function labelText(d: Detection, opts: DrawOptions = {}): string {
  const name = opts.classNames?.[d.classId] ?? `class${d.classId}`;
  return opts.showScore === false ? name : `${name} ${d.score.toFixed(2)}`;
}

/** Sizes used for an image of this size (exported so tests and callers can reason about them). */
export function drawMetrics(width: number, height: number, opts: DrawOptions = {}) {
  const side = Math.min(width, height);
  const lineWidth = Math.max(1, Math.round(opts.lineWidth ?? Math.max(2, side / 200)));
  const fontSize = Math.max(6, Math.round(opts.fontSize ?? Math.max(11, side / 35)));
  const padX = Math.ceil(fontSize * 0.25);
  const labelH = Math.ceil(fontSize * 1.3);
  return { lineWidth, fontSize, padX, labelH };
}

/** The label rectangles detectionsSvg draws, one per drawn detection in order (exported for tests and callers). */
export function labelRects(width: number, height: number, detections: Detection[], opts: DrawOptions = {}): LabelRect[] {
  const { fontSize, padX, labelH } = drawMetrics(width, height, opts);
  const requests: LabelRequest[] = [];
  for (const d of detections) {
    const box = pixelBox(d, width, height);
    if (box) requests.push({ box, width: Math.ceil(labelText(d, opts).length * fontSize * CHAR_WIDTH_EM) + 2 * padX });
  }
  return placeLabels(requests, labelH, width, height);
}

/** Integer corners inside the image, or undefined when nothing of the box is left. */
function pixelBox(d: Detection, width: number, height: number): [number, number, number, number] | undefined {
  const x1 = clamp(Math.round(d.box[0]), 0, width), y1 = clamp(Math.round(d.box[1]), 0, height);
  const x2 = clamp(Math.round(d.box[2]), 0, width), y2 = clamp(Math.round(d.box[3]), 0, height);
  return x2 > x1 && y2 > y1 ? [x1, y1, x2, y2] : undefined;
}

/** The SVG overlay (width x height, transparent) with every detection's box and label. */
export function detectionsSvg(width: number, height: number, detections: Detection[], opts: DrawOptions = {}): string {
  const { lineWidth: lw, fontSize, padX, labelH } = drawMetrics(width, height, opts);
  const colorOf = opts.colorOf ?? classColor;
  const boxes: string[] = [];
  const labels: string[] = [];
  const rects = labelRects(width, height, detections, opts);
  let drawn = 0;
  for (const d of detections) {
    const color = colorOf(d.classId);
    // Integer edges; the stroke is drawn inside [x1, x2] x [y1, y2].
    const box = pixelBox(d, width, height);
    if (!box) continue;
    const [x1, y1, x2, y2] = box;
    const bw = x2 - x1, bh = y2 - y1;
    const t = Math.min(lw, bw / 2, bh / 2);
    boxes.push(`<rect x="${x1 + t / 2}" y="${y1 + t / 2}" width="${bw - t}" height="${bh - t}" fill="none" stroke="${hex(color)}" stroke-width="${t}"/>`);

    const text = labelText(d, opts);
    const { x: lx, y: ly, w: labelW } = rects[drawn++];
    labels.push(
      `<rect x="${lx}" y="${ly}" width="${labelW}" height="${labelH}" fill="${hex(color)}"/>`
      + `<text x="${lx + padX}" y="${ly + Math.round(labelH * 0.78)}" fill="${hex(textColorOn(color))}">${escapeXml(text)}</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`
    + `<g shape-rendering="crispEdges">${boxes.join('')}</g>`
    + `<g font-family="${FONT_FAMILY}" font-size="${fontSize}">${labels.join('')}</g></svg>`;
}

/**
 * The image with detections drawn (boxes in the image's pixels), as a sharp pipeline (RGB, no alpha)
 * ready for .jpeg()/.png()/.raw(). `size` skips reading the size when it is known.
 */
export async function renderDetections(
  image: ImageInput,
  detections: Detection[],
  opts: DrawOptions = {},
  size?: { width: number; height: number },
): Promise<sharp.Sharp> {
  const { width, height } = size ?? (await imageSize(image));
  const svg = detectionsSvg(width, height, detections, opts);
  return toSharp(image).toColourspace('srgb').composite([{ input: Buffer.from(svg), top: 0, left: 0 }]).removeAlpha();
}

/** Draws detections and writes the image; the format follows the extension (.png, .webp, else JPEG). */
export async function drawDetections(
  image: ImageInput,
  detections: Detection[],
  outPath: string,
  opts: DrawOptions & { jpegQuality?: number } = {},
  size?: { width: number; height: number },
): Promise<void> {
  const pipe = await renderDetections(image, detections, opts, size);
  const ext = extname(outPath).toLowerCase();
  const out = ext === '.png' ? pipe.png() : ext === '.webp' ? pipe.webp({ quality: 90 }) : pipe.jpeg({ quality: opts.jpegQuality ?? 90 });
  await mkdir(dirname(outPath), { recursive: true });
  try {
    await out.toFile(outPath);
  } catch (e) {
    const name = describeInput(image);
    // sharp decodes lazily, so a broken input surfaces here, at the write.
    const detail = (e as Error).message;
    throw new ImageDecodeError(name, 'unreadable', detail, `cannot draw on "${name}" / write "${outPath}": ${detail}`);
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
