/**
 * Checkpoint directories: the tfjs model (model.json + weight shards), `meta.json` (config, class
 * names, anchors, input size, every conv's width, pruning history, training state) and optionally the
 * optimizer state. Loading needs nothing else.
 *
 * Writes go to a sibling temp dir (meta.json last) which then takes the target's place by rename, so
 * a checkpoint on disk is never half written. Only a checkpoint this tool wrote is ever replaced
 * (checkOutputTarget); a crash between the two renames of a replacement is repaired on the next load
 * or save (checkpoint-recovery.ts).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import '../model/mish.ts'; // registers the custom layers for deserialization
import '../model/darknet-layers.ts';
import { resolveConfig, type Yolov4Config } from '../model/config.ts';
import { convWidthsOf } from '../model/yolov4.ts';
import { UsageError, Yolo4Error } from '../util/errors.ts';
import { CHECKPOINT_FORMAT, classifyDir, isOwnCheckpointFileName, siblingPath } from './checkpoint-files.ts';
import { recoverCheckpoint } from './checkpoint-recovery.ts';
import { loadLayersModel, saveLayersModel } from './model-files.ts';

export { CHECKPOINT_FORMAT } from './checkpoint-files.ts';
export { recoverCheckpoint } from './checkpoint-recovery.ts';
export const CHECKPOINT_VERSION = 1;

/**
 * One conv's removed channels, as prune/apply.ts records them and meta.json keeps them: the only
 * pruning history type (issue 12). It lives here, below prune/, because checkpoints store it; the
 * optional fields may be absent in files written by older versions.
 */
export interface PruneHistoryRecord {
  /** Layer name of the conv. */
  layer: string;
  /** 'out' (filters) or 'in' (input channels): prune/types.ts Dim. */
  dim: string;
  /** Removed channel indices. */
  indices: number[];
  /** Where the indices start in the conv's input (a concat member). */
  offset?: number;
  /** Id of the prune group this entry belongs to. */
  group?: string;
  /** prune/types.ts Strategy. */
  strategy?: string;
  amount?: number;
  /** prune/types.ts Importance. */
  importance?: string;
  /** ISO 8601. */
  date?: string;
}

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  createdAt: string;
  config: Yolov4Config;
  pruning: PruneHistoryRecord[];
  /** Where the weights came from, e.g. { kind: 'pytorch', file: 'x.pth' }. */
  source?: Record<string, unknown>;
  /** Training state: epoch, step, best metric, lr schedule position... (the training issue fills it). */
  training?: Record<string, unknown>;
  hasOptimizer?: boolean;
}

export class CheckpointError extends Yolo4Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** A refused output path (a file, a folder of someone else's, a checkpoint without --force): exit 2. */
export class OutputExistsError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'OutputExistsError';
  }
}

export interface SaveCheckpointOptions {
  pruning?: PruneHistoryRecord[];
  source?: Record<string, unknown>;
  training?: Record<string, unknown>;
  /** Serializable optimizer state; written as optimizer.json + optimizer.bin. */
  optimizer?: { json: unknown; weights?: Uint8Array };
  /**
   * Replace a checkpoint of this tool already at `dir` (default true: training's last/best and
   * pipeline steps rewrite their own). The CLI passes its --force. Nothing else is ever replaced.
   */
  overwrite?: boolean;
}

export type OutputTarget = 'new' | 'empty' | 'checkpoint';

/**
 * The one rule for a checkpoint output path: it may be absent, an empty directory, or (with `force`)
 * a checkpoint this tool wrote (our meta.json and only our files). Anything else, a file, a symlink,
 * a directory with other contents, is refused with an OutputExistsError naming it.
 */
export async function checkOutputTarget(dir: string, opts: { force?: boolean } = {}): Promise<OutputTarget> {
  const target = path.resolve(dir);
  const shown = dir === target ? `"${dir}"` : `"${dir}" (${target})`;
  const found = await classifyDir(target);
  switch (found.kind) {
    case 'absent': return 'new';
    case 'empty': return 'empty';
    case 'checkpoint':
      if (opts.force) return 'checkpoint';
      throw new OutputExistsError(`${shown} already holds a checkpoint: add --force to overwrite it, or give another --out`);
    case 'not-a-directory':
      throw new OutputExistsError(`${shown} exists and is not a directory: refusing to replace it with a checkpoint; give a new or empty directory`);
    case 'partial-checkpoint':
      throw new OutputExistsError(`${shown} holds model files but no yolo4-prune meta.json: refusing to replace it; give a new or empty directory`);
    case 'foreign': {
      const list = found.entries.slice(0, 5).map((e) => JSON.stringify(e)).join(', ') + (found.entries.length > 5 ? `, ... (${found.entries.length})` : '');
      throw new OutputExistsError(`${shown} is a directory that is not a yolo4-prune checkpoint (it holds ${list}): refusing to write over it; give a new or empty directory`);
    }
  }
}

/** Saves atomically; the config's widths are refreshed from the model so they always agree. */
export async function saveCheckpoint(dir: string, model: tf.LayersModel, config: Yolov4Config, opts: SaveCheckpointOptions = {}): Promise<CheckpointMeta> {
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    createdAt: new Date().toISOString(),
    config: { ...config, widths: pickConfigWidths(config, convWidthsOf(model)) },
    pruning: opts.pruning ?? [],
    ...(opts.source ? { source: opts.source } : {}),
    ...(opts.training ? { training: opts.training } : {}),
    hasOptimizer: Boolean(opts.optimizer),
  };
  await writeCheckpointDir(dir, opts.overwrite ?? true, async (tmp) => {
    await saveLayersModel(model, tmp);
    if (opts.optimizer) {
      await fs.writeFile(path.join(tmp, 'optimizer.json'), JSON.stringify(opts.optimizer.json));
      if (opts.optimizer.weights) await fs.writeFile(path.join(tmp, 'optimizer.bin'), opts.optimizer.weights);
    }
    // meta.json last: its presence marks a complete checkpoint.
    await fs.writeFile(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 1));
  });
  return meta;
}

/** Copies a checkpoint (our files only, meta.json last) to `to`, replacing a checkpoint there. */
export async function copyCheckpoint(from: string, to: string, opts: { overwrite?: boolean } = {}): Promise<void> {
  await readCheckpointMeta(from);
  const names = (await fs.readdir(from)).filter((n) => isOwnCheckpointFileName(n) && n !== 'meta.json');
  await writeCheckpointDir(to, opts.overwrite ?? true, async (tmp) => {
    for (const n of [...names, 'meta.json']) await fs.copyFile(path.join(from, n), path.join(tmp, n));
  });
}

/** Removes `dir` if it is a checkpoint of this tool; anything else is left alone. Returns whether it did. */
export async function removeCheckpoint(dir: string): Promise<boolean> {
  if ((await classifyDir(path.resolve(dir))).kind !== 'checkpoint') return false;
  await fs.rm(dir, { recursive: true, force: true });
  return true;
}

/** Fills a fresh sibling temp dir, then puts it at `dir` under the checkOutputTarget rule. */
async function writeCheckpointDir(dir: string, overwrite: boolean, fill: (tmp: string) => Promise<void>): Promise<void> {
  const target = path.resolve(dir);
  await fs.mkdir(path.dirname(target), { recursive: true });
  await recoverCheckpoint(target);
  await checkOutputTarget(dir, { force: overwrite }); // before the work: fail fast
  const tmp = siblingPath(target, 'tmp');
  try {
    await fs.mkdir(tmp);
    await fill(tmp);
    // Again right before the swap: the target may have changed while we wrote.
    await swapInto(tmp, target, await checkOutputTarget(dir, { force: overwrite }));
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The head output convs are not in config.widths (their width follows from classes and anchors). */
function pickConfigWidths(config: Yolov4Config, modelWidths: Record<string, number>): Record<string, number> {
  if (config.architecture === 'darknet') return {};
  const out: Record<string, number> = {};
  for (const name of Object.keys(config.widths)) out[name] = modelWidths[name] ?? config.widths[name];
  return out;
}

/**
 * Puts the complete `tmp` at `target`. Replacing a checkpoint takes two renames; a crash between them
 * leaves no target but a complete tmp and old copy, which recoverCheckpoint restores.
 */
async function swapInto(tmp: string, target: string, found: OutputTarget): Promise<void> {
  if (found === 'empty') await fs.rmdir(target); // fails if something appeared in it meanwhile
  if (found !== 'checkpoint') {
    await fs.rename(tmp, target);
    return;
  }
  const old = siblingPath(target, 'old');
  await fs.rename(target, old);
  await fs.rename(tmp, target);
  await fs.rm(old, { recursive: true, force: true });
}

export async function readCheckpointMeta(dir: string): Promise<CheckpointMeta> {
  await recoverCheckpoint(path.resolve(dir));
  const metaPath = path.join(dir, 'meta.json');
  let text: string;
  try {
    text = await fs.readFile(metaPath, 'utf8');
  } catch {
    const isDir = await fs.stat(dir).then((s) => s.isDirectory(), () => false);
    if (!isDir) throw new CheckpointError(`checkpoint not found: "${dir}" is not a directory`);
    throw new CheckpointError(`"${dir}" is not a complete checkpoint: meta.json is missing`);
  }
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(text) as CheckpointMeta;
  } catch (e) {
    throw new CheckpointError(`${metaPath} is not valid JSON: ${(e as Error).message}`);
  }
  if (meta.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${metaPath} is not a yolo4-prune checkpoint (format: ${JSON.stringify(meta.format)})`);
  if (meta.version > CHECKPOINT_VERSION) throw new CheckpointError(`${metaPath} has version ${meta.version}; this yolo4-prune reads up to ${CHECKPOINT_VERSION}`);
  meta.config = resolveConfig(meta.config, metaPath);
  meta.pruning ??= [];
  return meta;
}

export async function loadCheckpoint(dir: string): Promise<{ model: tf.LayersModel; meta: CheckpointMeta }> {
  const meta = await readCheckpointMeta(dir);
  const model = await loadLayersModel(dir);
  return { model, meta };
}

export async function loadOptimizerState(dir: string): Promise<{ json: unknown; weights?: Uint8Array } | undefined> {
  const jsonPath = path.join(dir, 'optimizer.json');
  const text = await fs.readFile(jsonPath, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const weights = await fs.readFile(path.join(dir, 'optimizer.bin')).then((b) => new Uint8Array(b), () => undefined);
  try {
    return { json: JSON.parse(text), weights };
  } catch (e) {
    throw new CheckpointError(`${jsonPath} is not valid JSON (a corrupt optimizer state): ${(e as Error).message}`);
  }
}

export async function isCheckpointDir(p: string): Promise<boolean> {
  return fs.stat(path.join(p, 'meta.json')).then((s) => s.isFile(), () => false);
}
