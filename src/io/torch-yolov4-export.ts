/**
 * tfjs YOLOv4 -> PyTorch `.pth`, the inverse of torch-yolov4.ts: the file the reference
 * implementation (bubbliiiing/yolov4-pytorch `nets.yolo.YoloBody`) would save for the same weights.
 * - default: `torch.save(model.state_dict())`, loadable with `torch.load(path, weights_only=True)`
 *   and `YoloBody.load_state_dict` (for a pruned model, into a YoloBody built with the same widths);
 * - `whole: true`: `torch.save(model)`, the pickled YoloBody object with the pruned widths in its
 *   modules' attributes; loading it needs the reference's `nets` package on Python's path.
 * Layer names already are the reference's module paths (model/yolov4.ts), so only the layout is
 * checked: a network that YoloBody cannot express (e.g. a darknet-imported graph) is refused.
 */
import type * as tf from '@tensorflow/tfjs';
import { STANDARD_BLOCKS, type Yolov4Config } from '../model/config.ts';
import { yolov4ConvLayout } from '../model/layout.ts';
import { writeFileAtomic } from '../util/atomic-file.ts';
import { OutputExistsError } from './checkpoint.ts';
import { existingOutputHead } from './existing-output.ts';
import { tfToOihw } from './darknet/weights.ts';
import type { StateDict, TorchTensor } from './torch/index.ts';
import { archiveNameFor, torchSave, TorchExportError, type TorchSaveResult } from './torch/write/index.ts';
import { yoloBodyModuleTree, type YoloBodySource } from './torch-yolov4-modules.ts';

export { TorchExportError } from './torch/write/index.ts';

export interface TorchExportOptions {
  /** Write the whole pickled YoloBody (torch.save(model)) instead of its state dict. */
  whole?: boolean;
  /** The value of every BatchNorm's num_batches_tracked buffer, which tfjs does not keep (default 0). */
  numBatchesTracked?: number;
  /** Replace an existing file at the path; only a PyTorch checkpoint is ever replaced. */
  force?: boolean;
}

export interface TorchExportResult {
  path: string;
  kind: 'state_dict' | 'module';
  /** File size in bytes. */
  bytes: number;
}

const FORMAT = 'PyTorch .pth (the layout of bubbliiiing/yolov4-pytorch nets.yolo.YoloBody)';
/** Layers without weights that only join tensors; their names carry no meaning in the reference. */
const GLUE_CLASSES = new Set(['InputLayer', 'Add', 'Concatenate']);

/** Every named layer the reference layout has, with its tfjs class. */
function referenceLayers(blocks: number[]): Map<string, string> {
  const layers = new Map<string, string>();
  for (const spec of yolov4ConvLayout(blocks)) {
    layers.set(spec.name, 'Conv2D');
    if (spec.isHeadOutput) continue;
    const prefix = spec.name.slice(0, -'.conv'.length);
    layers.set(`${prefix}.bn`, 'BatchNormalization');
    layers.set(spec.activation === 'mish' ? `${prefix}.activation` : `${prefix}.relu`, spec.activation === 'mish' ? 'Mish' : 'LeakyReLU');
    if (spec.stride > 1) layers.set(`${prefix}.pad`, 'ZeroPadding2D');
  }
  [0, 1, 2].forEach((i) => layers.set(`SPP.maxpools.${i}`, 'MaxPooling2D'));
  ['upsample1', 'upsample2'].forEach((p) => layers.set(`${p}.upsample.1`, 'UpSampling2D'));
  return layers;
}

/** Refuses, naming the layer, any model that is not the reference layout for `blocks`. */
function checkReferenceLayout(model: tf.LayersModel, blocks: number[], fromDarknet: boolean): void {
  const expected = referenceLayers(blocks);
  const refuse = (why: string): never => {
    throw new TorchExportError(`cannot export "${model.name}" as ${FORMAT}: ${why}`);
  };
  // Layers with weights first, so that the message names a conv rather than some padding.
  const ordered = [...model.layers].sort((a, b) => Number(b.weights.length > 0) - Number(a.weights.length > 0));
  for (const layer of ordered) {
    const cls = layer.getClassName();
    const want = expected.get(layer.name);
    if (want === undefined && GLUE_CLASSES.has(cls)) continue;
    if (want === undefined) {
      refuse(`layer "${layer.name}" (${cls}) has no counterpart in it${fromDarknet
        ? '; a network imported from darknet exports in darknet format'
        : ` (with the config's residual blocks [${blocks}])`}`);
    }
    if (want !== cls) refuse(`layer "${layer.name}" is a ${cls}, the reference has a ${want} there`);
  }
  const present = new Set(model.layers.map((l) => l.name));
  const missing = [...expected.keys()].filter((name) => !present.has(name));
  if (missing.length > 0) refuse(`the model has no layer "${missing[0]}"${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}`);
  for (const spec of yolov4ConvLayout(blocks)) {
    const conf = model.getLayer(spec.name).getConfig();
    const [kh, kw] = conf.kernelSize as number[];
    const [sh, sw] = conf.strides as number[];
    if (kh !== spec.kernel || kw !== spec.kernel || sh !== spec.stride || sw !== spec.stride) {
      refuse(`layer "${spec.name}" is a ${kh}x${kw} conv with stride ${sh}x${sw}, the reference has ${spec.kernel}x${spec.kernel} with stride ${spec.stride}`);
    }
    if (Boolean(conf.useBias) !== spec.isHeadOutput) {
      refuse(`layer "${spec.name}" ${conf.useBias ? 'has' : 'lacks'} a bias, unlike the reference`);
    }
  }
}

const f32 = (shape: number[], data: Float32Array): TorchTensor => ({ dtype: 'float32', shape, data });

/** The model's weights under the reference's state-dict keys, PyTorch layouts (conv OIHW). */
export function yolov4ToStateDict(model: tf.LayersModel, numBatchesTracked = 0): StateDict {
  if (!Number.isSafeInteger(numBatchesTracked) || numBatchesTracked < 0) {
    throw new TorchExportError(`numBatchesTracked must be a non-negative integer, got ${numBatchesTracked}`);
  }
  const sd: StateDict = new Map();
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'Conv2D') {
      const [kernel, bias] = layer.getWeights(false);
      const [kh, kw, cin, cout] = kernel.shape;
      // In JS, not tf.transpose: on wasm that is ~50x slower for YOLOv4's kernels.
      const oihw = tfToOihw(kernel.dataSync() as Float32Array, kernel.shape, false);
      sd.set(`${layer.name}.weight`, f32([cout, cin, kh, kw], oihw));
      if (bias) sd.set(`${layer.name}.bias`, f32([cout], new Float32Array(bias.dataSync() as Float32Array)));
    } else if (cls === 'BatchNormalization') {
      const parts = layer.getWeights(false);
      if (parts.length !== 4) throw new TorchExportError(`BatchNorm "${layer.name}" lacks a scale or an offset, unlike PyTorch's BatchNorm2d`);
      ['weight', 'bias', 'running_mean', 'running_var'].forEach((key, i) =>
        sd.set(`${layer.name}.${key}`, f32([parts[i].shape[0]], new Float32Array(parts[i].dataSync() as Float32Array))));
      sd.set(`${layer.name}.num_batches_tracked`, { dtype: 'int64', shape: [], data: new BigInt64Array([BigInt(numBatchesTracked)]) });
    }
  }
  return sd;
}

/** Keras momentum (weight of the old average) to PyTorch momentum (weight of the new batch). */
const torchMomentum = (kerasMomentum: number) => Number((1 - kerasMomentum).toPrecision(12));

/** The file's bytes (as chunks) without writing it; `archiveName` is the base name torch.save would use. */
export function torchYolov4Archive(
  model: tf.LayersModel, config: Pick<Yolov4Config, 'blocks' | 'architecture'>, archiveName: string, opts: TorchExportOptions = {},
): TorchSaveResult {
  const blocks = config.blocks.length === STANDARD_BLOCKS.length ? config.blocks : STANDARD_BLOCKS;
  checkReferenceLayout(model, blocks, config.architecture === 'darknet');
  const sd = yolov4ToStateDict(model, opts.numBatchesTracked ?? 0);
  const layerConfig = (name: string) => model.getLayer(name).getConfig();
  const source: YoloBodySource = {
    blocks,
    tensor: (key) => {
      const t = sd.get(key);
      if (!t) throw new TorchExportError(`the model has no weight for "${key}"`);
      return t;
    },
    batchNorm: (prefix) => {
      const c = layerConfig(prefix);
      return { eps: c.epsilon as number, momentum: torchMomentum(c.momentum as number) };
    },
    leakySlope: (prefix) => layerConfig(prefix).alpha as number,
  };
  return torchSave(yoloBodyModuleTree(source), opts.whole ? 'module' : 'state_dict', archiveName);
}

/** Writes `path` (atomically, creating its folder) as torch.save would for the reference YoloBody. */
export async function exportTorchYolov4(
  model: tf.LayersModel, config: Pick<Yolov4Config, 'blocks' | 'architecture'>, path: string, opts: TorchExportOptions = {},
): Promise<TorchExportResult> {
  await checkTorchTarget(path, Boolean(opts.force));
  const { chunks } = torchYolov4Archive(model, config, archiveNameFor(path), opts);
  try {
    await writeFileAtomic(path, chunks);
  } catch (e) {
    throw new TorchExportError(`cannot write "${path}": ${(e as Error).message}`, { cause: e });
  }
  return { path, kind: opts.whole ? 'module' : 'state_dict', bytes: chunks.reduce((n, c) => n + c.length, 0) };
}

/**
 * An existing file is replaced only with `force`, and only when it is a PyTorch checkpoint (a zip
 * whose first entry is `<name>/data.pkl`, as torch.save writes), never a file of another kind.
 */
async function checkTorchTarget(path: string, force: boolean): Promise<void> {
  const head = await existingOutputHead(path, 30 + 1024);
  if (head === undefined) return;
  const n = head.length;
  // A zip local file header: signature PK\x03\x04, name length at 26, the name from 30.
  const nameLength = n >= 30 ? head.readUInt16LE(26) : 0;
  const first = head.subarray(30, Math.min(n, 30 + nameLength)).toString('latin1');
  const isTorchZip = n >= 30 && head.readUInt32LE(0) === 0x04034b50 && /(^|\/)data\.pkl$/.test(first);
  if (!isTorchZip) throw new OutputExistsError(`"${path}" exists and is not a PyTorch checkpoint: refusing to overwrite it; give another path`);
  if (!force) throw new OutputExistsError(`"${path}" exists (a PyTorch checkpoint): add --force to replace it, or give another path`);
}
