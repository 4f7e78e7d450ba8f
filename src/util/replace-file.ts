/**
 * Writes a file so that it is never seen half-written: the data goes to a temp file beside it, which
 * is then renamed over the target (atomic on one filesystem). The temp file is removed on failure,
 * but only the one this call created.
 */
import { promises as fs } from 'node:fs';

export async function replaceFile(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Date.now().toString(36)}`;
  let created = false;
  try {
    await fs.writeFile(tmp, data, { flag: 'wx' });
    created = true;
    await fs.rename(tmp, file);
  } catch (e) {
    if (created) await fs.rm(tmp, { force: true });
    throw e;
  }
}
