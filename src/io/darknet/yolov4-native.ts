/**
 * Darknet files with YOLOv4's structure (AlexeyAB's yolov4.cfg, at any widths and class count) as our
 * native YOLOv4 with the reference layer names, and our YOLOv4 back to such files.
 *
 * A cfg is recognized by rebuilding the structure it would have (yolov4-cfg.ts) from its own block
 * counts, widths, anchors and classes, and comparing every resolved layer: any difference (an extra
 * layer, another activation, a route elsewhere) keeps the generic darknet graph, and says why.
 */
import type * as tf from '@tensorflow/tfjs';
import { ConfigError, resolveConfig, type Anchor, type Yolov4Config } from '../../model/config.ts';
import { buildYolov4, convWidthsOf } from '../../model/yolov4.ts';
import { parseDarknetCfg } from './cfg.ts';
import { resolveDarknetNetwork } from './layers.ts';
import type { ConvSpec, DarknetNetwork, LayerSpec } from './layer-specs.ts';
import {
  DarknetWeightsError, DEFAULT_HEADER, exportDarknetWeights, loadDarknetWeights,
  type ConvLayerNamer, type DarknetWeightsHeader,
} from './weights.ts';
import { darknetConvNames, darknetHeadToOutput, yolov4DarknetCfgText } from './yolov4-cfg.ts';

export type Yolov4Match = { config: Yolov4Config; reason?: undefined } | { config?: undefined; reason: string };

export interface NativeOptions {
  name?: string;
  classNames?: string[];
  inputSize?: number;
  source?: string;
}

/** Darknet conv k -> layout conv k, keyed by the conv's darknet layer index. */
function nativeNamer(network: DarknetNetwork, blocks: number[]): ConvLayerNamer {
  const names = darknetConvNames(blocks);
  const byIndex = new Map(network.layers.filter(isConv).map((l, k) => [l.index, names[k]]));
  return (l) => byIndex.get(l.index) ?? { conv: `(no YOLOv4 layer for darknet layer ${l.index})` };
}

const isConv = (l: LayerSpec): l is ConvSpec => l.type === 'convolutional';

/** Residual blocks per backbone stage: the shortcuts between the first five stride-2 convs. */
function blockCounts(network: DarknetNetwork): number[] | string {
  const downs = network.layers.filter((l) => isConv(l) && l.stride === 2).map((l) => l.index);
  if (downs.length < 5) return `it has ${downs.length} stride-2 convs, YOLOv4's backbone has 5 stages`;
  const bounds = [...downs.slice(0, 5), Infinity];
  const shortcuts = network.layers.filter((l) => l.type === 'shortcut').map((l) => l.index);
  const blocks = [0, 1, 2, 3, 4].map((s) => shortcuts.filter((i) => i > bounds[s] && i < bounds[s + 1]).length);
  if (blocks.some((b) => b < 1)) return `its backbone stages have [${blocks}] residual blocks; YOLOv4's have at least 1 each`;
  return blocks;
}

/** A layer as the comparison sees it: everything but the line it was written on. */
function signature(l: LayerSpec): string {
  const { line: _line, ...rest } = l;
  return JSON.stringify(rest);
}

/** The native config of a darknet network with YOLOv4's structure, or why it is not one. */
export function matchYolov4(network: DarknetNetwork, opts: NativeOptions = {}): Yolov4Match {
  if (network.width !== network.height) return { reason: `its input is ${network.width}x${network.height}, not square` };
  if (network.channels !== 3) return { reason: `it reads ${network.channels} channels, not RGB` };
  if (network.yolo.length !== 3) return { reason: `it has ${network.yolo.length} [yolo] layers, YOLOv4 has 3` };
  const blocks = blockCounts(network);
  if (typeof blocks === 'string') return { reason: blocks };
  const names = darknetConvNames(blocks);
  const convs = network.layers.filter(isConv);
  if (convs.length !== names.length) {
    return { reason: `it has ${convs.length} convs, YOLOv4 with blocks [${blocks}] has ${names.length}` };
  }
  const widths: Record<string, number> = {};
  names.forEach((n, k) => { if (n.bn) widths[n.conv] = convs[k].filters; });
  const anchors = network.yolo[0].anchors;
  if (network.yolo.some((y) => JSON.stringify(y.anchors) !== JSON.stringify(anchors))) {
    return { reason: 'its [yolo] layers list different anchors' };
  }
  const heads = [0, 1, 2].map((o) => network.yolo[darknetHeadToOutput(o)]);
  let config: Yolov4Config;
  try {
    config = resolveConfig({
      name: opts.name ?? 'yolov4',
      numClasses: network.yolo[0].classes,
      ...(opts.classNames ? { classNames: opts.classNames } : {}),
      inputSize: opts.inputSize ?? network.width,
      anchors: anchors.map((a) => [a[0], a[1]] as Anchor),
      anchorMask: heads.map((y) => [...y.mask]),
      blocks,
      widths,
      scaleXY: heads.map((y) => y.scaleXY),
      resizeMode: 'resize',
    }, opts.source ?? network.cfg.source);
  } catch (e) {
    if (e instanceof ConfigError) return { reason: e.message };
    throw e;
  }
  const canonical = resolveDarknetNetwork(parseDarknetCfg(yolov4DarknetCfgText({ ...config, inputSize: network.width }), 'yolov4'));
  if (canonical.layers.length !== network.layers.length) {
    return { reason: `it has ${network.layers.length} layers, YOLOv4 with blocks [${blocks}] has ${canonical.layers.length}` };
  }
  for (let i = 0; i < canonical.layers.length; i++) {
    const mine = network.layers[i];
    if (signature(mine) !== signature(canonical.layers[i])) {
      return { reason: `layer ${i} ([${mine.type}], ${network.cfg.source}:${mine.line}) differs from YOLOv4's ${canonical.layers[i].type} there` };
    }
  }
  return { config };
}

/** Our YOLOv4 for a recognized network, with the .weights values when given. */
export function buildNativeFromDarknet(
  network: DarknetNetwork, config: Yolov4Config, weights?: Uint8Array, source = 'weights',
): { model: tf.LayersModel; header?: DarknetWeightsHeader } {
  const model = buildYolov4(config);
  try {
    const header = weights ? loadDarknetWeights(model, network, weights, source, nativeNamer(network, config.blocks)) : undefined;
    return { model, ...(header ? { header } : {}) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * cfg text and .weights of one of our YOLOv4 models (pruned or not): widths read off the model,
 * everything else from its config.
 */
export function exportNativeDarknet(model: tf.LayersModel, config: Yolov4Config): { cfgText: string; weights: Uint8Array; network: DarknetNetwork } {
  const widths = convWidthsOf(model);
  for (const n of darknetConvNames(config.blocks)) {
    if (widths[n.conv] === undefined) {
      throw new DarknetWeightsError(`model '${model.name}' has no conv '${n.conv}': darknet export of a YOLOv4 needs the reference layout (this model's layers cannot be written as yolov4.cfg sections)`);
    }
  }
  const cfgText = yolov4DarknetCfgText(config, widths);
  const network = resolveDarknetNetwork(parseDarknetCfg(cfgText, `${config.name}.cfg`));
  const weights = exportDarknetWeights(model, network, DEFAULT_HEADER, nativeNamer(network, config.blocks));
  return { cfgText, weights, network };
}
