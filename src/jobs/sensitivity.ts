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
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/types.ts';
import type { CocoGroundTruth } from '../eval/coco-types.ts';
import { evaluateModelOnDataset } from '../eval/evaluate-model.ts';
import type { Yolov4Config } from '../model/config.ts';
import { inferenceDefaults } from '../predict/defaults.ts';
import { stackLetterboxed } from '../predict/detect.ts';
import { letterboxImage } from '../image/letterbox.ts';
import { writeLinePlotPng, type Series } from '../util/line-plot.ts';
import { applyPlan } from '../prune/apply.ts';
import { countFlops, countParams } from '../model/cost.ts';
import { buildDependencyGraph } from '../prune/graph.ts';
import { findGroups } from '../prune/groups.ts';
import { matchesPattern } from '../prune/match.ts';
import { planPruning, type RankingOptions } from '../prune/plan.ts';
import type { Importance, Strategy } from '../prune/types.ts';

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
  if (ratios.length === 0) throw new Error('sensitivity: give at least one ratio');
  for (const r of ratios) if (!(typeof r === 'number' && r >= 0 && r <= 1)) throw new Error(`sensitivity: ratios must be in [0, 1], got ${r}`);
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
    if (groups.length === 0) throw new Error(`sensitivity: no prunable group matches ${opts.layers.join(', ')}`);
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
      const change = tf.tidy(() => {
        let num = tf.scalar(0);
        let den = tf.scalar(0);
        y.forEach((t, i) => {
          num = num.add(tf.sum(tf.square(t.sub(reference[i]))));
          den = den.add(tf.sum(tf.square(reference[i])));
        });
        return Math.sqrt(num.dataSync()[0]) / Math.max(Math.sqrt(den.dataSync()[0]), 1e-12);
      });
      tf.dispose(y);
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
        const plan = planPruning(model, {
          layer: g.root, amount: ratio, graph, strategy, importance, groupReduction: opts.groupReduction, roundTo: opts.roundTo, minChannels: opts.minChannels,
          exclude: opts.exclude, pruneOutputInputs: opts.pruneOutputInputs, seed: opts.seed, inputSize,
        });
        const removed = plan.groups[0]?.remove.length ?? 0;
        let row: SensitivityRow;
        if (removed === 0) {
          row = { ...baseline, group: g.root, n: g.n, ratio, removed: 0, seconds: 0 };
        } else {
          const { model: pruned } = applyPlan(model, plan);
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

/**
 * Groups ranked most sensitive first. Damage per row: baseline AP50 - AP50 (map) or the output change
 * (proxy); a group's score is the mean damage over the ratios (the area under its curve).
 */
export function rankSensitivity(r: SensitivityResult): GroupSensitivity[] {
  const damage = (row: SensitivityRow) => (r.metric === 'map' ? r.baseline.AP50 - row.AP50 : row.outputChange);
  const out = r.groups.map((group) => {
    const rows = r.rows.filter((x) => x.group === group);
    const maxRatio = rows.reduce((a, x) => (x.ratio >= a.ratio ? x : a), rows[0]);
    return { group, n: rows[0]?.n ?? 0, score: rows.reduce((a, x) => a + damage(x), 0) / Math.max(1, rows.length), atMax: damage(maxRatio) };
  });
  return out.sort((a, b) => b.score - a.score || b.atMax - a.atMax);
}

const CSV_HEADER = 'group,n,ratio,removed,params,flops,AP50,AP,output_change,seconds';

export function sensitivityCsv(r: SensitivityResult): string {
  const num = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(6))) : '');
  const line = (x: SensitivityRow) => [x.group, x.n, x.ratio, x.removed, x.params, x.flops, num(x.AP50), num(x.AP), num(x.outputChange), num(x.seconds)].join(',');
  return [CSV_HEADER, line(r.baseline), ...r.rows.map(line)].join('\n') + '\n';
}

const PER_PLOT = 8; // line-plot.ts has 8 distinct colours

export interface WrittenSensitivity {
  csv: string;
  json: string;
  /** The most sensitive groups' plot first, then every group in network order, 8 per page. */
  plots: string[];
}

/**
 * Writes `sensitivity.csv` (one row per group and ratio, the baseline first), `sensitivity.json` (the
 * whole result plus the ranking) and the Figure-2 style plots: `sensitivity.png` with the 8 most
 * sensitive groups, and when there are more than 8 groups `sensitivity-all-<k>.png`, every group in
 * network order, 8 lines per page (the plot helper has 8 distinguishable colours).
 */
export async function writeSensitivity(r: SensitivityResult, outDir: string): Promise<WrittenSensitivity> {
  await fs.mkdir(outDir, { recursive: true });
  const csv = path.join(outDir, 'sensitivity.csv');
  const json = path.join(outDir, 'sensitivity.json');
  await fs.writeFile(csv, sensitivityCsv(r));
  const nan = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);
  await fs.writeFile(json, JSON.stringify({ ...r, ranking: rankSensitivity(r) }, nan, 1));
  const plots: string[] = [];
  const ranked = rankSensitivity(r).map((g) => g.group);
  const label = r.metric === 'map' ? 'mAP@0.5' : 'relative change of the head outputs';
  const draw = async (file: string, groups: string[], title: string) => {
    const series: Series[] = groups.map((g) => {
      const rows = r.rows.filter((x) => x.group === g).sort((a, b) => a.ratio - b.ratio);
      const pts = rows[0]?.ratio === 0 ? rows : [{ ...r.baseline, ratio: 0 }, ...rows];
      const n = rows[0]?.n ?? 0;
      return { name: `${g.replace(/\.conv$/, '')} (${n})`, xs: pts.map((x) => x.ratio), ys: pts.map((x) => (r.metric === 'map' ? x.AP50 : x.outputChange)) };
    });
    await writeLinePlotPng(file, series, { title, xLabel: 'fraction of filters pruned away', yLabel: label, xMin: 0, xMax: 1, yMin: 0, width: 900 });
    plots.push(file);
  };
  const what = `${r.modelName}, ${r.metric === 'map' ? `${r.images} images` : `proxy on ${r.images} inputs`}`;
  await draw(path.join(outDir, 'sensitivity.png'), ranked.slice(0, PER_PLOT),
    r.groups.length > PER_PLOT ? `the ${PER_PLOT} most sensitive of ${r.groups.length} groups (${what})` : `sensitivity (${what})`);
  if (r.groups.length > PER_PLOT) {
    for (let k = 0; k * PER_PLOT < r.groups.length; k++) {
      const page = r.groups.slice(k * PER_PLOT, (k + 1) * PER_PLOT);
      await draw(path.join(outDir, `sensitivity-all-${k + 1}.png`), page, `groups ${k * PER_PLOT + 1}-${k * PER_PLOT + page.length} of ${r.groups.length} (${what})`);
    }
  }
  return { csv, json, plots };
}

/** A markdown table of the k most sensitive groups. */
export function formatSensitivityTop(r: SensitivityResult, k = 5): string {
  const ranked = rankSensitivity(r).slice(0, k);
  const cols = r.ratios;
  const value = (x: SensitivityRow | undefined) => (x ? (r.metric === 'map' ? x.AP50 : x.outputChange).toFixed(4) : '');
  const head = `| group (n) | mean ${r.metric === 'map' ? 'AP50 drop' : 'output change'} | ${cols.map((c) => `@${c}`).join(' | ')} |`;
  const sep = `|---|---|${cols.map(() => '---').join('|')}|`;
  const rows = ranked.map((g) => {
    const cells = cols.map((c) => value(r.rows.find((x) => x.group === g.group && x.ratio === c)));
    return `| ${g.group} (${g.n}) | ${g.score.toFixed(4)} | ${cells.join(' | ')} |`;
  });
  const base = r.metric === 'map' ? `baseline: AP50 ${r.baseline.AP50.toFixed(4)}, AP ${r.baseline.AP.toFixed(4)}` : 'baseline: output change 0';
  return [base, head, sep, ...rows].join('\n');
}
