/**
 * Small line charts rendered as SVG and rasterised by sharp: training curves and PR curves need
 * nothing more than axes, a few series and a legend.
 */
import sharp from 'sharp';

export interface Series {
  name: string;
  xs: number[];
  ys: number[];
}

export interface PlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  yMin?: number;
  yMax?: number;
  xMin?: number;
  xMax?: number;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

export function linePlotSvg(series: Series[], o: PlotOptions = {}): string {
  const W = o.width ?? 800;
  const H = o.height ?? 500;
  const m = { l: 70, r: 20, t: 40, b: 55 };
  const finite = (v: number) => Number.isFinite(v);
  const allX = series.flatMap((s) => s.xs).filter(finite);
  const allY = series.flatMap((s) => s.ys).filter(finite);
  let x0 = o.xMin ?? Math.min(...allX, 0);
  let x1 = o.xMax ?? Math.max(...allX, 1);
  let y0 = o.yMin ?? Math.min(...allY, 0);
  let y1 = o.yMax ?? Math.max(...allY, 1e-9);
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + 1;
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${py(t)}" y2="${py(t)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 6}" y="${py(t) + 4}" text-anchor="end">${t}</text>`);
  }
  for (const t of niceTicks(x0, x1)) {
    parts.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${m.t}" y2="${H - m.b}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${px(t)}" y="${H - m.b + 18}" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`);
  series.forEach((s, i) => {
    const pts = s.xs.map((x, j) => [x, s.ys[j]]).filter(([x, y]) => finite(x) && finite(y));
    if (pts.length === 0) return;
    const colour = COLOURS[i % COLOURS.length];
    const d = pts.map(([x, y], j) => `${j ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    if (pts.length === 1) parts.push(`<circle cx="${px(pts[0][0])}" cy="${py(pts[0][1])}" r="3" fill="${colour}"/>`);
    parts.push(`<rect x="${W - m.r - 190}" y="${m.t + 8 + i * 18}" width="12" height="12" fill="${colour}"/>`);
    parts.push(`<text x="${W - m.r - 172}" y="${m.t + 18 + i * 18}">${esc(s.name)}</text>`);
  });
  if (o.title) parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${esc(o.title)}</text>`);
  if (o.xLabel) parts.push(`<text x="${(W + m.l) / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  if (o.yLabel) parts.push(`<text transform="translate(16,${H / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

export async function writeLinePlotPng(path: string, series: Series[], o: PlotOptions = {}): Promise<void> {
  await sharp(Buffer.from(linePlotSvg(series, o))).png().toFile(path);
}
