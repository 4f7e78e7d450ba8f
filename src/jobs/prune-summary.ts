/**
 * What `yolo4 prune` prints after the plan: the width changes, then a compact summary block LAST, so
 * the key numbers (parameters, FLOPs, verify, where it was saved) are what stays on screen after a
 * plan of hundreds of lines. Also the --json summary.
 */
import type { PrunePlan } from '../prune/index.ts';

export interface VerifyResult { size: number; maxAbsDiff: number; maxAbs: number; ok: boolean }

const num = (v: number) => v.toLocaleString('en-US');
const pct = (part: number, whole: number) => (whole > 0 ? ((100 * part) / whole).toFixed(2) : '0.00');

/** The lines of the summary block, each starting with "summary". */
export function formatPruneSummary(plan: PrunePlan, o: { verify?: VerifyResult; saved?: string; dryRun?: boolean }): string {
  const lines = [`summary: ${plan.groups.length} group${plan.groups.length === 1 ? '' : 's'} pruned (${plan.strategy}, ${plan.importance})` +
    `${plan.skipped.length ? `, ${plan.skipped.length} layer${plan.skipped.length === 1 ? '' : 's'} skipped` : ''}`];
  lines.push(`summary: parameters ${num(plan.paramsBefore)} -> ${num(plan.paramsAfter)} (-${pct(plan.paramsRemoved, plan.paramsBefore)}%)`);
  if (plan.flops) {
    const f = plan.flops;
    lines.push(`summary: FLOPs at ${f.inputSize.join('x')} ${(f.before / 1e9).toFixed(2)} G -> ${(f.after / 1e9).toFixed(2)} G (-${pct(f.before - f.after, f.before)}%)`);
  }
  if (o.verify) {
    const v = o.verify;
    lines.push(`summary: verify ${v.ok ? 'OK' : 'MISMATCH'}: max |diff| ${v.maxAbsDiff.toExponential(2)} vs the silenced original at ${v.size}x${v.size} (outputs up to ${v.maxAbs.toFixed(3)})`);
  }
  if (o.dryRun) lines.push('summary: dry run, nothing saved');
  else if (o.saved) lines.push(`summary: saved ${o.saved}`);
  return lines.join('\n');
}

/** Output widths after the plan: each group's kept count applies to every producer conv in it. */
export function widthsAfter(plan: PrunePlan, before: Record<string, number>): Record<string, number> {
  const after = { ...before };
  for (const g of plan.groups) {
    for (const d of g.deps) if (d.dim === 'out' && d.layer in after) after[d.layer] = before[d.layer] - d.indices.length;
  }
  return after;
}

export function formatWidthChanges(before: Record<string, number>, after: Record<string, number>): string {
  const changed = Object.keys(before).filter((k) => after[k] !== before[k]);
  return [`widths changed (${changed.length} convs):`, ...changed.map((k) => `  ${k}: ${before[k]} -> ${after[k]}`)].join('\n');
}

export function summaryJson(plan: PrunePlan, before: Record<string, number>, verify?: { maxAbsDiff: number }) {
  const after = widthsAfter(plan, before);
  return {
    strategy: plan.strategy, importance: plan.importance,
    paramsBefore: plan.paramsBefore, paramsAfter: plan.paramsAfter, paramsRemoved: plan.paramsRemoved,
    flopsBefore: plan.flops?.before, flopsAfter: plan.flops?.after,
    layers: Object.keys(before).map((name) => ({ name, before: before[name], after: after[name] })),
    groups: plan.groups.map((g) => ({ root: g.root, n: g.n, keep: g.keep, removed: g.remove })),
    skipped: plan.skipped,
    ...(verify ? { verifyMaxAbsDiff: verify.maxAbsDiff } : {}),
  };
}
