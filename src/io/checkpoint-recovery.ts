/**
 * Crash recovery for checkpoint saves. A save writes `<X>.tmp-<pid>-<ms>` (meta.json last), renames
 * the old X to `<X>.old-<pid>-<ms>`, renames the tmp to X and removes the old one. A crash between the
 * two renames leaves no X; any crash leaves tmp/old folders behind. Before a load or save of X:
 * - X missing: the newest complete copy (our meta.json present) of a crashed save is renamed to X,
 *   said on stderr;
 * - tmp/old folders of processes that no longer run are removed, but only when they hold nothing but
 *   our checkpoint files (anything else there is left alone).
 */
import { promises as fs } from 'node:fs';
import { classifyDir, listSiblings, processAlive, readCreatedAt, type Sibling } from './checkpoint-files.ts';

export type RecoveryLog = (line: string) => void;

const stderr: RecoveryLog = (line) => console.error(line);

/** Restores a missing X from a crashed save and removes stale temp folders. Never throws for cleanup. */
export async function recoverCheckpoint(target: string, log: RecoveryLog = stderr): Promise<void> {
  const stale = (await listSiblings(target)).filter((s) => !processAlive(s.pid));
  if (stale.length === 0) return;
  const restored = await restoreMissing(target, stale, log);
  for (const s of stale) {
    if (s.path === restored) continue;
    const kind = (await classifyDir(s.path).catch(() => ({ kind: 'foreign' as const }))).kind;
    if (kind === 'checkpoint' || kind === 'partial-checkpoint' || kind === 'empty') {
      await fs.rm(s.path, { recursive: true, force: true }).catch((e: Error) => log(`could not remove ${s.path}: ${e.message}`));
    }
  }
}

async function restoreMissing(target: string, stale: Sibling[], log: RecoveryLog): Promise<string | undefined> {
  const present = await fs.lstat(target).then(() => true, () => false);
  if (present) return undefined;
  const complete: { s: Sibling; t: number }[] = [];
  for (const s of stale) {
    if ((await classifyDir(s.path).catch(() => undefined))?.kind !== 'checkpoint') continue;
    complete.push({ s, t: (await readCreatedAt(s.path)) ?? s.ms });
  }
  if (complete.length === 0) return undefined;
  // The newest save: a finished tmp is newer than the old copy it was about to replace.
  complete.sort((a, b) => b.t - a.t || b.s.ms - a.s.ms);
  const from = complete[0].s.path;
  try {
    await fs.rename(from, target);
  } catch (e) {
    log(`could not restore ${target} from ${from}: ${(e as Error).message}`);
    return undefined;
  }
  log(`restored ${target} from ${from}, left by a save that was interrupted`);
  return from;
}
