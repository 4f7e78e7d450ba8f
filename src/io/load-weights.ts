/**
 * One entry point for "weights" arguments: a checkpoint directory or a PyTorch `.pth` file.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { Yolov4Config } from '../model/config.ts';
import { CheckpointError, isCheckpointDir, loadCheckpoint, recoverCheckpoint, type CheckpointMeta } from './checkpoint.ts';
import { importTorchYolov4, type TorchImportOptions } from './torch-yolov4.ts';

export interface LoadedWeights {
  model: tf.LayersModel;
  config: Yolov4Config;
  pruning: CheckpointMeta['pruning'];
  training?: Record<string, unknown>;
  source: Record<string, unknown>;
}

const TORCH_EXTENSIONS = ['.pth', '.pt', '.ckpt', '.bin'];

export async function loadWeights(p: string, torchOpts: TorchImportOptions = {}): Promise<LoadedWeights> {
  await recoverCheckpoint(path.resolve(p)); // a save of p that crashed mid-swap leaves p missing
  const stat = await fs.stat(p).catch(() => undefined);
  if (!stat) throw new CheckpointError(`weights not found: "${p}" (expected a checkpoint directory or a PyTorch .pth file)`);
  if (stat.isDirectory()) {
    if (!(await isCheckpointDir(p))) throw new CheckpointError(`"${p}" is a directory but not a checkpoint (no meta.json)`);
    const { model, meta } = await loadCheckpoint(p);
    return { model, config: meta.config, pruning: meta.pruning, training: meta.training, source: { kind: 'checkpoint', path: p, ...(meta.source ? { from: meta.source } : {}) } };
  }
  if (!TORCH_EXTENSIONS.some((ext) => p.toLowerCase().endsWith(ext))) {
    throw new CheckpointError(`don't know how to read "${p}": give a checkpoint directory or a PyTorch file (${TORCH_EXTENSIONS.join(', ')})`);
  }
  const { model, config, format, kind } = await importTorchYolov4(p, torchOpts);
  return { model, config, pruning: [], source: { kind: 'pytorch', file: p, format, content: kind } };
}

/** Reads a class-names file: one name per line, blank lines ignored. */
export async function readClassNames(file: string): Promise<string[]> {
  const text = await fs.readFile(file, 'utf8').catch((e: Error) => {
    throw new CheckpointError(`cannot read class names file "${file}": ${e.message}`);
  });
  const names = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (names.length === 0) throw new CheckpointError(`class names file "${file}" is empty`);
  return names;
}
