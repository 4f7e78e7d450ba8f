/** Text output of the COCO evaluation, in pycocotools' printed format. */
import type { CocoPerClass, CocoStats } from './coco-types.ts';

/**
 * Python's '{:0.Nf}'.format(x): like toFixed, except that an exact binary tie (e.g. 0.0625 with
 * 3 digits) rounds half to even, where JavaScript rounds it up.
 */
export function pyFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  const s = x.toFixed(digits);
  const exact = Math.abs(x).toFixed(Math.min(100, digits + 60));
  const tail = exact.slice(exact.indexOf('.') + 1 + digits);
  if (!/^50*$/.test(tail)) return s;
  // exact tie: toFixed rounded away from zero; undo that when the kept last digit became odd
  const lastDigit = Number(s[s.length - 1]);
  if (lastDigit % 2 === 0) return s;
  const step = 10 ** -digits;
  return (x > 0 ? x - step / 2 : x + step / 2).toFixed(digits);
}

interface StatLine {
  key: keyof CocoStats;
  ap: boolean;
  iou: string;
  area: string;
  maxDets: number;
}

const LINES: StatLine[] = [
  { key: 'AP', ap: true, iou: '0.50:0.95', area: 'all', maxDets: 100 },
  { key: 'AP50', ap: true, iou: '0.50', area: 'all', maxDets: 100 },
  { key: 'AP75', ap: true, iou: '0.75', area: 'all', maxDets: 100 },
  { key: 'APs', ap: true, iou: '0.50:0.95', area: 'small', maxDets: 100 },
  { key: 'APm', ap: true, iou: '0.50:0.95', area: 'medium', maxDets: 100 },
  { key: 'APl', ap: true, iou: '0.50:0.95', area: 'large', maxDets: 100 },
  { key: 'AR1', ap: false, iou: '0.50:0.95', area: 'all', maxDets: 1 },
  { key: 'AR10', ap: false, iou: '0.50:0.95', area: 'all', maxDets: 10 },
  { key: 'AR100', ap: false, iou: '0.50:0.95', area: 'all', maxDets: 100 },
  { key: 'ARs', ap: false, iou: '0.50:0.95', area: 'small', maxDets: 100 },
  { key: 'ARm', ap: false, iou: '0.50:0.95', area: 'medium', maxDets: 100 },
  { key: 'ARl', ap: false, iou: '0.50:0.95', area: 'large', maxDets: 100 },
];

/**
 * The 12 lines pycocotools' summarize() prints, e.g.
 * ` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.504`
 * (format ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}').
 * The labels are those of the default parameters.
 */
export function formatStatsTable(stats: CocoStats): string {
  return LINES.map((l) => {
    const title = (l.ap ? 'Average Precision' : 'Average Recall').padEnd(18);
    const type = l.ap ? '(AP)' : '(AR)';
    return ` ${title} ${type} @[ IoU=${l.iou.padEnd(9)} | area=${l.area.padStart(6)} | maxDets=${String(l.maxDets).padStart(3)} ] = ${pyFixed(stats[l.key], 3)}`;
  }).join('\n');
}

/** A per-class table (`name  AP  AP50`, classes without GT shown as "-"), sorted as given. */
export function formatPerClassTable(perClass: CocoPerClass[]): string {
  const w = Math.max(8, ...perClass.map((c) => c.name.length));
  const f = (v: number) => (v < 0 ? '     -' : pyFixed(v, 4).padStart(6));
  const head = `${'class'.padEnd(w)}  ${'AP'.padStart(6)}  ${'AP50'.padStart(6)}`;
  return [head, ...perClass.map((c) => `${c.name.padEnd(w)}  ${f(c.AP)}  ${f(c.AP50)}`)].join('\n');
}
