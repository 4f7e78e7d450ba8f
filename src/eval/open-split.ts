/**
 * One split of a dataset config with its COCO ground truth: what eval, training validation, the
 * sensitivity analysis, iterative pruning and the demo all evaluate against. The ground truth is the
 * split's own annotations file for COCO datasets; other formats have none here (evaluation then
 * builds it from the dataset's boxes).
 */
import { loadDatasetConfig, openDataset, type DatasetConfig } from '../data/dataset-config.ts';
import type { Dataset, ReadOptions, Split } from '../data/types.ts';
import { loadGroundTruth } from './coco-io.ts';
import type { CocoGroundTruth } from './coco-types.ts';

export interface OpenedSplit {
  dataset: Dataset;
  /** The COCO annotations of the split (undefined for yolo/voc datasets). */
  groundTruth?: CocoGroundTruth;
}

/** The split's COCO ground truth, or undefined when the dataset is not COCO or the split has no annotations file. */
export async function splitGroundTruth(config: DatasetConfig, split: Split): Promise<CocoGroundTruth | undefined> {
  const source = config[split] as { annotations?: string } | undefined;
  return config.format === 'coco' && source?.annotations ? loadGroundTruth(source.annotations) : undefined;
}

/** Opens `split` of a dataset config (object or JSON file) and loads its ground truth. */
export async function openSplit(config: DatasetConfig | string, split: Split, opts: ReadOptions = {}): Promise<OpenedSplit> {
  const dc = typeof config === 'string' ? await loadDatasetConfig(config) : config;
  const dataset = await openDataset(dc, split, opts);
  return { dataset, groundTruth: await splitGroundTruth(dc, split) };
}
