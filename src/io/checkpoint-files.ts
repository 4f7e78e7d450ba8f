/**
 * What a checkpoint directory written by this tool looks like, so nothing else is ever replaced or
 * removed: its `meta.json` says `format: 'yolo4-prune-checkpoint'` and every entry is a file name
 * saveCheckpoint writes. Also the names of the sibling folders a save uses while it runs
 * (`<name>.tmp-<pid>-<ms>`, `<name>.old-<pid>-<ms>`), which recovery and cleanup look for.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { WEIGHT_FILE } from './model-files.ts';

export const CHECKPOINT_FORMAT = 'yolo4-prune-checkpoint';

/** meta.json, the tfjs model files and the optimizer state: nothing else lives in a checkpoint. */
const OWN_FILES = new Set(['meta.json', 'model.json', 'optimizer.json', 'optimizer.bin']);

export function isOwnCheckpointFileName(name: string): boolean {
  return OWN_FILES.has(name) || WEIGHT_FILE.test(name);
}

export type DirKind =
  | { kind: 'absent' }
  | { kind: 'not-a-directory' }
  | { kind: 'empty' }
  /** A complete checkpoint of this tool (meta.json is written last, so its presence means complete). */
  | { kind: 'checkpoint' }
  /** Only our file names but no (valid) meta.json: a save that did not finish, or a half-removed one. */
  | { kind: 'partial-checkpoint' }
  | { kind: 'foreign'; entries: string[] };

/** Looks at `dir` without following a symlink at `dir` itself (a link is never ours to replace). */
export async function classifyDir(dir: string): Promise<DirKind> {
  const st = await fs.lstat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (st === null) return { kind: 'absent' };
  if (!st.isDirectory()) return { kind: 'not-a-directory' };
  const entries = await fs.readdir(dir, { withFileTypes: true });
  if (entries.length === 0) return { kind: 'empty' };
  const foreign = entries.filter((e) => !(e.isFile() && isOwnCheckpointFileName(e.name))).map((e) => e.name);
  if (foreign.length > 0) return { kind: 'foreign', entries: foreign };
  return (await hasOwnMeta(dir)) ? { kind: 'checkpoint' } : { kind: 'partial-checkpoint' };
}

async function hasOwnMeta(dir: string): Promise<boolean> {
  const text = await fs.readFile(path.join(dir, 'meta.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  try {
    return (JSON.parse(text) as { format?: unknown }).format === CHECKPOINT_FORMAT;
  } catch {
    return false;
  }
}

/** createdAt of our meta.json (for picking the newest of several complete copies), or undefined. */
export async function readCreatedAt(dir: string): Promise<number | undefined> {
  const text = await fs.readFile(path.join(dir, 'meta.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const t = Date.parse((JSON.parse(text) as { createdAt?: string }).createdAt ?? '');
    return Number.isFinite(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

export type SiblingRole = 'tmp' | 'old';

/** `<target>.tmp-<pid>-<ms>`: where a save writes; `<target>.old-<pid>-<ms>`: the replaced checkpoint. */
export function siblingPath(target: string, role: SiblingRole): string {
  return `${target}.${role}-${process.pid}-${Date.now()}`;
}

export interface Sibling { path: string; role: SiblingRole; pid: number; ms: number }

/** The tmp/old folders of `target` that saves (of any process) left next to it. */
export async function listSiblings(target: string): Promise<Sibling[]> {
  const parent = path.dirname(target);
  const base = path.basename(target);
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  const out: Sibling[] = [];
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const m = /^\.(tmp|old)-(\d+)-(\d+)$/.exec(name.slice(base.length));
    if (m) out.push({ path: path.join(parent, name), role: m[1] as SiblingRole, pid: Number(m[2]), ms: Number(m[3]) });
  }
  return out;
}

/** Whether a process with this id runs (ours counts as running: it may be saving right now). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}
