/**
 * exportOnnx: a YOLOv4 (ours, pruned or not, or one imported from darknet) as one .onnx file.
 *
 * - Input `images`: [N, channels, H, W] float32, RGB / 255 (as the tfjs model takes it, in NCHW);
 *   N, H and W dynamic unless fixed by the options.
 * - Outputs `output0`, `output1`, ...: the raw heads in the model's output order (YOLOv4: strides 32,
 *   16, 8, as PyTorch's YoloBody returns them), NCHW [N, anchors * (5 + classes), H / s, W / s].
 * - BatchNormalization is folded into the convs (foldBatchNorm: false keeps BN nodes).
 * - Metadata: `names` (the class names, JSON), `strides` (JSON) and `config` (our config, JSON).
 *
 * encodeOnnx gives the same model in memory (onnxruntime sessions: predict/onnx-predictor.ts).
 * The file is written to a temporary name beside it and renamed, so a reader never sees half a file.
 * As for our other outputs, an existing file is replaced only when it is an earlier export of ours
 * (its producer_name) and `force` is set.
 */
import { endianness } from 'node:os';
import type * as tf from '@tensorflow/tfjs';
import type { Yolov4Config } from '../../model/config.ts';
import { foldBatchNorm } from '../../speed/fold-bn.ts';
import { UsageError } from '../../util/errors.ts';
import { OutputExistsError } from '../checkpoint.ts';
import { buildOnnxGraph, ONNX_INPUT_NAME, type OnnxOutputInfo } from './build-graph.ts';
import { OnnxExportError } from './errors.ts';
import { encodeModel, readProducerName, type EncodedOnnxModel } from './proto.ts';
import { writeFileAtomic } from '../../util/atomic-file.ts';
import { existingOutputHead } from '../existing-output.ts';

export const ONNX_PRODUCER_NAME = 'yolo4-prune';
export const DEFAULT_ONNX_OPSET = 13;
/** Opsets whose operators we write have the meaning we use (checked against onnxruntime 13 and 18). */
export const MAX_ONNX_OPSET = 21;

export interface ExportOnnxOptions {
  /** ONNX opset, 13 (default) to 21. From 18 on, Mish is ONNX's Mish operator. */
  opset?: number;
  /** Fold BatchNormalization into the preceding convs (default true). */
  foldBatchNorm?: boolean;
  /** A fixed batch size instead of a dynamic one. */
  batchSize?: number;
  /** A fixed input size (side, or [height, width]) instead of dynamic H and W. */
  imageSize?: number | [number, number];
  /** Replace an earlier ONNX export of ours at the path (never any other file). */
  force?: boolean;
}

export interface ExportedOnnx {
  path: string;
  opset: number;
  bytes: number;
  input: { name: string; channels: number };
  outputs: OnnxOutputInfo[];
  nodes: number;
}

/** The ONNX IR version that goes with an opset (onnx's release table). */
function irVersionFor(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

function checkOptions(o: ExportOnnxOptions): { opset: number; imageSize?: [number, number] } {
  const opset = o.opset ?? DEFAULT_ONNX_OPSET;
  if (!Number.isInteger(opset) || opset < DEFAULT_ONNX_OPSET || opset > MAX_ONNX_OPSET) {
    throw new UsageError(`ONNX opset must be an integer from ${DEFAULT_ONNX_OPSET} to ${MAX_ONNX_OPSET}, got ${o.opset}`);
  }
  const positive = (v: number) => Number.isInteger(v) && v > 0;
  if (o.batchSize !== undefined && !positive(o.batchSize)) throw new UsageError(`ONNX batch size must be a positive integer, got ${o.batchSize}`);
  const imageSize: [number, number] | undefined = typeof o.imageSize === 'number' ? [o.imageSize, o.imageSize] : o.imageSize;
  if (imageSize && !(imageSize.length === 2 && imageSize.every(positive))) {
    throw new UsageError(`ONNX image size must be a positive integer or [height, width], got ${JSON.stringify(o.imageSize)}`);
  }
  return { opset, imageSize };
}

/** Refuses a path that holds anything but an earlier export of ours (and that one without force). */
async function checkTarget(file: string, force: boolean): Promise<void> {
  const head = await existingOutputHead(file, 256);
  if (head === undefined) return;
  const producer = readProducerName(head);
  if (producer !== ONNX_PRODUCER_NAME) throw new OutputExistsError(`"${file}" exists and is not an ONNX export of ${ONNX_PRODUCER_NAME}: refusing to overwrite it; give another path`);
  if (!force) throw new OutputExistsError(`"${file}" holds an earlier ONNX export: add --force to overwrite it, or give another path`);
}

/** The model's heads must be the config's: anchors per head x (5 + classes) channels each. */
function checkHeads(config: Pick<Yolov4Config, 'anchorMask' | 'numClasses'>, outputs: OnnxOutputInfo[]): void {
  if (outputs.length !== config.anchorMask.length) {
    throw new OnnxExportError(`the model has ${outputs.length} outputs but its config describes ${config.anchorMask.length} heads`);
  }
  outputs.forEach((o, k) => {
    const want = config.anchorMask[k].length * (5 + config.numClasses);
    if (o.channels !== want) throw new OnnxExportError(`output ${k} (layer '${o.layer}') has ${o.channels} channels; the config's head ${k} needs ${want}`);
  });
}

/** An ONNX model encoded in memory (the protobuf message as chunks), with what exportOnnx reports of it. */
export interface EncodedOnnx {
  chunks: Uint8Array[];
  opset: number;
  bytes: number;
  input: { name: string; channels: number };
  outputs: OnnxOutputInfo[];
  nodes: number;
}

/** The model as an ONNX message in memory, as exportOnnx writes it (options but `force` apply). */
export function encodeOnnx(model: tf.LayersModel, config: Yolov4Config, options: Omit<ExportOnnxOptions, 'force'> = {}): EncodedOnnx {
  const { opset, imageSize } = checkOptions(options);
  if (endianness() !== 'LE') throw new OnnxExportError('ONNX export needs a little-endian machine (tensor data is written as raw bytes)');
  const source = options.foldBatchNorm === false ? model : foldBatchNorm(model);
  let built;
  try {
    built = buildOnnxGraph(source, opset, { batchSize: options.batchSize, imageSize });
  } finally {
    if (source !== model) source.dispose();
  }
  checkHeads(config, built.outputs);
  const message = encodeModel({
    irVersion: irVersionFor(opset),
    opset,
    producerName: ONNX_PRODUCER_NAME,
    docString: `${config.name}: input ${ONNX_INPUT_NAME} [N, C, H, W] float32 RGB / 255; outputs the raw heads, NCHW [N, anchors * (5 + classes), H / stride, W / stride]`,
    metadata: {
      names: JSON.stringify(config.classNames),
      strides: JSON.stringify(built.outputs.map((o) => o.stride)),
      config: JSON.stringify(config),
    },
    graph: built.graph,
  });
  return {
    chunks: message.chunks,
    opset,
    bytes: message.length,
    input: { name: ONNX_INPUT_NAME, channels: built.graph.inputs[0].dims[1] as number },
    outputs: built.outputs,
    nodes: built.graph.nodes.length,
  };
}

/** The encoded message as one buffer (what onnxruntime's InferenceSession.create takes). */
export function joinChunks(encoded: Pick<EncodedOnnx, 'chunks' | 'bytes'>): Uint8Array {
  const out = new Uint8Array(encoded.bytes);
  let at = 0;
  for (const c of encoded.chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export async function exportOnnx(
  model: tf.LayersModel, config: Yolov4Config, file: string, options: ExportOnnxOptions = {},
): Promise<ExportedOnnx> {
  checkOptions(options);
  await checkTarget(file, Boolean(options.force));
  const { chunks, ...info } = encodeOnnx(model, config, options);
  await writeFileAtomic(file, chunks);
  return { path: file, ...info };
}
