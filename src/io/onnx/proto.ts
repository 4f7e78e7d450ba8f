/**
 * ONNX's messages (onnx.proto, IR version 7 and later) as plain data, and their protobuf encoding.
 * Only what an exported convolutional network uses: float32 / int64 tensors stored as raw_data,
 * int / float / string / ints / floats attributes, and float32 graph inputs and outputs.
 */
import { ProtoMessage } from './protobuf.ts';

export type OnnxAttribute =
  | { name: string; kind: 'int'; value: number }
  | { name: string; kind: 'float'; value: number }
  | { name: string; kind: 'string'; value: string }
  | { name: string; kind: 'ints'; value: number[] }
  | { name: string; kind: 'floats'; value: number[] };

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
}

export type OnnxTensor =
  | { name: string; dataType: 'float'; dims: number[]; data: Float32Array }
  | { name: string; dataType: 'int64'; dims: number[]; data: BigInt64Array };

/** A fixed size, a symbolic name (dynamic, e.g. 'batch'), or null (unknown). */
export type OnnxDim = number | string | null;

/** A float32 tensor value: a graph input or output. */
export interface OnnxValueInfo {
  name: string;
  dims: OnnxDim[];
  docString?: string;
}

export interface OnnxGraphData {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModelData {
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion?: string;
  docString?: string;
  metadata: Record<string, string>;
  graph: OnnxGraphData;
}

/** ModelProto.producer_name: the field a reader checks first (see readLeadingString). */
export const MODEL_PRODUCER_NAME_FIELD = 2;

const DATA_TYPE = { float: 1, int64: 7 } as const;
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, floats: 6, ints: 7 } as const;

function tensorProto(t: OnnxTensor): ProtoMessage {
  const m = new ProtoMessage();
  for (const d of t.dims) m.int(1, d);
  m.int(2, DATA_TYPE[t.dataType]);
  m.string(8, t.name);
  // raw_data is little-endian; so are the typed arrays on every platform Node runs on here.
  m.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return m;
}

function attributeProto(a: OnnxAttribute): ProtoMessage {
  const m = new ProtoMessage().string(1, a.name);
  switch (a.kind) {
    case 'float': m.float(2, a.value); break;
    case 'int': m.int(3, a.value); break;
    case 'string': m.string(4, a.value); break;
    case 'floats': for (const v of a.value) m.float(7, v); break;
    case 'ints': for (const v of a.value) m.int(8, v); break;
  }
  return m.int(20, ATTRIBUTE_TYPE[a.kind]);
}

function nodeProto(n: OnnxNode): ProtoMessage {
  const m = new ProtoMessage();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name).string(4, n.opType);
  for (const a of n.attributes) m.message(5, attributeProto(a));
  return m;
}

function valueInfoProto(v: OnnxValueInfo): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of v.dims) {
    const dim = new ProtoMessage();
    if (typeof d === 'number') dim.int(1, d);
    else if (typeof d === 'string') dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoMessage().int(1, DATA_TYPE.float).message(2, shape);
  const type = new ProtoMessage().message(1, tensorType);
  const m = new ProtoMessage().string(1, v.name).message(2, type);
  if (v.docString) m.string(3, v.docString);
  return m;
}

function graphProto(g: OnnxGraphData): ProtoMessage {
  const m = new ProtoMessage();
  for (const n of g.nodes) m.message(1, nodeProto(n));
  m.string(2, g.name);
  for (const t of g.initializers) m.message(5, tensorProto(t));
  for (const v of g.inputs) m.message(11, valueInfoProto(v));
  for (const v of g.outputs) m.message(12, valueInfoProto(v));
  return m;
}

/** The ModelProto; producer_name comes first so a reader of the file's first bytes finds it. */
export function encodeModel(model: OnnxModelData): ProtoMessage {
  const m = new ProtoMessage().string(MODEL_PRODUCER_NAME_FIELD, model.producerName).int(1, model.irVersion);
  if (model.producerVersion) m.string(3, model.producerVersion);
  if (model.docString) m.string(6, model.docString);
  m.message(8, new ProtoMessage().string(1, '').int(2, model.opset));
  for (const [key, value] of Object.entries(model.metadata)) m.message(14, new ProtoMessage().string(1, key).string(2, value));
  return m.message(7, graphProto(model.graph));
}
