/**
 * `yolo4 prune --target-flops R | --target-params R | --target-speedup S`: the job side of
 * prune/budget.ts. Reads (or computes with --data) the sensitivity table of the `sensitivity`
 * allocation, turns a speed-up into a FLOPs target by measuring (prune-latency.ts), and writes the
 * chosen per-group amounts as an `--amounts` file.
 */
import { promises as fs } from 'node:fs';
import type * as tf from '@tensorflow/tfjs';
import type { Yolov4Config } from '../model/config.ts';
import {
  applyPlan, formatBudget, planToBudget, type BudgetOptions, type BudgetResult, type BudgetTarget, type GroupAmounts, type SensitivityTable,
} from '../prune/index.ts';
import { JobError, JobOptionError } from './errors.ts';
import { measureLatency } from './prune-latency.ts';
import { withSyncReads } from '../backend/webgpu-sync-read.ts';
import { isAmountsJson, openPruneData, parseRatios, rankingOptions, readOptionJson, type PruneData, type PruneJobOptions } from './prune-options.ts';
import { writeFileAtomic } from '../util/atomic-file.ts';
import { analyzeSensitivity, type SensitivityResult } from './sensitivity.ts';

/** Whether the options ask for a budget instead of amounts. */
export const hasTarget = (o: PruneJobOptions) => o.targetFlops !== undefined || o.targetParams !== undefined || o.targetSpeedup !== undefined;

/** The FLOPs or parameters target of the options (a speed-up is searched for in FLOPs). */
export function budgetTargetOf(o: PruneJobOptions): BudgetTarget {
  if (o.targetParams !== undefined) return { metric: 'params', ratio: o.targetParams };
  return { metric: 'flops', ratio: o.targetFlops ?? 1 / o.targetSpeedup! };
}

/** The curves of a sensitivity analysis: damage = AP50 lost (mAP metric) or the output change (proxy). */
export function sensitivityTableOf(r: Pick<SensitivityResult, 'metric' | 'baseline' | 'rows'>): SensitivityTable {
  const byGroup = new Map<string, SensitivityTable['curves'][number]>();
  for (const row of r.rows) {
    let c = byGroup.get(row.group);
    if (!c) byGroup.set(row.group, (c = { group: row.group, n: row.n, points: [] }));
    const damage = r.metric === 'map' ? r.baseline.AP50 - row.AP50 : row.outputChange;
    c.points.push({ ratio: row.ratio, damage, flops: row.flops, params: row.params });
  }
  return { baseline: { flops: r.baseline.flops, params: r.baseline.params }, curves: [...byGroup.values()] };
}

/** A `sensitivity.json` written by `prune --sensitivity`. */
export async function readSensitivityFile(file: string): Promise<SensitivityTable> {
  const json = (await readOptionJson(file, '--sensitivity-file')) as Partial<SensitivityResult>;
  if (typeof json !== 'object' || json === null) throw new JobOptionError(`--sensitivity-file "${file}" is not a sensitivity.json written by \`yolo4 prune --sensitivity\``);
  const rowOk = (x: unknown) => typeof x === 'object' && x !== null && typeof (x as { group?: unknown }).group === 'string' &&
    ['n', 'ratio', 'flops', 'params'].every((k) => typeof (x as Record<string, unknown>)[k] === 'number');
  if ((json.metric !== 'map' && json.metric !== 'proxy') || !rowOk(json.baseline) || !Array.isArray(json.rows) || !json.rows.every(rowOk)) {
    throw new JobOptionError(`--sensitivity-file "${file}" is not a sensitivity.json written by \`yolo4 prune --sensitivity\``);
  }
  // JSON has no NaN: a missing metric is null.
  const num = (v: unknown) => (typeof v === 'number' ? v : NaN);
  return sensitivityTableOf({
    metric: json.metric, baseline: { ...json.baseline!, AP50: num(json.baseline!.AP50) },
    rows: json.rows.map((r) => ({ ...r, AP50: num(r.AP50), outputChange: num(r.outputChange) })),
  });
}

/** The sensitivity table of `model` measured on the val split of --data (with --ratios, --limit, --proxy). */
export async function measureSensitivityTable(model: tf.LayersModel, config: Yolov4Config, o: PruneJobOptions, data: PruneData, log: (l: string) => void): Promise<SensitivityTable> {
  log(`measuring the sensitivity of every group on ${o.data}${o.limit ? ` (first ${o.limit} val images)` : ''}...`);
  const r = await analyzeSensitivity(model, config, {
    ...rankingOptions(o), dataset: data.val, groundTruth: data.gt, ratios: o.ratios !== undefined ? parseRatios(o.ratios) : undefined,
    layers: o.layer !== undefined ? [o.layer] : o.layers, limit: o.limit, inputSize: o.imgSize, proxy: o.proxy, proxyImages: o.proxyImages,
  });
  log(`sensitivity measured in ${r.seconds.toFixed(1)} s`);
  return sensitivityTableOf(r);
}

/** The table of the sensitivity allocation: the file, or measured now on --data (its val split). */
async function sensitivityTable(model: tf.LayersModel, config: Yolov4Config, o: PruneJobOptions, log: (l: string) => void): Promise<SensitivityTable | undefined> {
  if (o.allocation !== 'sensitivity') return undefined;
  if (o.sensitivityFile) return readSensitivityFile(o.sensitivityFile);
  if (!o.data) throw new JobOptionError('--allocation sensitivity needs --sensitivity-file <sensitivity.json> or --data <dataset config>');
  return measureSensitivityTable(model, config, o, await openPruneData(o.data, false, config), log);
}

/** planToBudget's options from the job options (scope, ranking, allocation, table). */
export async function budgetOptions(model: tf.LayersModel, config: Yolov4Config, o: PruneJobOptions, inputSize: number, log: (l: string) => void): Promise<Omit<BudgetOptions, 'target'>> {
  return {
    layer: o.layer, layers: o.layers, all: o.all || (!o.layer && !o.layers?.length),
    ...rankingOptions(o), inputSize, allocation: o.allocation ?? 'uniform',
    sensitivity: await sensitivityTable(model, config, o, log),
  };
}

/** A budget plan, with the measured latencies when the target was a speed-up. */
export interface BudgetJobResult extends BudgetResult {
  speedup?: { target: number; reached: number; beforeMs: number; afterMs: number };
}

/** Speed-up rounds: each aims the FLOPs lower by the speed-up still missing. */
const SPEEDUP_ROUNDS = 5;

/** The plan of the options' target (FLOPs, parameters, or a measured speed-up; `measure` times a model in ms). */
export async function planBudgetJob(
  model: tf.LayersModel, config: Yolov4Config, o: PruneJobOptions, inputSize: number, log: (l: string) => void,
  measure: (m: tf.LayersModel, size: number) => Promise<number> = measureLatency,
): Promise<BudgetJobResult> {
  const base = await budgetOptions(model, config, o, inputSize, log);
  if (o.targetSpeedup === undefined) return withSyncReads(() => planToBudget(model, { ...base, target: budgetTargetOf(o) }));
  const want = o.targetSpeedup;
  const before = await measure(model, inputSize);
  log(`latency before: ${before.toFixed(1)} ms at ${inputSize}x${inputSize} (BN folded)`);
  let ratio = 1 / want;
  for (let round = 1; round <= SPEEDUP_ROUNDS; round++) {
    const r = withSyncReads(() => planToBudget(model, { ...base, target: { metric: 'flops', ratio } }));
    const { model: pruned } = withSyncReads(() => applyPlan(model, r.plan));
    const after = await measure(pruned, inputSize).finally(() => pruned.dispose());
    const got = before / after;
    log(`speed-up round ${round}: FLOPs ${r.reached.toFixed(4)} -> ${after.toFixed(1)} ms, speed-up ${got.toFixed(3)} (target ${want})`);
    if (got >= want) return { ...r, speedup: { target: want, reached: got, beforeMs: before, afterMs: after } };
    ratio = Math.max(r.reached * (got / want), 1e-4);
  }
  throw new JobError(`--target-speedup ${want} was not reached in ${SPEEDUP_ROUNDS} rounds of pruning to fewer FLOPs; try a smaller speed-up or --target-flops`);
}

/** The budget lines, with the measured speed-up when there is one. */
export function formatBudgetJob(r: BudgetJobResult): string {
  const s = r.speedup;
  const text = formatBudget(r);
  return s ? `${text}\nBudget: speed-up target ${s.target}, reached ${s.reached.toFixed(3)} (${s.beforeMs.toFixed(1)} -> ${s.afterMs.toFixed(1)} ms, BN folded)` : text;
}

/** The budget part of the --json summary (nothing without a budget). */
export function budgetJson(r: BudgetJobResult | undefined) {
  if (!r) return {};
  return { budget: { target: r.target, allocation: r.allocation, reference: r.reference, reached: r.reached, moved: r.moved, inScope: r.inScope, amounts: r.amounts, ...(r.speedup ? { speedup: r.speedup } : {}) } };
}

/**
 * Writes the amounts as an `--amounts` file, atomically. An existing file is replaced only with
 * --force, and only when it is itself an amounts file (what this command writes): anything else is
 * the user's and stays.
 */
export async function writeAmounts(file: string, amounts: GroupAmounts, force: boolean): Promise<void> {
  const existing = await fs.lstat(file).catch(() => null);
  if (existing) {
    if (!force) throw new JobOptionError(`"${file}" exists: add --force to overwrite it, or give another --amounts-out`);
    const ours = existing.isFile() && isAmountsJson(await readOptionJson(file, '--amounts-out').catch(() => null));
    if (!ours) throw new JobOptionError(`"${file}" exists and is not an amounts file written by prune: not replacing it, even with --force; give another --amounts-out`);
  }
  await writeFileAtomic(file, [new TextEncoder().encode(`${JSON.stringify(amounts, null, 1)}\n`)]);
}
