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

/** Legend width: the longest name at ~7.5 px a character, plus the swatch. */
function legendWidth(series: Series[]): number {
  const longest = Math.max(0, ...series.map((s) => s.name.length));
  return Math.min(280, Math.max(90, 30 + longest * 7.5));
}

/**
 * One chart's SVG elements in the box (left, top, W, H). The legend sits right of the plot area,
 * outside it, so it never covers a curve.
 */
function panelParts(series: Series[], o: PlotOptions, left: number, top: number, W: number, H: number): string[] {
  const m = { l: left + 70, r: legendWidth(series) + 15, t: top + 40, b: 55 };
  const finite = (v: number) => Number.isFinite(v);
  const allX = series.flatMap((s) => s.xs).filter(finite);
  const allY = series.flatMap((s) => s.ys).filter(finite);
  let x0 = o.xMin ?? Math.min(...allX, 0);
  let x1 = o.xMax ?? Math.max(...allX, 1);
  let y0 = o.yMin ?? Math.min(...allY, 0);
  // 5 % headroom so the highest curve does not run along the frame.
  let y1 = o.yMax ?? Math.max(...allY, 1e-9) * 1.05;
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + 1;
  const right = left + W - m.r;
  const bottom = top + H - m.b;
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (right - m.l);
  const py = (y: number) => bottom - ((y - y0) / (y1 - y0)) * (bottom - m.t);
  const parts: string[] = [];
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.l}" x2="${right}" y1="${py(t)}" y2="${py(t)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 6}" y="${py(t) + 4}" text-anchor="end">${t}</text>`);
  }
  for (const t of niceTicks(x0, x1)) {
    parts.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${m.t}" y2="${bottom}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${px(t)}" y="${bottom + 18}" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${right - m.l}" height="${bottom - m.t}" fill="none" stroke="#333"/>`);
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    parts.push(`<rect x="${right + 10}" y="${m.t + 4 + i * 18}" width="12" height="12" fill="${colour}"/>`);
    parts.push(`<text x="${right + 28}" y="${m.t + 14 + i * 18}">${esc(s.name)}</text>`);
    const pts = s.xs.map((x, j) => [x, s.ys[j]]).filter(([x, y]) => finite(x) && finite(y));
    if (pts.length === 0) return;
    const d = pts.map(([x, y], j) => `${j ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    // Few points (e.g. AP every n epochs): mark each, so measured values are told from the lines between them.
    if (pts.length <= 30) for (const [x, y] of pts) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${colour}"/>`);
  });
  if (o.title) parts.push(`<text x="${(m.l + right) / 2}" y="${top + 24}" text-anchor="middle" font-size="16">${esc(o.title)}</text>`);
  if (o.xLabel) parts.push(`<text x="${(m.l + right) / 2}" y="${top + H - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  if (o.yLabel) parts.push(`<text transform="translate(${left + 16},${top + H / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  return parts;
}

const svgOpen = (W: number, H: number) => [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="13">`,
  `<rect width="100%" height="100%" fill="white"/>`,
];

export function linePlotSvg(series: Series[], o: PlotOptions = {}): string {
  const W = o.width ?? 800;
  const H = o.height ?? 500;
  return [...svgOpen(W, H), ...panelParts(series, o, 0, 0, W, H), '</svg>'].join('\n');
}

export interface Panel {
  series: Series[];
  options?: PlotOptions;
}

/** Charts side by side, each with its own axes (e.g. losses | AP); width/height are per panel. */
export function panelsSvg(panels: Panel[]): string {
  const sizes = panels.map((p) => ({ W: p.options?.width ?? 560, H: p.options?.height ?? 420 }));
  const W = sizes.reduce((a, s) => a + s.W, 0);
  const H = Math.max(...sizes.map((s) => s.H));
  const parts = svgOpen(W, H);
  let left = 0;
  panels.forEach((p, i) => {
    parts.push(...panelParts(p.series, p.options ?? {}, left, 0, sizes[i].W, H));
    left += sizes[i].W;
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export async function writePanelsPng(path: string, panels: Panel[]): Promise<void> {
  await sharp(Buffer.from(panelsSvg(panels))).png().toFile(path);
}

export async function writeLinePlotPng(path: string, series: Series[], o: PlotOptions = {}): Promise<void> {
  await sharp(Buffer.from(linePlotSvg(series, o))).png().toFile(path);
}
