/**
 * The open-time image check shared by the readers (`ReadOptions.checkImages`): existence, or the
 * header (size, readability). Broken images throw or, with `skipBad`, are dropped with a warning.
 */
import { access } from 'node:fs/promises';
import { DatasetError } from './errors.ts';
import { probeImage } from './image-files.ts';
import { mapLimit } from './pool.ts';
import { reportBad } from './skip-bad.ts';
import type { DatasetItem, ReadOptions } from './types.ts';

/** Returns the items that passed. Items without width/height are always probed and get their size. */
export async function checkImages(items: DatasetItem[], opts: ReadOptions): Promise<DatasetItem[]> {
  const mode = opts.checkImages ?? 'exists';
  const ok = await mapLimit(items, opts.concurrency ?? 16, async (item) => {
    try {
      if (mode === 'header' || item.width === undefined || item.height === undefined) {
        const size = await probeImage(item.file);
        if (item.width !== undefined && item.height !== undefined && (size.width !== item.width || size.height !== item.height)) {
          throw new DatasetError(
            { file: item.file },
            `image is ${size.width}x${size.height} but the annotations say ${item.width}x${item.height}`,
          );
        }
        item.width = size.width;
        item.height = size.height;
      } else if (mode === 'exists') {
        try {
          await access(item.file);
        } catch {
          throw new DatasetError({ file: item.file }, 'image file not found');
        }
      }
      return true;
    } catch (e) {
      reportBad(e, opts);
      return false;
    }
  });
  return items.filter((_, i) => ok[i]);
}
