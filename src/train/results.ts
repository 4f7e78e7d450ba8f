/**
 * results.csv and results.png of a training run. Cells of values not measured in an epoch (AP on
 * epochs without validation, val loss without a val set) are empty and read back as NaN, so a
 * resumed run neither shows them as 0 nor draws them.
 */
import { promises as fs } from 'node:fs';
import { writePanelsPng } from '../util/line-plot.ts';

export interface EpochRecord {
  epoch: number;
  loss: number;
  box: number;
  obj: number;
  cls: number;
  lr: number;
  valLoss: number;
  AP: number;
  AP50: number;
  seconds: number;
}

export const CSV_HEADER = 'epoch,loss,box,obj,cls,lr,val_loss,AP,AP50,seconds';

/** An empty cell is "not measured": NaN, never Number('') = 0. */
function cellValue(cell: string | undefined): number {
  return cell === undefined || cell.trim() === '' ? NaN : Number(cell);
}

/** The records of epochs before `upToEpoch` (a resumed run rewrites the ones after). */
export async function readResults(csvPath: string, upToEpoch: number): Promise<EpochRecord[]> {
  const text = await fs.readFile(csvPath, 'utf8').catch(() => '');
  return text.split('\n').slice(1).filter((l) => l.trim()).map((l) => {
    const v = l.split(',').map(cellValue);
    return { epoch: v[0], loss: v[1], box: v[2], obj: v[3], cls: v[4], lr: v[5], valLoss: v[6], AP: v[7], AP50: v[8], seconds: v[9] };
  }).filter((r) => r.epoch < upToEpoch);
}

export async function writeResults(csvPath: string, records: EpochRecord[]): Promise<void> {
  const rows = records.map((r) => [r.epoch, r.loss, r.box, r.obj, r.cls, r.lr, r.valLoss, r.AP, r.AP50, r.seconds]
    .map((v) => (Number.isFinite(v) ? String(Number(v.toPrecision(6))) : '')).join(','));
  const tmp = `${csvPath}.tmp`;
  await fs.writeFile(tmp, [CSV_HEADER, ...rows].join('\n') + '\n');
  await fs.rename(tmp, csvPath);
}

/** The plot's data: losses in one panel, AP in another (only epochs where it was measured). */
export function resultsPanels(records: EpochRecord[]) {
  const xs = records.map((r) => r.epoch + 1);
  const measured = records.filter((r) => Number.isFinite(r.AP));
  const mx = measured.map((r) => r.epoch + 1);
  return [
    {
      series: [
        { name: 'train loss', xs, ys: records.map((r) => r.loss) },
        { name: 'val loss', xs, ys: records.map((r) => r.valLoss) },
      ],
      options: { title: 'loss', xLabel: 'epoch', yLabel: 'loss', yMin: 0 },
    },
    {
      series: [
        { name: 'AP', xs: mx, ys: measured.map((r) => r.AP) },
        { name: 'AP50', xs: mx, ys: measured.map((r) => r.AP50) },
      ],
      // An untrained model's AP of 0 would otherwise get an axis of 1e-9.
      options: { title: 'validation AP', xLabel: 'epoch', yLabel: 'AP', yMin: 0, yMax: Math.max(0.01, ...measured.map((r) => r.AP50 * 1.05)), xMin: Math.min(...xs, 0), xMax: Math.max(...xs, 1) },
    },
  ];
}

export async function plotResults(file: string, records: EpochRecord[]): Promise<void> {
  await writePanelsPng(file, resultsPanels(records));
}
