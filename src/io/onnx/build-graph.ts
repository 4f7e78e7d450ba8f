/**
 * A tfjs LayersModel (one 4-D NHWC image input, any number of 4-D outputs) as an ONNX graph with an
 * NCHW input `images` and outputs `output0`, `output1`, ... in the model's output order. Layers are
 * written in dependency order by layers.ts; anything else is an OnnxExportError naming the layer.
 */
import type * as tf from '@tensorflow/tfjs';
import { functionalConfig, type LayerConfigEntry } from '../../model/topology.ts';
import { OnnxExportError } from './errors.ts';
import { OnnxGraphBuilder } from './graph.ts';
import { LayerWriter, type OnnxValue } from './layers.ts';
import type { OnnxDim, OnnxGraphData, OnnxValueInfo } from './proto.ts';

export const ONNX_INPUT_NAME = 'images';

export interface GraphShapeOptions {
  /** A fixed batch size; default dynamic ('batch'). */
  batchSize?: number;
  /** A fixed [height, width]; default dynamic ('height', 'width'). */
  imageSize?: [number, number];
}

export interface OnnxOutputInfo {
  /** The ONNX output name (output0, output1, ...). */
  name: string;
  /** The tfjs layer it comes from. */
  layer: string;
  channels: number;
  /** Input side / output side (32, 16, 8 for YOLOv4's heads); null if not a fixed ratio. */
  stride: number | null;
}

export interface BuiltGraph {
  graph: OnnxGraphData;
  outputs: OnnxOutputInfo[];
}

const layerWhere = (e: LayerConfigEntry) => `layer '${e.name}' (${e.className})`;

function imageRank(model: tf.LayersModel, e: LayerConfigEntry): number {
  const shape = model.getLayer(e.name).outputShape as (number | null)[] | (number | null)[][];
  if (Array.isArray(shape[0])) throw new OnnxExportError(`${layerWhere(e)} has several outputs, which the ONNX export does not support`);
  const s = shape as (number | null)[];
  const channels = s[s.length - 1];
  if (s.length !== 4 || typeof channels !== 'number') {
    throw new OnnxExportError(`${layerWhere(e)} outputs shape [${s.map(String).join(', ')}]; the ONNX export needs 4-D [batch, H, W, channels] tensors with known channels`);
  }
  return channels;
}

/** Dependency order, in config order where possible (tfjs already lists layers topologically). */
function ordered(layers: LayerConfigEntry[]): LayerConfigEntry[] {
  const done = new Set<string>();
  const out: LayerConfigEntry[] = [];
  let pending = layers;
  while (pending.length > 0) {
    const next = pending.filter((e) => {
      const ready = e.inboundNodes.every((node) => node.every((ref) => done.has(ref[0])));
      if (ready) { out.push(e); done.add(e.name); }
      return !ready;
    });
    if (next.length === pending.length) throw new OnnxExportError(`${layerWhere(pending[0])} depends on a layer that is not in the model`);
    pending = next;
  }
  return out;
}

export function buildOnnxGraph(model: tf.LayersModel, opset: number, shape: GraphShapeOptions = {}): BuiltGraph {
  const cfg = functionalConfig(model);
  if (cfg.inputLayers.length !== 1) throw new OnnxExportError(`model '${model.name}' has ${cfg.inputLayers.length} inputs; the ONNX export needs exactly one image input`);
  const g = new OnnxGraphBuilder();
  g.unique(ONNX_INPUT_NAME);
  const outputNames = cfg.outputLayers.map((_, k) => g.unique(`output${k}`));
  const writer = new LayerWriter(g, opset);
  const values = new Map<string, OnnxValue>();
  let inputChannels = 0;

  for (const entry of ordered(cfg.layers)) {
    const channels = imageRank(model, entry);
    if (entry.className === 'InputLayer') {
      inputChannels = channels;
      values.set(entry.name, { name: ONNX_INPUT_NAME, channels, stride: 1 });
      continue;
    }
    if (entry.inboundNodes.length !== 1) throw new OnnxExportError(`${layerWhere(entry)} is called ${entry.inboundNodes.length} times (a shared layer); the ONNX export needs each layer called once`);
    const inputs = entry.inboundNodes[0].map(([name, node, tensor]) => {
      const v = values.get(name);
      if (!v || node !== 0 || tensor !== 0) throw new OnnxExportError(`${layerWhere(entry)} reads output ${node}/${tensor} of '${name}', which the ONNX export cannot follow`);
      return v;
    });
    values.set(entry.name, writer.write({ entry, layer: model.getLayer(entry.name), inputs, channels }));
  }

  const spatial = (base: 'height' | 'width', fixed: number | undefined, stride: number | null): OnnxDim => {
    if (fixed !== undefined) return stride !== null && fixed % stride === 0 ? fixed / stride : null;
    return stride === null ? null : stride === 1 ? base : `${base}/${stride}`;
  };
  const batch: OnnxDim = shape.batchSize ?? 'batch';
  const [height, width] = shape.imageSize ?? [undefined, undefined];
  const outputs: OnnxOutputInfo[] = [];
  const outputInfos: OnnxValueInfo[] = [];
  const renamed = new Map<string, string>(); // value -> the output name it took
  cfg.outputLayers.forEach(([layer], k) => {
    const v = writer.materialize(values.get(layer)!);
    const name = outputNames[k];
    // A value produced by a node takes the output's name; the input itself, or a value that is
    // already another output, goes through an Identity.
    const earlier = renamed.get(v.name);
    if (earlier === undefined && g.produces(v.name)) {
      g.renameValue(v.name, name);
      renamed.set(v.name, name);
    } else {
      g.nodes.push({ opType: 'Identity', name, inputs: [earlier ?? v.name], outputs: [name], attributes: [] });
    }
    const stride = v.stride !== null && Number.isInteger(v.stride) ? v.stride : null;
    outputs.push({ name, layer, channels: v.channels, stride });
    outputInfos.push({ name, dims: [batch, v.channels, spatial('height', height, stride), spatial('width', width, stride)], docString: `layer ${layer}` });
  });

  return {
    graph: {
      name: model.name,
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [{ name: ONNX_INPUT_NAME, dims: [batch, inputChannels, height ?? 'height', width ?? 'width'] }],
      outputs: outputInfos,
    },
    outputs,
  };
}
