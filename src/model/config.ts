/**
 * YOLOv4 configuration: what a user writes (a partial config, usually a JSON file in `configs/`)
 * and what the builder consumes (a resolved config where every conv's width is explicit).
 *
 * A pruned network is just another resolved config: its `widths` differ from the standard ones.
 */
import { readFileSync } from 'node:fs';
import { yolov4ConvLayout } from './layout.ts';
import { COCO_CLASS_NAMES } from './coco-names.ts';
import { Yolo4Error } from '../util/errors.ts';


/** How an image becomes the network's input: letterboxed (aspect kept, padded) or stretched ('resize', darknet / OpenCV DNN). */
export type ResizeMode = 'letterbox' | 'resize';
export type Anchor = [number, number];

/** What a user may write. Everything is optional; missing fields take the standard YOLOv4 values. */
export interface Yolov4ConfigInput {
  name?: string;
  numClasses?: number;
  classNames?: string[];
  inputSize?: number;
  /** 9 anchors as [w, h] in input pixels (the reference values are for 416). */
  anchors?: Anchor[];
  /** Which anchors each head uses, heads in output order (13x13 first at 416). */
  anchorMask?: number[][];
  /** Scales every standard conv width (rounded, at least 1). */
  widthMultiplier?: number;
  /** Scales the residual block counts [1, 2, 8, 8, 4] (rounded, at least 1). */
  depthMultiplier?: number;
  /** Residual block counts per backbone stage; overrides depthMultiplier. */
  blocks?: number[];
  /** Output channels of individual convs by layer name (e.g. "conv2.0.conv"); overrides the multiplier. */
  widths?: Record<string, number>;
  /**
   * 'yolov4' (default): the network is built from this config. 'darknet': the network came from a
   * darknet .cfg; its structure lives in the checkpoint's model.json and blocks/widths are not used.
   */
  architecture?: 'yolov4' | 'darknet';
  /** darknet's scale_x_y per head (default 1). */
  scaleXY?: number[];
  /** How images are fitted to the input: 'letterbox' (default) or a plain 'resize' (darknet/OpenCV). */
  resizeMode?: ResizeMode;
}

/** A config with nothing left to derive. */
export interface Yolov4Config {
  name: string;
  numClasses: number;
  classNames: string[];
  inputSize: number;
  anchors: Anchor[];
  anchorMask: number[][];
  blocks: number[];
  /** Output channels of every conv except the three head output convs (whose width is 3*(5+classes)). */
  widths: Record<string, number>;
  architecture?: 'yolov4' | 'darknet';
  scaleXY?: number[];
  resizeMode?: ResizeMode;
}

export const STANDARD_ANCHORS: Anchor[] = [
  [12, 16], [19, 36], [40, 28], [36, 75], [76, 55], [72, 146], [142, 110], [192, 243], [459, 401],
];
export const STANDARD_ANCHOR_MASK = [[6, 7, 8], [3, 4, 5], [0, 1, 2]];
export const STANDARD_BLOCKS = [1, 2, 8, 8, 4];

export class ConfigError extends Yolo4Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Upper bounds of what a config may ask for. Far above any real YOLOv4 (416-1536 input, <= 1203
 * classes, widths <= 1024), they stop a hostile or mistyped config (or a checkpoint's meta.json)
 * from building a network that needs gigabytes before anything can report the problem.
 */
export const CONFIG_LIMITS = {
  inputSize: 4096,
  numClasses: 20_000,
  /** Output channels of any one conv. */
  width: 8192,
  widthMultiplier: 8,
  /** Residual blocks per backbone stage. */
  blocksPerStage: 64,
  depthMultiplier: 8,
  anchors: 1000,
  /** Anchor side in input pixels. */
  anchorSide: 1e6,
} as const;

function atMost(source: string, field: string, value: number, max: number): void {
  if (value > max) {
    throw new ConfigError(`${source}: ${field} is ${value}, more than the ${max} this project builds (a corrupt or hostile config?)`);
  }
}

const KNOWN_KEYS = new Set([
  'name', 'numClasses', 'classNames', 'inputSize', 'anchors', 'anchorMask',
  'widthMultiplier', 'depthMultiplier', 'blocks', 'widths', 'architecture', 'scaleXY', 'resizeMode',
]);

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** Fills in defaults and derives every conv width; throws ConfigError with the offending field. */
export function resolveConfig(input: Yolov4ConfigInput = {}, source = 'config'): Yolov4Config {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(`${source}: expected a JSON object`);
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new ConfigError(`${source}: unknown field "${key}" (known: ${[...KNOWN_KEYS].join(', ')})`);
    }
  }
  const classNames = input.classNames;
  if (classNames !== undefined && (!Array.isArray(classNames) || classNames.some((c) => typeof c !== 'string'))) {
    throw new ConfigError(`${source}: classNames must be an array of strings`);
  }
  const numClasses = input.numClasses ?? classNames?.length ?? 80;
  if (!isPositiveInt(numClasses)) throw new ConfigError(`${source}: numClasses must be a positive integer, got ${JSON.stringify(numClasses)}`);
  atMost(source, 'numClasses', numClasses, CONFIG_LIMITS.numClasses);
  if (classNames && classNames.length !== numClasses) {
    throw new ConfigError(`${source}: classNames has ${classNames.length} names but numClasses is ${numClasses}`);
  }
  const inputSize = input.inputSize ?? 416;
  if (!isPositiveInt(inputSize) || inputSize % 32 !== 0) {
    throw new ConfigError(`${source}: inputSize must be a positive multiple of 32, got ${JSON.stringify(inputSize)}`);
  }
  atMost(source, 'inputSize', inputSize, CONFIG_LIMITS.inputSize);
  const anchors = input.anchors ?? STANDARD_ANCHORS;
  if (!Array.isArray(anchors) || anchors.some((a) => !Array.isArray(a) || a.length !== 2 || !a.every((v) => typeof v === 'number' && v > 0))) {
    throw new ConfigError(`${source}: anchors must be a list of [w, h] pairs of positive numbers`);
  }
  atMost(source, 'the number of anchors', anchors.length, CONFIG_LIMITS.anchors);
  for (const a of anchors) atMost(source, 'an anchor side', Math.max(a[0], a[1]), CONFIG_LIMITS.anchorSide);
  const architecture = input.architecture ?? 'yolov4';
  if (architecture !== 'yolov4' && architecture !== 'darknet') throw new ConfigError(`${source}: architecture must be "yolov4" or "darknet"`);
  const anchorMask = input.anchorMask ?? STANDARD_ANCHOR_MASK;
  if (!Array.isArray(anchorMask) || anchorMask.length === 0 || (architecture === 'yolov4' && anchorMask.length !== 3)) {
    throw new ConfigError(`${source}: anchorMask must list the anchors of each head (YOLOv4 has 3), e.g. [[6,7,8],[3,4,5],[0,1,2]]`);
  }
  if (input.scaleXY !== undefined && (!Array.isArray(input.scaleXY) || input.scaleXY.length !== anchorMask.length || !input.scaleXY.every((v) => typeof v === 'number' && v > 0))) {
    throw new ConfigError(`${source}: scaleXY must give one positive number per head`);
  }
  if (input.resizeMode !== undefined && input.resizeMode !== 'letterbox' && input.resizeMode !== 'resize') {
    throw new ConfigError(`${source}: resizeMode must be "letterbox" or "resize"`);
  }
  const extras = {
    ...(input.architecture ? { architecture } : {}),
    ...(input.scaleXY ? { scaleXY: [...input.scaleXY] } : {}),
    ...(input.resizeMode ? { resizeMode: input.resizeMode } : {}),
  };
  if (architecture === 'darknet') {
    // The structure is in the checkpoint's model.json; only what decoding needs is kept here.
    return {
      name: input.name ?? 'darknet', numClasses, classNames: classNames ?? defaultClassNames(numClasses), inputSize,
      anchors: anchors.map((a) => [a[0], a[1]] as Anchor), anchorMask: anchorMask.map((m) => [...m]),
      blocks: [], widths: { ...(input.widths ?? {}) }, ...extras,
    };
  }
  const perHead = anchorMask[0].length;
  for (const m of anchorMask) {
    if (!Array.isArray(m) || m.length !== perHead || m.some((i) => !Number.isInteger(i) || i < 0 || i >= anchors.length)) {
      throw new ConfigError(`${source}: anchorMask entries must be equal-length lists of anchor indices below ${anchors.length}`);
    }
  }
  const widthMultiplier = input.widthMultiplier ?? 1;
  const depthMultiplier = input.depthMultiplier ?? 1;
  if (!(widthMultiplier > 0) || !(depthMultiplier > 0)) {
    throw new ConfigError(`${source}: widthMultiplier and depthMultiplier must be positive numbers`);
  }
  atMost(source, 'widthMultiplier', widthMultiplier, CONFIG_LIMITS.widthMultiplier);
  atMost(source, 'depthMultiplier', depthMultiplier, CONFIG_LIMITS.depthMultiplier);
  const blocks = input.blocks ?? STANDARD_BLOCKS.map((n) => Math.max(1, Math.round(n * depthMultiplier)));
  if (!Array.isArray(blocks) || blocks.length !== 5 || !blocks.every(isPositiveInt)) {
    throw new ConfigError(`${source}: blocks must be 5 positive integers (residual blocks per backbone stage)`);
  }
  blocks.forEach((n, i) => atMost(source, `blocks[${i}]`, n, CONFIG_LIMITS.blocksPerStage));
  if (blocks[0] !== 1) throw new ConfigError(`${source}: the first backbone stage has exactly 1 residual block (got ${blocks[0]})`);

  const layout = yolov4ConvLayout(blocks);
  const widths: Record<string, number> = {};
  for (const conv of layout) {
    if (conv.isHeadOutput) continue;
    widths[conv.name] = Math.max(1, Math.round(conv.standardWidth * widthMultiplier));
  }
  for (const [name, w] of Object.entries(input.widths ?? {})) {
    if (!(name in widths)) {
      const near = Object.keys(widths).filter((k) => k.startsWith(name.split('.')[0])).slice(0, 4);
      throw new ConfigError(`${source}: widths names an unknown conv "${name}"${near.length ? ` (e.g. ${near.join(', ')})` : ''}`);
    }
    if (!isPositiveInt(w)) throw new ConfigError(`${source}: width of "${name}" must be a positive integer, got ${JSON.stringify(w)}`);
    atMost(source, `widths["${name}"]`, w, CONFIG_LIMITS.width);
    widths[name] = w;
  }
  checkResidualWidths(widths, blocks, source);

  return {
    name: input.name ?? 'yolov4',
    numClasses,
    classNames: classNames ?? defaultClassNames(numClasses),
    inputSize,
    anchors: anchors.map((a) => [a[0], a[1]] as Anchor),
    anchorMask: anchorMask.map((m) => [...m]),
    blocks: [...blocks],
    widths,
    ...extras,
  };
}

/** Residual adds force equal widths: each stage's split_conv1 and every block's second conv. */
function checkResidualWidths(widths: Record<string, number>, blocks: number[], source: string): void {
  blocks.forEach((n, s) => {
    const trunk = `backbone.stages.${s}.split_conv1.conv`;
    for (let b = 0; b < n; b++) {
      const name = `backbone.stages.${s}.blocks_conv.${b}.block.1.conv`;
      if (widths[name] !== widths[trunk]) {
        throw new ConfigError(
          `${source}: "${name}" has ${widths[name]} channels but is added to "${trunk}" with ${widths[trunk]}; residual partners must match`,
        );
      }
    }
  });
}

const placeholderName = (i: number) => `class${i}`;

/** 80 classes are taken to be COCO's; any other count gets placeholder names. */
/**
 * How a model's images are fitted to its input: the config's own resizeMode, else by origin —
 * darknet imports were made with a plain resize (darknet/OpenCV), YOLOv4 checkpoints with the
 * letterbox of the PyTorch reference. Training, validation and inference all use this.
 */
export function inputResizeMode(config: Pick<Yolov4Config, 'architecture' | 'resizeMode'>): ResizeMode {
  return config.resizeMode ?? (config.architecture === 'darknet' ? 'resize' : 'letterbox');
}

export function defaultClassNames(n: number): string[] {
  if (n === COCO_CLASS_NAMES.length) return [...COCO_CLASS_NAMES];
  return Array.from({ length: n }, (_, i) => placeholderName(i));
}

/** Placeholder names (`class0`, `class1`, ...) carry nothing to match by name: position is all there is. */
export function hasPlaceholderClassNames(names: readonly string[]): boolean {
  return names.every((n, i) => n === placeholderName(i));
}

/** Channels of each head's output conv: anchors per head x (4 box + 1 objectness + classes). */
export function headChannels(config: Pick<Yolov4Config, 'anchorMask' | 'numClasses'>): number {
  return config.anchorMask[0].length * (5 + config.numClasses);
}

/** Reads a JSON config file; relative class-name files are not supported, names go inline. */
export function loadConfigFile(path: string): Yolov4Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file "${path}": ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file "${path}" is not valid JSON: ${(e as Error).message}`);
  }
  return resolveConfig(json as Yolov4ConfigInput, path);
}
