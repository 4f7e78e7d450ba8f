/**
 * A model's declarative structure (`getConfig()`: layer classes, configs, inbound nodes) in the
 * functional form, and rebuilding a model from such a config. Sequential models are read as the
 * equivalent functional model (an InputLayer plus a chain), so they come back as a functional
 * LayersModel with the same layer names.
 */
import * as tf from '@tensorflow/tfjs';
import './mish.ts'; // registers the custom layers so models that contain them can be rebuilt
import './darknet-layers.ts';
import { ModelError } from './errors.ts';

/** `[layerName, nodeIndex, tensorIndex, kwargs]` as in tfjs/Keras configs. */
export type InboundRef = [string, number, number, Record<string, unknown>?];

export interface LayerConfigEntry {
  name: string;
  className: string;
  config: Record<string, unknown>;
  inboundNodes: InboundRef[][];
}

export interface FunctionalConfig {
  name: string;
  layers: LayerConfigEntry[];
  inputLayers: [string, number, number][];
  outputLayers: [string, number, number][];
}

/** A deep copy of the model's structure in functional form (safe to edit). */
export function functionalConfig(model: tf.LayersModel): FunctionalConfig {
  if (model instanceof tf.Sequential) return sequentialAsFunctional(model);
  const cfg = JSON.parse(JSON.stringify(model.getConfig())) as Partial<FunctionalConfig>;
  if (!Array.isArray(cfg.layers) || !Array.isArray(cfg.inputLayers) || !Array.isArray(cfg.outputLayers)) {
    throw new ModelError(`model '${model.name}': unexpected config format (expected layers, inputLayers, outputLayers)`);
  }
  for (const entry of cfg.layers) patchConfig(model, entry.className, entry.config);
  return cfg as FunctionalConfig;
}

/** Works around config fields tfjs 4.22 forgets to serialize. */
function patchConfig(model: tf.LayersModel, className: string, config: Record<string, unknown>) {
  if (className === 'SeparableConv2D' && config.depthMultiplier === undefined) {
    // SeparableConv.getConfig drops depthMultiplier; the depthwise kernel [kh, kw, in, mult] has it.
    const dk = model.getLayer(String(config.name)).weights.find((w) => (w.originalName ?? w.name).endsWith('depthwise_kernel'));
    if (dk) config.depthMultiplier = dk.shape[dk.shape.length - 1];
  }
}

function sequentialAsFunctional(model: tf.Sequential): FunctionalConfig {
  const base = JSON.parse(JSON.stringify(model.getConfig())) as { name: string; layers: { className: string; config: Record<string, unknown> }[] };
  const input = model.inputs[0];
  const inputName = input.sourceLayer?.name ?? `${model.name}_input`;
  const layers: LayerConfigEntry[] = [{
    name: inputName,
    className: 'InputLayer',
    config: { batchInputShape: input.shape, dtype: input.dtype ?? 'float32', sparse: false, name: inputName },
    inboundNodes: [],
  }];
  let prev = inputName;
  for (const l of base.layers) {
    const config = { ...l.config };
    delete config.batchInputShape;
    delete config.inputShape;
    delete config.inputDim;
    const name = String(config.name);
    patchConfig(model, l.className, config);
    layers.push({ name, className: l.className, config, inboundNodes: [[[prev, 0, 0, {}]]] });
    prev = name;
  }
  return { name: base.name, layers, inputLayers: [[inputName, 0, 0]], outputLayers: [[prev, 0, 0]] };
}

/**
 * Builds a model from a functional config. Weights are initialized to zeros (cheap): callers set them.
 * The config object is consumed (tfjs edits it while deserializing): pass a copy to keep yours.
 */
export function rebuildModel(config: FunctionalConfig): tf.LayersModel {
  return tf.LayersModel.fromConfig(tf.LayersModel, config as unknown as tf.serialization.ConfigDict, {}, true) as tf.LayersModel;
}

export type Shape = (number | null)[];

/** Output shapes of one call, from the layer's own shape inference (H and W may stay open). */
export function outputShapes(live: tf.layers.Layer | undefined, className: string, config: Record<string, unknown>, inShapes: Shape[]): Shape[] {
  if (className === 'InputLayer') return [(config.batchInputShape as Shape | undefined) ?? (live?.outputShape as Shape)];
  if (!live) throw new ModelError(`layer '${String(config.name)}' (${className}) is not in the model`);
  let s: Shape | Shape[];
  try {
    const arg = inShapes.length === 1 ? [...inShapes[0]] : inShapes.map((x) => [...x]);
    s = live.computeOutputShape(arg as tf.Shape | tf.Shape[]) as Shape | Shape[];
  } catch {
    s = live.outputShape as Shape | Shape[];
  }
  return Array.isArray(s[0]) || (s.length > 0 && s[0] !== null && typeof s[0] === 'object') ? (s as Shape[]) : [s as Shape];
}
