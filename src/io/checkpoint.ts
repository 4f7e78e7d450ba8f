/**
 * Checkpoint directories: the tfjs model (model.json + weight shards), `meta.json` (config, class
 * names, anchors, input size, every conv's width, pruning history, training state) and optionally the
 * optimizer state. Loading needs nothing else.
 *
 * Writes are atomic: everything goes to a sibling temp dir which then replaces the target by rename,
 * so a crash leaves either the old checkpoint or the new one, never half of one.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import '../model/mish.ts'; // registers the custom layers for deserialization
import '../model/darknet-layers.ts';
import { resolveConfig, type Yolov4Config } from '../model/config.ts';
import { convWidthsOf } from '../model/yolov4.ts';
import { loadLayersModel, saveLayersModel } from './model-files.ts';

export const CHECKPOINT_FORMAT = 'yolo4-prune-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface PruneHistoryRecord {
  layer: string;
  dim: string;
  indices: number[];
  strategy?: string;
  amount?: number;
  importance?: string;
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

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export interface SaveCheckpointOptions {
  pruning?: PruneHistoryRecord[];
  source?: Record<string, unknown>;
  training?: Record<string, unknown>;
  /** Serializable optimizer state; written as optimizer.json + optimizer.bin. */
  optimizer?: { json: unknown; weights?: Uint8Array };
}

/** Saves atomically; the config's widths are refreshed from the model so they always agree. */
export async function saveCheckpoint(dir: string, model: tf.LayersModel, config: Yolov4Config, opts: SaveCheckpointOptions = {}): Promise<CheckpointMeta> {
  const target = path.resolve(dir);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
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
  try {
    await fs.mkdir(tmp, { recursive: true });
    await saveLayersModel(model, tmp);
    if (opts.optimizer) {
      await fs.writeFile(path.join(tmp, 'optimizer.json'), JSON.stringify(opts.optimizer.json));
      if (opts.optimizer.weights) await fs.writeFile(path.join(tmp, 'optimizer.bin'), opts.optimizer.weights);
    }
    // meta.json last: its presence marks a complete checkpoint.
    await fs.writeFile(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 1));
    await replaceDir(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return meta;
}

/** The head output convs are not in config.widths (their width follows from classes and anchors). */
function pickConfigWidths(config: Yolov4Config, modelWidths: Record<string, number>): Record<string, number> {
  if (config.architecture === 'darknet') return {};
  const out: Record<string, number> = {};
  for (const name of Object.keys(config.widths)) out[name] = modelWidths[name] ?? config.widths[name];
  return out;
}

async function replaceDir(from: string, to: string): Promise<void> {
  const exists = await fs.stat(to).then(() => true, () => false);
  if (!exists) {
    await fs.rename(from, to);
    return;
  }
  const old = `${to}.old-${process.pid}-${Date.now()}`;
  await fs.rename(to, old);
  await fs.rename(from, to);
  await fs.rm(old, { recursive: true, force: true });
}

export async function readCheckpointMeta(dir: string): Promise<CheckpointMeta> {
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
  return { json: JSON.parse(text), weights };
}

export async function isCheckpointDir(p: string): Promise<boolean> {
  return fs.stat(path.join(p, 'meta.json')).then((s) => s.isFile(), () => false);
}
