/** The iterative pruning's outputs (iterative.ts computes them): steps.csv, the two plots and the steps table. */
import type { StepRecord } from './iterative-types.ts';
import { writeLinePlotPng } from '../util/line-plot.ts';

const CSV_HEADER = 'step,amount,cumulative,params,flops,params_ratio,flops_ratio,AP50_pruned,AP_pruned,AP50,AP,drop,finetune_loss,seconds,checkpoint';

export function stepsCsv(rows: StepRecord[]): string {
  const num = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(6))) : '');
  return [CSV_HEADER, ...rows.map((r) => [
    r.step, num(r.amount), num(r.cumulative), r.params, r.flops, num(r.paramsRatio), num(r.flopsRatio),
    num(r.AP50Pruned), num(r.APPruned), num(r.AP50), num(r.AP), num(r.drop), num(r.finetuneLoss), num(r.seconds), r.checkpoint,
  ].join(','))].join('\n') + '\n';
}

/** `steps.png`: the mAP after pruning and after fine-tuning per step; `steps-size.png`: params and FLOPs left. */
export async function plotSteps(file: string, sizeFile: string, baseline: StepRecord, records: StepRecord[], metric: string): Promise<void> {
  const all = [baseline, ...records];
  const xs = all.map((r) => r.step);
  const xMax = Math.max(1, xs[xs.length - 1]);
  await writeLinePlotPng(file, [
    { name: 'AP50 (fine-tuned)', xs, ys: all.map((r) => r.AP50) },
    { name: 'AP50 before fine-tune', xs, ys: all.map((r) => r.AP50Pruned) },
    { name: 'AP (fine-tuned)', xs, ys: all.map((r) => r.AP) },
    { name: 'AP before fine-tune', xs, ys: all.map((r) => r.APPruned) },
  ], { title: `iterative pruning: mAP per step (0 = unpruned; stop rule on ${metric})`, xLabel: 'step', yLabel: 'mAP', yMin: 0, xMin: 0, xMax });
  await writeLinePlotPng(sizeFile, [
    { name: 'params / original', xs, ys: all.map((r) => r.paramsRatio) },
    { name: 'FLOPs / original', xs, ys: all.map((r) => r.flopsRatio) },
  ], { title: 'iterative pruning: size per step', xLabel: 'step', yLabel: 'fraction of the unpruned model', yMin: 0, yMax: 1, xMin: 0, xMax });
}

/** The markdown table of the baseline and every step, as `yolo4 prune --iterative` prints it. */
export function formatSteps(baseline: StepRecord, records: StepRecord[]): string {
  const all = [baseline, ...records];
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : '-');
  return [
    '| step | amount | params | GFLOPs | AP50 pruned | AP50 | AP | drop |',
    '|---|---|---|---|---|---|---|---|',
    ...all.map((r) => `| ${r.step} | ${r.step ? f(r.amount) : '-'} | ${r.params.toLocaleString('en-US')} (${(r.paramsRatio * 100).toFixed(1)}%) | ${(r.flops / 1e9).toFixed(3)} | ${f(r.AP50Pruned)} | ${f(r.AP50)} | ${f(r.AP)} | ${r.step ? f(r.drop) : '-'} |`),
  ].join('\n');
}
