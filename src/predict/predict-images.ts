/**
 * Prediction on image files: expand paths/folders/globs, letterbox, detect in batches, draw, write JSON.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import fg from 'fast-glob';
import type { Yolov4Config } from '../model/config.ts';
import type { Predictor } from './detect.ts';
import { Detector, type DetectorConfig, type DetectorOptions } from './detector.ts';
import type { DrawOptions } from './draw.ts';
import { Detections, type JsonDetection } from './detections.ts';
import type { LetterboxResult } from '../image/letterbox.ts';
import type { Detection } from './nms.ts';
import { ImageInputError } from './errors.ts';

export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'bmp', 'webp', 'tif', 'tiff', 'gif', 'avif', 'heic'];

/** The detector options (conf, iou, mode...) apply when a bare model is given; a Detector brings its own. */
export interface PredictImagesOptions extends DetectorOptions {
  /** Write `predictions.json` in outDir (default true). */
  saveJson?: boolean;
  /** Write annotated images (default true). */
  saveImages?: boolean;
  /** Class names (default: the config's). */
  classNames?: string[];
  /** Images per forward pass (default 1). */
  batch?: number;
  /** 'throw' (default) stops at the first unreadable image; 'skip' reports it via onError and goes on. */
  onBadImage?: 'throw' | 'skip';
  onError?: (file: string, error: Error) => void;
  onProgress?: (p: PredictProgress) => void;
  draw?: Omit<DrawOptions, 'classNames'>;
}

export interface PredictProgress {
  done: number;
  total: number;
  file: string;
  detections: number;
  /** Images per second since the start. */
  imagesPerSecond: number;
}

export type { JsonDetection };

export interface ImagePrediction {
  image: string;
  width: number;
  height: number;
  /** Annotated image path, if written. */
  output?: string;
  detections: JsonDetection[];
}

const isImageFile = (p: string) => IMAGE_EXTENSIONS.includes(extname(p).slice(1).toLowerCase());

/**
 * Expands sources into image files: files as given, folders recursively (image extensions, case-insensitive),
 * glob patterns via fast-glob. Missing paths and empty folders/globs are errors naming the source.
 * Order: sources in order, each expansion sorted; duplicates removed.
 */
export async function expandImageSources(sources: string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (p: string) => {
    const key = resolve(p);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(p);
    }
  };
  const pattern = `**/*.{${IMAGE_EXTENSIONS.join(',')}}`;
  for (const src of sources) {
    const st = await stat(src).catch(() => null);
    if (st?.isDirectory()) {
      const files = await fg(pattern, { cwd: src, caseSensitiveMatch: false, onlyFiles: true, followSymbolicLinks: true });
      if (files.length === 0) throw new ImageInputError(`no images (${IMAGE_EXTENSIONS.join(', ')}) in folder "${src}"`);
      files.sort().forEach((f) => add(join(src, f)));
    } else if (st) {
      add(src);
    } else if (fg.isDynamicPattern(src)) {
      const files = (await fg(src.replace(/\\/g, '/'), { caseSensitiveMatch: false, onlyFiles: true })).filter(isImageFile);
      if (files.length === 0) throw new ImageInputError(`no images match "${src}"`);
      files.sort().forEach(add);
    } else {
      throw new ImageInputError(`image not found: "${src}"`);
    }
  }
  return out;
}

/** Output file names: the input's base name, made unique with _1, _2... when two inputs share one. */
function outputNames(files: string[]): string[] {
  const used = new Set<string>();
  return files.map((f) => {
    const ext = extname(f);
    const lower = ext.toLowerCase();
    const stem = basename(f, ext);
    const outExt = lower === '.png' ? '.png' : lower === '.webp' ? '.webp' : '.jpg';
    let name = `${stem}${outExt}`;
    for (let k = 1; used.has(name.toLowerCase()); k++) name = `${stem}_${k}${outExt}`;
    used.add(name.toLowerCase());
    return name;
  });
}


/**
 * Detects objects in images and writes annotated copies (and predictions.json) to outDir.
 * Returns the predictions in input order.
 */
export async function predictImages(
  model: Predictor | Detector,
  config: DetectorConfig & Pick<Yolov4Config, 'classNames'>,
  sources: string[],
  outDir: string,
  opts: PredictImagesOptions = {},
): Promise<ImagePrediction[]> {
  const files = await expandImageSources(sources);
  const names = outputNames(files);
  const classNames = opts.classNames ?? config.classNames;
  const detector = model instanceof Detector ? model : Detector.wrap(model, config, opts);
  const batch = Math.max(1, Math.floor(opts.batch ?? 1));
  const saveImages = opts.saveImages ?? true;
  const saveJson = opts.saveJson ?? true;
  if (saveImages || saveJson) await mkdir(outDir, { recursive: true });

  const results: (ImagePrediction | undefined)[] = new Array(files.length);
  const t0 = performance.now();
  let done = 0;

  // Letterboxing runs in sharp's thread pool: the next batch is prepared while the model runs.
  const load = (start: number) => Promise.all(files.slice(start, start + batch).map(async (f) => {
    try {
      return await detector.prepare(f);
    } catch (e) {
      if (opts.onBadImage === 'skip') {
        opts.onError?.(f, e as Error);
        return null;
      }
      throw e;
    }
  }));
  const writes: Promise<void>[] = [];
  let writeError: Error | undefined;
  let next = files.length > 0 ? load(0) : null;
  for (let start = 0; start < files.length; start += batch) {
    const loaded = await next!;
    // Keep the prefetched promise handled even if this batch throws.
    next = start + batch < files.length ? load(start + batch) : null;
    next?.catch(() => undefined);
    const ok = loaded.map((r, i) => ({ r, i: start + i })).filter((x): x is { r: LetterboxResult; i: number } => x.r !== null);
    const dets = ok.length ? await detector.detectPrepared(ok.map((x) => x.r)) : [];
    ok.forEach(({ r, i }, k) => {
      const output = saveImages ? join(outDir, names[i]) : undefined;
      const found = Detections.create(dets[k], { width: r.info.origW, height: r.info.origH }, classNames);
      results[i] = {
        image: files[i],
        width: r.info.origW,
        height: r.info.origH,
        output,
        detections: found.toJSON(),
      };
      if (output) {
        writes.push(
          found.draw(files[i], output, opts.draw)
            .catch((e: Error) => { writeError ??= e; }),
        );
      }
    });
    // Bound the number of pending writes.
    if (writes.length >= 4 * batch) await Promise.all(writes.splice(0));
    if (writeError) throw writeError;
    for (let i = start; i < Math.min(start + batch, files.length); i++) {
      done++;
      const elapsed = (performance.now() - t0) / 1000;
      opts.onProgress?.({ done, total: files.length, file: files[i], detections: results[i]?.detections.length ?? 0, imagesPerSecond: done / Math.max(elapsed, 1e-9) });
    }
  }
  await Promise.all(writes);
  if (writeError) throw writeError;
  const predictions = results.filter((r): r is ImagePrediction => r !== undefined);
  if (saveJson) await writeFile(join(outDir, 'predictions.json'), `${JSON.stringify(predictions, null, 2)}\n`);
  return predictions;
}
