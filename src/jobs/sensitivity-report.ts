/**
 * The sensitivity analysis' outputs (sensitivity.ts computes them): the ranking of the groups, the CSV
 * table, the JSON and the Figure-2 style plots, and the markdown table of the most sensitive groups.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeLinePlotPng, type Series } from '../util/line-plot.ts';
import type { GroupSensitivity, SensitivityResult, SensitivityRow } from './sensitivity.ts';

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
