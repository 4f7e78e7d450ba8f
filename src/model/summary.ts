/**
 * Per-layer cost table of any tfjs LayersModel with one image input, at a given input size:
 * parameters, output shape and multiply-adds. A view of model/cost.ts, which does the counting and
 * the shape propagation; FLOPs = 2 x multiply-adds of the conv/dense layers.
 */
import type * as tf from '@tensorflow/tfjs';
import { countFlops, layerParams } from './cost.ts';

export interface LayerSummary {
  name: string;
  className: string;
  kernel?: [number, number];
  stride?: [number, number];
  inChannels: number;
  outChannels: number;
  outHeight: number;
  outWidth: number;
  params: number;
  nonTrainableParams: number;
  macs: number;
}

export interface ModelSummary {
  inputSize: [number, number];
  params: number;
  nonTrainableParams: number;
  macs: number;
  flops: number;
  layers: LayerSummary[];
}

const WINDOWED = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D']);

function pair(v: unknown): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  return [Number(v), Number(v)];
}

export function summarizeModel(model: tf.LayersModel, inputSize: number | [number, number]): ModelSummary {
  const [H, W] = Array.isArray(inputSize) ? inputSize : [inputSize, inputSize];
  const cost = countFlops(model, [H, W]);
  const macsOf = new Map(cost.layers.map((l) => [l.name, l.macs]));
  const shapesOf = new Map(cost.shapes.map((s) => [s.name, s]));
  const byName = new Map<string, LayerSummary>();
  const layers: LayerSummary[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as Record<string, unknown>;
    const { input, output } = shapesOf.get(layer.name)!;
    const from = byName.get(layer.inboundNodes[0]?.inboundLayers[0]?.name ?? '');
    // Layers without a spatial output (Dense after Flatten...) show the spatial size they came from.
    const spatial = output.length === 4;
    const { trainable, nonTrainable } = layerParams(layer);
    const summary: LayerSummary = {
      name: layer.name,
      className: cls,
      kernel: WINDOWED.has(cls) ? pair(cfg.kernelSize) : undefined,
      stride: WINDOWED.has(cls) ? pair(cfg.strides ?? 1) : undefined,
      inChannels: input ? Number(input[input.length - 1] ?? 0) : 0,
      outChannels: Number(output[output.length - 1] ?? 0),
      outHeight: spatial ? Number(output[1]) : from?.outHeight ?? H,
      outWidth: spatial ? Number(output[2]) : from?.outWidth ?? W,
      params: trainable,
      nonTrainableParams: nonTrainable,
      macs: macsOf.get(layer.name) ?? 0,
    };
    byName.set(layer.name, summary);
    layers.push(summary);
  }
  const params = layers.reduce((n, l) => n + l.params, 0);
  const nonTrainableParams = layers.reduce((n, l) => n + l.nonTrainableParams, 0);
  return { inputSize: [H, W], params, nonTrainableParams, macs: cost.macs, flops: cost.flops, layers };
}

/** A fixed-width text table of the layers that carry weights. */
export function formatSummaryTable(s: ModelSummary, opts: { all?: boolean } = {}): string {
  const rows = s.layers.filter((l) => opts.all || l.params + l.nonTrainableParams > 0);
  const header = ['layer', 'type', 'kernel', 'in', 'out', 'output', 'params', 'MMACs'];
  const body = rows.map((l) => [
    l.name,
    l.className,
    l.kernel ? `${l.kernel[0]}x${l.kernel[1]}${l.stride && l.stride[0] > 1 ? `/${l.stride[0]}` : ''}` : '',
    String(l.inChannels),
    String(l.outChannels),
    `${l.outHeight}x${l.outWidth}`,
    (l.params + l.nonTrainableParams).toLocaleString('en-US'),
    l.macs ? (l.macs / 1e6).toFixed(1) : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}
