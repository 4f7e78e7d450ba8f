/**
 * Plan printing in the style of torch_pruning's dependency listing: for each group, one line per
 * dependency `[ layer (dim: out|in|bn|...) ] indices=[...] (k of n) params=-N`, the group total, and
 * at the end the parameter count (and FLOPs = 2 x multiply-adds, when known) before and after.
 */
import type { PrunePlan } from './types.ts';

const num = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (part: number, whole: number) => (whole === 0 ? '0.00' : ((100 * part) / whole).toFixed(2));

export function formatPlan(plan: PrunePlan, opts: { maxIndices?: number } = {}): string {
  const maxIndices = opts.maxIndices ?? 8;
  const list = (xs: number[]) => `[${xs.slice(0, maxIndices).join(', ')}${xs.length > maxIndices ? ', ...' : ''}]`;
  const lines: string[] = [];
  const rule = '-'.repeat(72);
  lines.push(`Pruning plan for '${plan.modelName}': strategy=${plan.strategy} importance=${plan.importance} groupReduction=${plan.groupReduction}${plan.roundTo > 1 ? ` roundTo=${plan.roundTo}` : ''}`);
  plan.groups.forEach((g, i) => {
    lines.push(rule);
    const tied = g.producers.length > 1 ? `, tied producers: ${g.producers.length}` : '';
    lines.push(`Group ${i + 1}/${plan.groups.length}: root ${g.root} amount=${g.amount} channels ${g.n} -> ${g.keep} (remove ${g.remove.length}${tied})`);
    for (const d of g.deps) {
      const where = d.offset > 0 || d.span !== d.size ? `, offset ${d.offset}` : '';
      lines.push(`  [ ${d.layer} (dim: ${d.dim}${where}) ] indices=${list(d.indices)} (${d.indices.length} of ${d.span}) params=-${num(d.params)}`);
    }
    lines.push(`  group total params=-${num(g.params)}`);
  });
  lines.push(rule);
  for (const s of plan.skipped) lines.push(`skipped ${s.layer}: ${s.reason}`);
  lines.push(`Params: ${num(plan.paramsBefore)} -> ${num(plan.paramsAfter)} (-${num(plan.paramsRemoved)}, -${pct(plan.paramsRemoved, plan.paramsBefore)}%)`);
  if (plan.flops) {
    const f = plan.flops;
    const removed = f.before - f.after;
    lines.push(`FLOPs (2 x multiply-adds) at ${f.inputSize.join('x')}: ${(f.before / 1e9).toFixed(2)} G -> ${(f.after / 1e9).toFixed(2)} G (-${pct(removed, f.before)}%)`);
  }
  return lines.join('\n');
}
