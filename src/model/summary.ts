/**
 * Per-layer cost of any tfjs LayersModel with one image input, at a given input size:
 * parameters, output shape and multiply-adds. FLOPs are reported as 2 x multiply-adds of the
 * conv/dense layers (BN, activations, pooling and adds are not counted), the usual convention.
 */
import type * as tf from '@tensorflow/tfjs';

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

type Shape = { h: number; w: number; c: number };

const size = (shape: readonly (number | null)[]): number => shape.reduce<number>((a, b) => a * (b ?? 0), 1);

function pair(v: unknown): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  return [Number(v), Number(v)];
}

function outDim(inp: number, k: number, s: number, padding: string, dilation = 1): number {
  const eff = (k - 1) * dilation + 1;
  return padding === 'same' ? Math.ceil(inp / s) : Math.floor((inp - eff) / s) + 1;
}

/** Propagates spatial sizes layer by layer (the model's own shapes may leave H and W open). */
export function summarizeModel(model: tf.LayersModel, inputSize: number | [number, number]): ModelSummary {
  const [H, W] = Array.isArray(inputSize) ? inputSize : [inputSize, inputSize];
  const shapes = new Map<string, Shape>();
  const layers: LayerSummary[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as Record<string, unknown>;
    const outShape = (Array.isArray(layer.outputShape[0]) ? layer.outputShape[0] : layer.outputShape) as (number | null)[];
    const c = outShape[outShape.length - 1] ?? 0;
    const inbound = layer.inboundNodes[0]?.inboundLayers ?? [];
    const ins = inbound.map((l) => shapes.get(l.name)).filter((s): s is Shape => s !== undefined);
    const first: Shape = ins[0] ?? { h: H, w: W, c: 0 };
    let h = first.h;
    let w = first.w;
    let macs = 0;
    let kernel: [number, number] | undefined;
    let stride: [number, number] | undefined;
    if (cls === 'InputLayer') {
      h = H;
      w = W;
    } else if (cls === 'Conv2D' || cls === 'DepthwiseConv2D' || cls === 'SeparableConv2D') {
      kernel = pair(cfg.kernelSize);
      stride = pair(cfg.strides ?? 1);
      const dil = pair(cfg.dilationRate ?? 1);
      h = outDim(first.h, kernel[0], stride[0], String(cfg.padding), dil[0]);
      w = outDim(first.w, kernel[1], stride[1], String(cfg.padding), dil[1]);
      if (cls === 'Conv2D') macs = h * w * kernel[0] * kernel[1] * first.c * c;
      else if (cls === 'DepthwiseConv2D') macs = h * w * kernel[0] * kernel[1] * c;
      else macs = h * w * (kernel[0] * kernel[1] * first.c + first.c * c);
    } else if (cls === 'MaxPooling2D' || cls === 'AveragePooling2D') {
      const k = pair(cfg.poolSize);
      const s = pair(cfg.strides ?? cfg.poolSize);
      h = outDim(first.h, k[0], s[0], String(cfg.padding));
      w = outDim(first.w, k[1], s[1], String(cfg.padding));
    } else if (cls === 'UpSampling2D') {
      const s = pair(cfg.size);
      h = first.h * s[0];
      w = first.w * s[1];
    } else if (cls === 'ZeroPadding2D') {
      const p = cfg.padding as number[][];
      h = first.h + p[0][0] + p[0][1];
      w = first.w + p[1][0] + p[1][1];
    } else if (cls === 'Dense') {
      macs = first.c * c;
    }
    const params = layer.trainableWeights.reduce((n, v) => n + size(v.shape), 0);
    const nonTrainable = layer.nonTrainableWeights.reduce((n, v) => n + size(v.shape), 0);
    shapes.set(layer.name, { h, w, c });
    layers.push({
      name: layer.name, className: cls, kernel, stride, inChannels: first.c, outChannels: c,
      outHeight: h, outWidth: w, params, nonTrainableParams: nonTrainable, macs,
    });
  }
  const params = layers.reduce((n, l) => n + l.params, 0);
  const nonTrainableParams = layers.reduce((n, l) => n + l.nonTrainableParams, 0);
  const macs = layers.reduce((n, l) => n + l.macs, 0);
  return { inputSize: [H, W], params, nonTrainableParams, macs, flops: 2 * macs, layers };
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
