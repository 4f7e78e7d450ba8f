/**
 * Sensitivity analysis (Li et al. 2017, section 4.1 and Figure 2): every prunable group is pruned
 * ALONE at each ratio (the rest of the network untouched), the pruned copy is evaluated, and the
 * curves "accuracy vs. fraction of filters removed" show which layers are sensitive (steep) and which
 * can lose many filters (flat). The table drives per-layer amounts (`yolo4 prune --amounts`).
 *
 *   const r = await analyzeSensitivity(model, config, { dataset: val, groundTruth, ratios: [0.25, 0.5, 0.75] });
 *   await writeSensitivity(r, 'runs/sensitivity');   // sensitivity.csv, sensitivity.json, sensitivity*.png
 *
 * Metric: COCO mAP@0.5 (and mAP@[.5:.95]) on the dataset's images (`evaluateModelOnDataset`, the same
 * numbers as `yolo4 eval --coco`). Without a dataset, or with `proxy`, a documented proxy instead:
 * the relative change of the head outputs, ||y_pruned - y||_2 / ||y||_2 over all heads, averaged over
 * a few inputs (seeded uniform-random images, or the dataset's first images when one is given). It
 * needs no labels and is fast, but it only says how much a layer's removal perturbs the outputs,
 * not how much accuracy it costs (higher = more sensitive; the mAP metric: lower = more sensitive).
 *
 * A group is named by its root conv (the first producer in topological order; see prune/groups.ts). Each
 * group/ratio removes exactly floor(ratio * n) channels (prune/select.ts); when that is 0 (narrow group, small
 * ratio) the row is the baseline's, marked `removed: 0`, and nothing is evaluated. Every model made
 * here is disposed: the tensor count is the same after the call as before.
 */
import { withSyncReads } from '../backend/webgpu-sync-read.ts';
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/types.ts';
import type { CocoGroundTruth } from '../eval/coco-types.ts';
import { evaluateModelOnDataset } from '../eval/evaluate-model.ts';
import type { Yolov4Config } from '../model/config.ts';
import { inferenceDefaults } from '../predict/defaults.ts';
import { stackLetterboxed } from '../predict/detect.ts';
import { letterboxImage } from '../image/letterbox.ts';
import { applyPlan } from '../prune/apply.ts';
import { countFlops, countParams } from '../model/cost.ts';
import { buildDependencyGraph } from '../prune/graph.ts';
import { findGroups } from '../prune/groups.ts';
import { matchesPattern } from '../prune/match.ts';
import { planPruning, type RankingOptions } from '../prune/plan.ts';
import type { Importance, Strategy } from '../prune/types.ts';
import { JobOptionError } from './errors.ts';

// The report (ranking, CSV, plots, table) is in sensitivity-report.ts.
export { formatSensitivityTop, rankSensitivity, sensitivityCsv, writeSensitivity, type WrittenSensitivity } from './sensitivity-report.ts';

export const DEFAULT_RATIOS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

export interface SensitivityOptions extends RankingOptions {
  /** Images to evaluate on (a val split). Without it the proxy metric is used. */
  dataset?: Dataset;
  /** The dataset's own COCO ground truth (else built from the dataset's boxes). */
  groundTruth?: CocoGroundTruth;
  /** Fractions of each group's channels to remove, each in [0, 1] (default 0.1 ... 0.9). */
  ratios?: number[];
  /** Names / globs of convs: only groups with a producer matching one of them (default: every prunable group). */
  layers?: string[];
  /** Evaluate only the first n images of the dataset. */
  limit?: number;
  /** Input size for evaluation and the FLOPs column (default the config's). */
  inputSize?: number;
  batchSize?: number;
  /** Use the output-change proxy even when a dataset is given (on its first `proxyImages` images). */
  proxy?: boolean;
  /** Inputs of the proxy metric (default 4). */
  proxyImages?: number;
  /** Called after each evaluation (the baseline is evaluation 0 of `total`). */
  onProgress?: (done: number, total: number, info: { group: string; ratio: number }) => void;
}

export interface SensitivityRow {
  /** The group's root conv; `(unpruned)` for the baseline. */
  group: string;
  /** The group's channel count (0 for the baseline). */
  n: number;
  ratio: number;
  /** Channels removed: floor(ratio * n) (0 = the row is the baseline's). */
  removed: number;
  /** Trainable parameters and FLOPs (2 x multiply-adds) of the pruned network. */
  params: number;
  flops: number;
  /** COCO mAP@0.5 and mAP@[.5:.95] (NaN with the proxy metric). */
  AP50: number;
  AP: number;
  /** Relative change of the head outputs vs. the unpruned model (proxy metric only; 0 for the baseline). */
  outputChange: number;
  /** Seconds spent on this row (pruning + evaluation). */
  seconds: number;
}

export interface SensitivityResult {
  metric: 'map' | 'proxy';
  modelName: string;
  inputSize: number;
  images: number;
  strategy: Strategy;
  importance: Importance;
  ratios: number[];
  baseline: SensitivityRow;
  /** Group roots, in topological order. */
  groups: string[];
  /** groups.length x ratios.length rows, group-major. */
  rows: SensitivityRow[];
  seconds: number;
}

export interface GroupSensitivity {
  group: string;
  n: number;
  /** Mean over the ratios of the metric's damage: AP50 drop from the baseline (map) or the output change (proxy). */
  score: number;
  /** The damage at the largest ratio. */
  atMax: number;
}

export async function analyzeSensitivity(model: tf.LayersModel, config: Yolov4Config, opts: SensitivityOptions = {}): Promise<SensitivityResult> {
  const t0 = performance.now();
  const ratios = opts.ratios ?? DEFAULT_RATIOS;
  if (ratios.length === 0) throw new JobOptionError('sensitivity: give at least one ratio');
  for (const r of ratios) if (!(typeof r === 'number' && r >= 0 && r <= 1)) throw new JobOptionError(`sensitivity: ratios must be in [0, 1], got ${r}`);
  const metric = opts.proxy || !opts.dataset ? 'proxy' : 'map';
  const inputSize = opts.inputSize ?? config.inputSize;
  const strategy = opts.strategy ?? 'greedy';
  const importance = opts.importance ?? 'l1';

  const graph = buildDependencyGraph(model);
  const all = findGroups(graph, { exclude: opts.exclude, pruneOutputInputs: opts.pruneOutputInputs });
  let groups = all;
  if (opts.layers?.length) {
    for (const p of opts.layers) {
      if (!graph.layers.some((l) => l.kind === 'producer' && matchesPattern(l.name, p))) {
        // Let planPruning produce its error with close matches.
        planPruning(model, { layers: [p], amount: 0, graph, exclude: opts.exclude, pruneOutputInputs: opts.pruneOutputInputs });
      }
    }
    groups = all.filter((g) => g.producers.some((p) => opts.layers!.some((q) => matchesPattern(p, q))));
    if (groups.length === 0) throw new JobOptionError(`sensitivity: no prunable group matches ${opts.layers.join(', ')}`);
  }

  // The metric.
  let evaluate: (m: tf.LayersModel) => Promise<{ AP50: number; AP: number; outputChange: number }>;
  let images = 0;
  let dispose = () => {};
  if (metric === 'map') {
    const ds = opts.dataset!;
    images = Math.min(opts.limit ?? Infinity, ds.items.length);
    evaluate = async (m) => {
      const ev = await evaluateModelOnDataset(m, config, ds, { inputSize, groundTruth: opts.groundTruth, limit: opts.limit, batchSize: opts.batchSize ?? 4 });
      return { AP50: ev.result.stats.AP50, AP: ev.result.stats.AP, outputChange: NaN };
    };
  } else {
    const x = await proxyInputs(config, inputSize, opts);
    images = x.shape[0];
    const reference = forward(model, x);
    evaluate = async (m) => {
      const y = forward(m, x);
      const sums = tf.tidy(() => {
        let num = tf.scalar(0);
        let den = tf.scalar(0);
        y.forEach((t, i) => {
          num = num.add(tf.sum(tf.square(t.sub(reference[i]))));
          den = den.add(tf.sum(tf.square(reference[i])));
        });
        return [num, den];
      });
      // Read with data(): webgpu under Node cannot read GPU data synchronously.
      const [num, den] = await Promise.all(sums.map((t) => t.data()));
      const change = Math.sqrt(num[0]) / Math.max(Math.sqrt(den[0]), 1e-12);
      tf.dispose([...y, ...sums]);
      return { AP50: NaN, AP: NaN, outputChange: change };
    };
    dispose = () => tf.dispose([x, ...reference]);
  }

  const total = 1 + groups.length * ratios.length;
  let done = 0;
  try {
    const tb = performance.now();
    const params0 = countParams(model);
    const flops0 = countFlops(model, inputSize).flops;
    const m0 = await evaluate(model);
    const baseline: SensitivityRow = {
      group: '(unpruned)', n: 0, ratio: 0, removed: 0, params: params0, flops: flops0,
      AP50: m0.AP50, AP: m0.AP, outputChange: metric === 'proxy' ? 0 : NaN, seconds: (performance.now() - tb) / 1000,
    };
    opts.onProgress?.(++done, total, { group: baseline.group, ratio: 0 });

    const rows: SensitivityRow[] = [];
    for (const g of groups) {
      for (const ratio of ratios) {
        const ts = performance.now();
        const plan = withSyncReads(() => planPruning(model, {
          layer: g.root, amount: ratio, graph, strategy, importance, groupReduction: opts.groupReduction, roundTo: opts.roundTo, minChannels: opts.minChannels,
          exclude: opts.exclude, pruneOutputInputs: opts.pruneOutputInputs, seed: opts.seed, inputSize,
        }));
        const removed = plan.groups[0]?.remove.length ?? 0;
        let row: SensitivityRow;
        if (removed === 0) {
          row = { ...baseline, group: g.root, n: g.n, ratio, removed: 0, seconds: 0 };
        } else {
          const { model: pruned } = withSyncReads(() => applyPlan(model, plan));
          try {
            const m = await evaluate(pruned);
            row = {
              group: g.root, n: g.n, ratio, removed, params: plan.paramsAfter, flops: plan.flops!.after,
              AP50: m.AP50, AP: m.AP, outputChange: m.outputChange, seconds: 0,
            };
          } finally {
            pruned.dispose();
          }
        }
        row.seconds = (performance.now() - ts) / 1000;
        rows.push(row);
        opts.onProgress?.(++done, total, { group: g.root, ratio });
      }
    }
    return {
      metric, modelName: model.name, inputSize, images, strategy, importance, ratios: [...ratios],
      baseline, groups: groups.map((g) => g.root), rows, seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    dispose();
  }
}

function forward(model: tf.LayersModel, x: tf.Tensor): tf.Tensor[] {
  const y = model.predict(x);
  return Array.isArray(y) ? y : [y];
}

/** The proxy's inputs: the dataset's first images (letterboxed) or seeded uniform noise. */
async function proxyInputs(config: Yolov4Config, size: number, opts: SensitivityOptions): Promise<tf.Tensor4D> {
  const n = Math.max(1, opts.proxyImages ?? 4);
  if (opts.dataset) {
    const d = inferenceDefaults(config);
    const items = opts.dataset.items.slice(0, Math.min(n, opts.limit ?? Infinity));
    const boxed = await Promise.all(items.map((it) => letterboxImage(it.file, size, { mode: d.mode, resampler: d.resampler })));
    return stackLetterboxed(boxed);
  }
  return tf.randomUniform([n, size, size, 3], 0, 1, 'float32', opts.seed ?? 0) as tf.Tensor4D;
}
