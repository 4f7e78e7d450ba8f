/**
 * Darknet models in and out:
 *
 *   const { model, config } = await importDarknet('yolov4-tiny.cfg', 'yolov4-tiny.weights', { namesFile: 'coco.names' });
 *   await saveCheckpoint('checkpoints/tiny', model, config, { source: { kind: 'darknet', ... } });
 *   ...prune / fine-tune...
 *   const { cfgText, weights } = exportDarknetFiles(model, config);   // written by io/darknet-export-target.ts
 *
 * Two layouts. A cfg with YOLOv4's structure (AlexeyAB's yolov4.cfg at any widths and class count)
 * becomes our native YOLOv4 with the reference layer names (yolov4-native.ts), so prune patterns such
 * as 'conv2.*' apply to it; every other cfg (yolov4-tiny, Yolo-Fastest, ...) becomes a generic graph
 * (names conv_<i>, bn_<i>, ... see build.ts) with a config of architecture 'darknet' (anchors, per-head
 * masks in output order, scale_x_y, plain resize). The generic graph carries its original cfg text
 * (first DarknetYolo output layer), so export writes it back with each conv's `filters` (and a
 * depthwise conv's `groups`) read from the model, every other line unchanged; a native YOLOv4 is
 * written as yolov4.cfg sections from its config and widths.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { DarknetYolo, hexToText } from '../../model/darknet-layers.ts';
import { resolveConfig, type Anchor, type Yolov4Config } from '../../model/config.ts';
import { readClassNames } from '../load-weights.ts';
import { buildDarknetModel, DARKNET_BN_EPSILON } from './build.ts';
import { DarknetCfgError, parseDarknetCfg, SectionReader, writeDarknetCfg, type CfgEdit, type DarknetCfg } from './cfg.ts';
import { resolveDarknetNetwork } from './layers.ts';
import type { DarknetNetwork } from './layer-specs.ts';
import { DEFAULT_HEADER, exportDarknetWeights, loadDarknetWeights, type DarknetWeightsHeader } from './weights.ts';
import { buildNativeFromDarknet, exportNativeDarknet, matchYolov4 } from './yolov4-native.ts';
import { ModelError } from '../../model/errors.ts';

export { DarknetCfgError, parseDarknetCfg, writeDarknetCfg } from './cfg.ts';
export type { CfgEdit, CfgOption, CfgSection, DarknetCfg } from './cfg.ts';
export { resolveDarknetNetwork } from './layers.ts';
export { countDarknetParams, convWeightFloats } from './param-counts.ts';
export type { DarknetCounts } from './param-counts.ts';
export type { DarknetNetwork, LayerSpec } from './layer-specs.ts';
export { buildDarknetModel, DARKNET_BN_EPSILON, OPENCV_BN_EPSILON } from './build.ts';
export { DarknetWeightsError, DEFAULT_HEADER, exportDarknetWeights, loadDarknetWeights, randomDarknetWeights, readWeightsHeader } from './weights.ts';
export type { DarknetWeightsHeader } from './weights.ts';

export interface ImportDarknetOptions {
  /** Class names file (one per line, e.g. coco.names); must list `classes` names. */
  namesFile?: string;
  /** Class names (instead of a file). Default: COCO's for 80 classes, class0.. otherwise. */
  classNames?: string[];
  /** Input size stored in the config (multiple of 32). Default: the cfg's width (= height). */
  inputSize?: number;
  /** Model/config name. Default: the cfg file name without extension. */
  name?: string;
  /**
   * BatchNormalization epsilon. Default 1e-5, darknet's own; 1e-6 (OPENCV_BN_EPSILON) reproduces
   * OpenCV's DNN module, which uses that value for darknet models.
   */
  bnEpsilon?: number;
  /**
   * 'auto' (default): our native YOLOv4 when the cfg has YOLOv4's structure, else the generic graph;
   * 'darknet': always the generic graph; 'yolov4': the native YOLOv4 or an error saying why not.
   */
  layout?: DarknetLayout;
}

export type DarknetLayout = 'auto' | 'darknet' | 'yolov4';

export interface ImportedDarknet {
  model: tf.LayersModel;
  config: Yolov4Config;
  network: DarknetNetwork;
  /** Which graph was built, and for 'darknet' under layout 'auto', why the cfg is not a YOLOv4. */
  layout: 'yolov4' | 'darknet';
  notYolov4?: string;
  /** The .weights header, when weights were given. */
  header?: DarknetWeightsHeader;
}

/** Reads a darknet .cfg (and optionally its .weights) into a tfjs model and a 'darknet' config. */
export async function importDarknet(cfgPath: string, weightsPath?: string, opts: ImportDarknetOptions = {}): Promise<ImportedDarknet> {
  const text = await fs.readFile(cfgPath, 'utf8').catch((e: Error) => {
    throw new DarknetCfgError(`cannot read darknet cfg "${cfgPath}": ${e.message}`);
  });
  const weights = weightsPath === undefined ? undefined : await fs.readFile(weightsPath).catch((e: Error) => {
    throw new DarknetCfgError(`cannot read darknet weights "${weightsPath}": ${e.message}`);
  });
  const classNames = opts.classNames ?? (opts.namesFile ? await readClassNames(opts.namesFile) : undefined);
  const name = opts.name ?? path.basename(cfgPath).replace(/\.cfg$/i, '');
  return importDarknetText(text, weights, { ...opts, classNames, name, cfgSource: cfgPath, weightsSource: weightsPath, namesSource: opts.namesFile });
}

/** importDarknet on in-memory data. */
export function importDarknetText(
  cfgText: string,
  weights?: Uint8Array,
  opts: Omit<ImportDarknetOptions, 'namesFile'> & { cfgSource?: string; weightsSource?: string; namesSource?: string } = {},
): ImportedDarknet {
  const cfg = parseDarknetCfg(cfgText, opts.cfgSource ?? 'cfg');
  const network = resolveDarknetNetwork(cfg);
  const layout = opts.layout ?? 'auto';
  let notYolov4: string | undefined;
  if (layout !== 'darknet') {
    const match = matchYolov4(network, { ...opts, source: cfg.source });
    // Our YOLOv4 computes BN with darknet's epsilon; another one (OpenCV's) needs the generic graph.
    const eps = opts.bnEpsilon ?? DARKNET_BN_EPSILON;
    notYolov4 = match.reason ?? (eps !== DARKNET_BN_EPSILON ? `BN epsilon ${eps} (YOLOv4's is ${DARKNET_BN_EPSILON})` : undefined);
    if (match.config && notYolov4 === undefined) {
      const { model, header } = buildNativeFromDarknet(network, match.config, weights, opts.weightsSource ?? 'weights');
      return { model, config: match.config, network, layout: 'yolov4', ...(header ? { header } : {}) };
    }
    if (layout === 'yolov4') throw new DarknetCfgError(`${cfg.source} cannot be built as YOLOv4 with the reference layout: ${notYolov4}`);
  }
  const config = darknetConfig(network, opts);
  const model = buildDarknetModel(network, { name: config.name, bnEpsilon: opts.bnEpsilon });
  let header: DarknetWeightsHeader | undefined;
  try {
    if (weights) header = loadDarknetWeights(model, network, weights, opts.weightsSource ?? 'weights');
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, config, network, layout: 'darknet', ...(notYolov4 ? { notYolov4 } : {}), ...(header ? { header } : {}) };
}

/**
 * The project config of a darknet network: anchors and per-head masks in output ([yolo]) order. When
 * every [yolo] layer lists the same anchors they are kept with their masks; otherwise each head's
 * anchors are concatenated and the masks renumbered.
 */
export function darknetConfig(network: DarknetNetwork, opts: { classNames?: string[]; inputSize?: number; name?: string; namesSource?: string } = {}): Yolov4Config {
  const { yolo, cfg } = network;
  const net = new SectionReader(cfg, cfg.net);
  for (const y of yolo) {
    if (y.newCoords !== 0) {
      throw new SectionReader(cfg, cfg.layers[y.index]).error('new_coords=1 (scaled-YOLOv4 box decoding) is not supported', 'new_coords');
    }
  }
  if (opts.inputSize === undefined && network.width !== network.height) {
    throw net.error(`the input is ${network.width}x${network.height}; only square inputs are supported (give an inputSize)`, 'width');
  }
  const inputSize = opts.inputSize ?? network.width;
  const numClasses = yolo[0].classes;
  if (opts.classNames && opts.classNames.length !== numClasses) {
    throw new DarknetCfgError(`${opts.namesSource ?? 'class names'} lists ${opts.classNames.length} names, but ${cfg.source} has classes=${numClasses}`);
  }
  const same = yolo.every((y) => JSON.stringify(y.anchors) === JSON.stringify(yolo[0].anchors));
  let anchors: Anchor[];
  let anchorMask: number[][];
  if (same) {
    anchors = yolo[0].anchors.map((a) => [a[0], a[1]] as Anchor);
    anchorMask = yolo.map((y) => [...y.mask]);
  } else {
    anchors = [];
    anchorMask = yolo.map((y) => y.mask.map((m) => anchors.push([y.anchors[m][0], y.anchors[m][1]]) - 1));
  }
  return resolveConfig({
    name: opts.name ?? 'darknet',
    architecture: 'darknet',
    numClasses,
    ...(opts.classNames ? { classNames: opts.classNames } : {}),
    inputSize,
    anchors,
    anchorMask,
    scaleXY: yolo.map((y) => y.scaleXY),
    resizeMode: 'resize',
  }, cfg.source);
}

function carriesDarknetCfg(model: tf.LayersModel): boolean {
  return model.layers.some((l) => l instanceof DarknetYolo && l.cfgHex !== undefined);
}

/** The cfg the model was imported from, as stored in its first DarknetYolo layer. */
export function storedDarknetCfg(model: tf.LayersModel): { text: string; header?: DarknetWeightsHeader } {
  const holder = model.layers.find((l) => l instanceof DarknetYolo && l.cfgHex !== undefined) as DarknetYolo | undefined;
  if (!holder) {
    throw new DarknetCfgError(`model '${model.name}' carries no darknet cfg: darknet export needs a model imported from darknet (.cfg) or a YOLOv4 with its config`);
  }
  return { text: hexToText(holder.cfgHex!), ...(holder.weightsHeader ? { header: holder.weightsHeader } : {}) };
}

/** Channels out of a conv layer and, for depthwise convs, the groups (= input channels). */
function convWidth(layer: tf.layers.Layer): { filters: number; groups?: number } {
  const kernel = layer.weights.find((w) => /(^|\/)(depthwise_)?kernel(_\d+)?$/.test(w.originalName ?? w.name));
  if (!kernel) throw new ModelError(`layer '${layer.name}' has no kernel`);
  const [, , cin, last] = kernel.shape as number[];
  if (layer.getClassName() === 'DepthwiseConv2D') return { filters: cin * last, groups: cin };
  return { filters: last };
}

/**
 * The darknet cfg of a (possibly pruned) imported model: the stored cfg text with every conv's
 * `filters` (and depthwise `groups`) set to the model's widths and, when `inputSize` is given and
 * differs, [net] width and height. Returns the text and its resolved network.
 */
export function darknetCfgOf(model: tf.LayersModel, opts: { inputSize?: number; source?: string } = {}): { text: string; network: DarknetNetwork; header?: DarknetWeightsHeader } {
  const stored = storedDarknetCfg(model);
  const source = opts.source ?? `${model.name}.cfg`;
  const original: DarknetCfg = parseDarknetCfg(stored.text, source);
  const edits: CfgEdit[] = [];
  for (const section of original.layers) {
    if (section.type !== 'convolutional') continue;
    let layer: tf.layers.Layer;
    try {
      layer = model.getLayer(`conv_${section.index}`);
    } catch {
      throw new DarknetCfgError(`model '${model.name}' has no layer conv_${section.index} for ${source}:${section.line}`);
    }
    const r = new SectionReader(original, section);
    const { filters, groups } = convWidth(layer);
    if (r.int('filters', 1) !== filters) edits.push({ index: section.index, key: 'filters', value: filters });
    if (groups !== undefined && r.int('groups', 1) !== groups) edits.push({ index: section.index, key: 'groups', value: groups });
  }
  if (opts.inputSize !== undefined) {
    const net = new SectionReader(original, original.net);
    if (net.int('width', 0) !== opts.inputSize) edits.push({ index: -1, key: 'width', value: opts.inputSize });
    if (net.int('height', 0) !== opts.inputSize) edits.push({ index: -1, key: 'height', value: opts.inputSize });
  }
  const text = writeDarknetCfg(original, edits);
  const network = resolveDarknetNetwork(parseDarknetCfg(text, source));
  return { text, network, ...(stored.header ? { header: stored.header } : {}) };
}

/**
 * cfg text and .weights bytes of a model: a darknet import (possibly pruned or fine-tuned) writes back
 * its own cfg; our YOLOv4 (from PyTorch, a config or a yolov4.cfg) is written as yolov4.cfg sections.
 */
export function exportDarknetFiles(
  model: tf.LayersModel, config?: Pick<Yolov4Config, 'inputSize'> | Yolov4Config,
): { cfgText: string; weights: Uint8Array; network: DarknetNetwork } {
  if (!carriesDarknetCfg(model) && config && 'blocks' in config && config.architecture !== 'darknet') {
    return exportNativeDarknet(model, config);
  }
  const { text, network, header } = darknetCfgOf(model, { inputSize: config?.inputSize });
  const weights = exportDarknetWeights(model, network, header ?? DEFAULT_HEADER);
  return { cfgText: text, weights, network };
}
