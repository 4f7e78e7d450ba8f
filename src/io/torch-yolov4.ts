/**
 * PyTorch YOLOv4 state dict -> tfjs YOLOv4 model.
 *
 * The config (residual block counts, every conv's width, class count) is read from the tensor
 * shapes, so a model pruned in PyTorch imports into a correctly sized tfjs model with no config file.
 */
import * as tf from '@tensorflow/tfjs';
import { resolveConfig, type Anchor, type Yolov4Config } from '../model/config.ts';
import { yolov4ConvLayout } from '../model/layout.ts';
import { buildYolov4 } from '../model/yolov4.ts';
import { readTorchFile, toFloat32, TorchFormatError, type StateDict, type TorchTensor } from './torch/index.ts';
import { Yolo4Error } from '../util/errors.ts';

export class TorchImportError extends Yolo4Error {
  constructor(message: string) {
    super(message);
    this.name = 'TorchImportError';
  }
}

export interface TorchImportOptions {
  classNames?: string[];
  inputSize?: number;
  anchors?: Anchor[];
  anchorMask?: number[][];
  name?: string;
}

const BN_SUFFIXES = ['weight', 'bias', 'running_mean', 'running_var'] as const;

/** Drops wrappers users commonly save with: DataParallel's `module.` prefix. */
function normaliseKeys(sd: StateDict): StateDict {
  const keys = [...sd.keys()];
  if (keys.length > 0 && keys.every((k) => k.startsWith('module.'))) {
    return new Map(keys.map((k) => [k.slice('module.'.length), sd.get(k)!]));
  }
  return sd;
}

/** Reads block counts, conv widths and class count off the tensor shapes. */
export function inferYolov4Config(sdIn: StateDict, opts: TorchImportOptions = {}): Yolov4Config {
  const sd = normaliseKeys(sdIn);
  if (!sd.has('backbone.conv1.conv.weight')) {
    const sample = [...sd.keys()].slice(0, 5).join(', ');
    throw new TorchImportError(
      `this does not look like a YOLOv4 state dict (no "backbone.conv1.conv.weight"; first keys: ${sample || 'none'})`);
  }
  const blocks = [0, 1, 2, 3, 4].map((s) => {
    let n = 0;
    while (sd.has(`backbone.stages.${s}.blocks_conv.${n}.block.0.conv.weight`)) n++;
    if (n === 0) throw new TorchImportError(`missing key "backbone.stages.${s}.blocks_conv.0.block.0.conv.weight"`);
    return n;
  });
  const anchorMask = opts.anchorMask ?? [[6, 7, 8], [3, 4, 5], [0, 1, 2]];
  const headOut = sd.get('yolo_head1.1.weight');
  if (!headOut) throw new TorchImportError('missing key "yolo_head1.1.weight" (the first detection head)');
  const perHead = anchorMask[0].length;
  const numClasses = headOut.shape[0] / perHead - 5;
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new TorchImportError(`yolo_head1.1 has ${headOut.shape[0]} output channels, not ${perHead} x (5 + classes)`);
  }
  const widths: Record<string, number> = {};
  for (const spec of yolov4ConvLayout(blocks)) {
    if (spec.isHeadOutput) continue;
    const w = sd.get(`${spec.name}.weight`);
    if (!w) throw new TorchImportError(`missing key "${spec.name}.weight"`);
    if (w.shape.length !== 4) throw new TorchImportError(`"${spec.name}.weight" has shape [${w.shape}], expected a 4-d conv kernel`);
    widths[spec.name] = w.shape[0];
  }
  if (opts.classNames && opts.classNames.length !== numClasses) {
    throw new TorchImportError(`the weights have ${numClasses} classes but ${opts.classNames.length} class names were given`);
  }
  return resolveConfig({
    name: opts.name ?? 'yolov4',
    numClasses,
    classNames: opts.classNames,
    inputSize: opts.inputSize,
    anchors: opts.anchors,
    anchorMask,
    blocks,
    widths,
  }, 'weights');
}

/** Builds the model the state dict describes and copies every weight into it. */
export function yolov4FromStateDict(sdIn: StateDict, opts: TorchImportOptions = {}): { model: tf.LayersModel; config: Yolov4Config } {
  const sd = normaliseKeys(sdIn);
  const config = inferYolov4Config(sd, opts);
  const model = buildYolov4(config);
  try {
    loadStateDictInto(model, sd);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, config };
}

/** Copies weights by name; every model weight must be found and every float tensor used. */
export function loadStateDictInto(model: tf.LayersModel, sdIn: StateDict): void {
  const sd = normaliseKeys(sdIn);
  const used = new Set<string>();
  const missing: string[] = [];
  const take = (key: string, expectedShape: number[]): TorchTensor | undefined => {
    const t = sd.get(key);
    if (!t) {
      missing.push(key);
      return undefined;
    }
    used.add(key);
    if (t.shape.length !== expectedShape.length || t.shape.some((d, i) => d !== expectedShape[i])) {
      throw new TorchImportError(`shape mismatch for "${key}": file has [${t.shape}], the model needs [${expectedShape}]`);
    }
    return t;
  };

  const assignments: [tf.layers.Layer, tf.Tensor[]][] = [];
  try {
    for (const layer of model.layers) {
      const cls = layer.getClassName();
      if (cls === 'Conv2D') {
        const [kernel, bias] = layer.getWeights(false);
        const [kh, kw, cin, cout] = kernel.shape;
        const w = take(`${layer.name}.weight`, [cout, cin, kh, kw]);
        const b = bias ? take(`${layer.name}.bias`, [cout]) : undefined;
        if (!w || (bias && !b)) continue;
        const tensors = [tf.tidy(() => tf.tensor4d(toFloat32(w), [cout, cin, kh, kw]).transpose([2, 3, 1, 0]))];
        if (b) tensors.push(tf.tensor1d(toFloat32(b)));
        assignments.push([layer, tensors]);
      } else if (cls === 'BatchNormalization') {
        const n = layer.getWeights(false)[0].shape[0];
        const parts = BN_SUFFIXES.map((s) => take(`${layer.name}.${s}`, [n]));
        if (sd.has(`${layer.name}.num_batches_tracked`)) used.add(`${layer.name}.num_batches_tracked`);
        if (parts.some((p) => !p)) continue;
        assignments.push([layer, parts.map((p) => tf.tensor1d(toFloat32(p!)))]);
      }
    }
    if (missing.length > 0) {
      throw new TorchImportError(
        `${missing.length} weight(s) missing from the file, e.g. ${missing.slice(0, 4).map((k) => `"${k}"`).join(', ')}`);
    }
    const extra = [...sd.keys()].filter((k) => !used.has(k));
    if (extra.length > 0) {
      throw new TorchImportError(
        `${extra.length} unexpected key(s) in the file, e.g. ${extra.slice(0, 4).map((k) => `"${k}"`).join(', ')}`);
    }
    for (const [layer, tensors] of assignments) layer.setWeights(tensors);
  } finally {
    for (const [, tensors] of assignments) tf.dispose(tensors);
  }
}

/** Reads a `.pth` file (zip, legacy or whole-model) into a tfjs YOLOv4. */
export async function importTorchYolov4(path: string, opts: TorchImportOptions = {}):
Promise<{ model: tf.LayersModel; config: Yolov4Config; format: string; kind: string }> {
  let parsed;
  try {
    parsed = await readTorchFile(path);
  } catch (e) {
    if (e instanceof TorchFormatError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new TorchImportError(`weights file not found: ${path}`);
    throw e;
  }
  const { model, config } = yolov4FromStateDict(parsed.stateDict, opts);
  return { model, config, format: parsed.format, kind: parsed.kind };
}
