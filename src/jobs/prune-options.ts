/**
 * The options of `yolo4 prune` (its flags, camelCase) and their mapping to the pruning library's
 * options, shared by the three modes: once, --sensitivity and --iterative.
 */
import { promises as fs } from 'node:fs';
import { loadDatasetConfig, openDataset } from '../data/dataset-config.ts';
import type { Dataset } from '../data/types.ts';
import type { CocoGroundTruth } from '../eval/coco-types.ts';
import { splitGroundTruth } from '../eval/open-split.ts';
import type { Yolov4Config } from '../model/config.ts';
import type { Allocation, GroupReduction, Importance, PlanOptions, RankingOptions, Strategy } from '../prune/index.ts';
import { JobError, JobOptionError } from './errors.ts';
import type { ModelSource } from './open-model.ts';

export interface PruneJobOptions extends ModelSource {
  /** Checkpoint (once) or folder (--sensitivity, --iterative) to write; not needed with dryRun. */
  out?: string;
  force: boolean;
  // What to prune.
  layer?: string; layers?: string[]; all: boolean; amount?: number;
  /** JSON file of per-pattern amounts. */
  amounts?: string;
  // Or a budget (prune-budget.ts): keep a fraction of the FLOPs or parameters, or run S times faster.
  targetFlops?: number; targetParams?: number; targetSpeedup?: number;
  allocation?: Allocation; sensitivityFile?: string;
  /** Where to write the per-group amounts a budget chose (default: <out>.amounts.json beside the checkpoint). */
  amountsOut?: string;
  // How to rank.
  strategy: Strategy; importance: Importance; roundTo: number; minChannels: number; exclude?: string[];
  groupReduction: GroupReduction; pruneHeadInputs: boolean; seed: number;
  imgSize?: number; dryRun: boolean; verify: boolean; json: boolean;
  // --sensitivity
  sensitivity: boolean; data?: string; ratios?: string; limit?: number; proxy: boolean; proxyImages: number; top: number;
  // --iterative
  iterative: boolean; steps?: number; finetuneEpochs: number; maxMapDrop?: number; metric: 'AP50' | 'AP';
  batch: number; lr0: number; maxBatches: number; augment: boolean;
}

/** How filters are ranked and which layers are off limits: the same in all three modes. */
export function rankingOptions(o: PruneJobOptions): Required<Pick<RankingOptions, 'strategy' | 'importance'>> & RankingOptions {
  return {
    strategy: o.strategy, importance: o.importance, roundTo: o.roundTo, minChannels: o.minChannels, exclude: o.exclude,
    groupReduction: o.groupReduction, pruneOutputInputs: o.pruneHeadInputs, seed: o.seed,
  };
}

/** What to prune and by how much; an amounts file alone (no scope) means every group. */
export function scopeOptions(o: PruneJobOptions, amounts: Record<string, number> | undefined): Pick<PlanOptions, 'layer' | 'layers' | 'all' | 'amount' | 'amounts'> {
  return {
    layer: o.layer, layers: o.layers, all: o.all || (amounts !== undefined && !o.layer && !o.layers?.length),
    amount: o.amount ?? (amounts ? 0 : undefined), amounts,
  };
}

/** The `--amounts` file: an object of layer pattern -> amount. */
/** Option files (--amounts, --sensitivity-file) are small: anything bigger is refused before it is read. */
export const MAX_OPTION_FILE_BYTES = 16 * 1024 * 1024;

/** The JSON in a regular file given by `flag`, read only after its size is checked. */
export async function readOptionJson(file: string, flag: string): Promise<unknown> {
  const st = await fs.stat(file).catch((e: Error) => { throw new JobOptionError(`cannot read ${flag} "${file}": ${e.message}`); });
  if (!st.isFile()) throw new JobOptionError(`${flag} "${file}" is not a regular file`);
  if (st.size > MAX_OPTION_FILE_BYTES) throw new JobOptionError(`${flag} "${file}" is ${st.size} bytes, more than the ${MAX_OPTION_FILE_BYTES} such a file can need`);
  const text = await fs.readFile(file, 'utf8').catch((e: Error) => { throw new JobOptionError(`cannot read ${flag} "${file}": ${e.message}`); });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new JobOptionError(`${flag} "${file}" is not valid JSON: ${(e as Error).message}`);
  }
}

/** Whether `json` has the shape of an --amounts file: an object of name/pattern -> number. */
export function isAmountsJson(json: unknown): json is Record<string, number> {
  return typeof json === 'object' && json !== null && !Array.isArray(json) && Object.values(json).every((v) => typeof v === 'number');
}

export async function readAmounts(file: string): Promise<Record<string, number>> {
  const json = await readOptionJson(file, '--amounts file');
  if (!isAmountsJson(json)) throw new JobOptionError(`--amounts file "${file}" must be an object of layer pattern -> amount (number)`);
  return json;
}

export async function amountsOf(o: PruneJobOptions): Promise<Record<string, number> | undefined> {
  return o.amounts ? readAmounts(o.amounts) : undefined;
}

/** `--ratios 0.1,0.2` (commas and/or spaces). */
export function parseRatios(text: string): number[] {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const ratios = parts.map(Number);
  const bad = parts.find((p, i) => !(Number.isFinite(ratios[i]) && ratios[i] >= 0 && ratios[i] <= 1));
  if (bad !== undefined || ratios.length === 0) throw new JobOptionError(`--ratios must be comma-separated numbers in [0, 1], got '${text}'`);
  return ratios;
}

export interface PruneData { val: Dataset; train?: Dataset; gt?: CocoGroundTruth }

/** The val split (with its ground truth) and, for fine-tuning, the train split; their classes must be the model's. */
export async function openPruneData(file: string, withTrain: boolean, config: Yolov4Config): Promise<PruneData> {
  const dc = await loadDatasetConfig(file);
  const val = await openDataset(dc, 'val');
  const train = withTrain ? await openDataset(dc, 'train') : undefined;
  if (val.classNames.length !== config.numClasses) {
    throw new JobError(`the model has ${config.numClasses} classes but dataset '${dc.name}' has ${val.classNames.length}`);
  }
  return { val, train, gt: await splitGroundTruth(dc, 'val') };
}

/** "12.3 s" or "2.5 min". */
export const elapsed = (s: number) => (s >= 120 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`);
