/**
 * ONNX's messages as plain data, and their encoding with protobufjs (schema: onnx-schema.ts).
 * Only what an exported convolutional network uses: float32 / int64 tensors stored as raw_data,
 * int / float / string / ints / floats attributes, and float32 graph inputs and outputs.
 *
 * A full YOLOv4 carries ~250 MB of weights, which are never copied: each tensor's raw_data is a
 * byte view of its typed array, and the encoded model is a list of chunks, the messages around the
 * weights encoded by protobufjs and the weights themselves, written to the file one after another.
 */
import protobuf from 'protobufjs';
import { OnnxExportError } from './errors.ts';
import { ATTRIBUTE_TYPE, GraphProto, MODEL_PRODUCER_NAME_FIELD, ModelProto, TENSOR_DATA_TYPE, TensorProto } from './onnx-schema.ts';

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

/** An encoded ModelProto: the file's bytes as consecutive chunks, and their total length. */
export interface EncodedOnnxModel {
  chunks: Uint8Array[];
  length: number;
}

/** protobuf's limit on a message; larger models would need ONNX's external data. */
export const MAX_PROTO_BYTES = 2 ** 31 - 1;

type Message = Record<string, unknown>;

const DATA_TYPE = { float: TENSOR_DATA_TYPE.FLOAT, int64: TENSOR_DATA_TYPE.INT64 } as const;
const ATTRIBUTE_FIELD = {
  float: ['f', ATTRIBUTE_TYPE.FLOAT],
  int: ['i', ATTRIBUTE_TYPE.INT],
  string: ['s', ATTRIBUTE_TYPE.STRING],
  floats: ['floats', ATTRIBUTE_TYPE.FLOATS],
  ints: ['ints', ATTRIBUTE_TYPE.INTS],
} as const;

const utf8 = new TextEncoder();

// raw_data is little-endian; so are typed arrays on the machines exportOnnx accepts (it checks).
const tensorProto = (t: OnnxTensor): Message => ({
  dims: t.dims,
  data_type: DATA_TYPE[t.dataType],
  name: t.name,
  raw_data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
});

function attributeProto(a: OnnxAttribute): Message {
  const [field, type] = ATTRIBUTE_FIELD[a.kind];
  // AttributeProto.s is bytes (UTF-8 text), not a protobuf string.
  return { name: a.name, type, [field]: a.kind === 'string' ? utf8.encode(a.value) : a.value };
}

const nodeProto = (n: OnnxNode): Message => ({
  input: n.inputs,
  output: n.outputs,
  name: n.name,
  op_type: n.opType,
  attribute: n.attributes.map(attributeProto),
});

function valueInfoProto(v: OnnxValueInfo): Message {
  const dim = v.dims.map((d) => (typeof d === 'number' ? { dim_value: d } : typeof d === 'string' ? { dim_param: d } : {}));
  const message: Message = { name: v.name, type: { tensor_type: { elem_type: TENSOR_DATA_TYPE.FLOAT, shape: { dim } } } };
  if (v.docString) message.doc_string = v.docString;
  return message;
}

function modelProto(model: OnnxModelData): Message {
  const g = model.graph;
  const message: Message = {
    ir_version: model.irVersion,
    producer_name: model.producerName,
    opset_import: [{ domain: '', version: model.opset }],
    metadata_props: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      node: g.nodes.map(nodeProto),
      name: g.name,
      initializer: g.initializers.map(tensorProto),
      input: g.inputs.map(valueInfoProto),
      output: g.outputs.map(valueInfoProto),
    },
  };
  if (model.producerVersion) message.producer_version = model.producerVersion;
  if (model.docString) message.doc_string = model.docString;
  return message;
}

type Chunks = Uint8Array[];

/** A length-delimited field (tag, byte length, then the value's chunks), framed by protobufjs's writer. */
function delimited(field: number, value: Chunks): Chunks {
  const length = value.reduce((sum, c) => sum + c.length, 0);
  return [protobuf.Writer.create().uint32((field << 3) | 2).uint32(length).finish(), ...value];
}

/*
 * Encoding a message's fields in parts and concatenating the parts is encoding the message: protobuf
 * reads a message as its fields one after another. Each message below is cut around the field that
 * holds the weights, so the parts stay in field-number order and the bytes are exactly those of
 * Type.encode on the whole message (test/onnx-proto.test.ts checks it), minus one copy of the weights.
 */

function tensorChunks({ raw_data, ...rest }: Message): Chunks {
  return [TensorProto.encode(rest).finish(), ...delimited(TensorProto.fields.raw_data.id, [raw_data as Uint8Array])];
}

function graphChunks({ initializer, input, output, ...rest }: Message): Chunks {
  return [
    GraphProto.encode(rest).finish(),
    ...(initializer as Message[]).flatMap((t) => delimited(GraphProto.fields.initializer.id, tensorChunks(t))),
    GraphProto.encode({ input, output }).finish(),
  ];
}

/**
 * The ModelProto's bytes, fields in field-number order as protobufjs writes them (so producer_name
 * is among the file's first bytes). An OnnxExportError if the message breaks the schema or protobuf's
 * size limit.
 */
export function encodeModel(model: OnnxModelData): EncodedOnnxModel {
  const { graph, opset_import, metadata_props, ...rest } = modelProto(model);
  const invalid = ModelProto.verify({ graph, opset_import, metadata_props, ...rest });
  if (invalid) throw new OnnxExportError(`the ONNX model does not fit ONNX's schema: ${invalid}`);
  const chunks = [
    ModelProto.encode(rest).finish(),
    ...delimited(ModelProto.fields.graph.id, graphChunks(graph as Message)),
    ModelProto.encode({ opset_import, metadata_props }).finish(),
  ];
  const length = chunks.reduce((sum, c) => sum + c.length, 0);
  if (length > MAX_PROTO_BYTES) throw tooLarge(length);
  return { chunks, length };
}

const tooLarge = (bytes: number) =>
  new OnnxExportError(`the ONNX model would be ${bytes} bytes, over protobuf's 2 GiB limit (external data is not supported)`);

/**
 * ModelProto.producer_name from the first bytes of a file (the whole file need not be read), or
 * undefined when those bytes are not a protobuf message whose leading fields include it.
 */
export function readProducerName(head: Uint8Array): string | undefined {
  const reader = protobuf.Reader.create(head);
  try {
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const wireType = tag & 7;
      if (tag >>> 3 === MODEL_PRODUCER_NAME_FIELD && wireType === 2) {
        return new TextDecoder('utf-8', { fatal: true }).decode(reader.bytes());
      }
      reader.skipType(wireType);
    }
  } catch {
    // Ran past the bytes read, or they are not protobuf (or not UTF-8) at all.
  }
  return undefined;
}
