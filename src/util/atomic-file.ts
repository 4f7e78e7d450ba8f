/**
 * Writes a file so that readers see either the old file or the complete new one, never a part:
 * the bytes go to a temp file beside the target, which is flushed and then renamed over it.
 * A missing parent folder is created.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export async function writeFileAtomic(target: string, chunks: readonly Uint8Array[]): Promise<void> {
  await fs.mkdir(path.dirname(path.resolve(target)), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  const handle = await fs.open(tmp, 'wx');
  try {
    for (const chunk of chunks) {
      let done = 0;
      while (done < chunk.length) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
    }
    await handle.sync();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  try {
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
