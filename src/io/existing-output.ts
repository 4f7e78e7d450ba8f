/**
 * What an export finds at its output path, for the rule "replace only what we wrote": nothing, or the
 * first bytes of a regular file (so the caller can tell whether it is an earlier export of ours).
 * Anything else there (a folder, a symlink, a device) is refused before any work.
 */
import { promises as fs } from 'node:fs';
import { OutputExistsError } from './checkpoint.ts';

/** undefined when nothing is at `file`; else up to `headBytes` of it (0: none read). */
export async function existingOutputHead(file: string, headBytes: number, hint = 'give another path'): Promise<Buffer | undefined> {
  const st = await fs.lstat(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (st === null) return undefined;
  if (!st.isFile()) throw new OutputExistsError(`"${file}" exists and is not a file: refusing to replace it; ${hint}`);
  if (headBytes <= 0) return Buffer.alloc(0);
  const fh = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(headBytes);
    const { bytesRead } = await fh.read(head, 0, headBytes, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
