// encodeModel writes the weights without copying them, as chunks around protobufjs-encoded parts.
// The bytes must be exactly protobufjs's own encoding of the whole ModelProto, read back field by
// field as the data that went in; readProducerName finds the producer in a file's first bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeModel, readProducerName, type OnnxModelData } from '../src/io/onnx/proto.ts';
import { ModelProto } from '../src/io/onnx/onnx-schema.ts';
import { OnnxExportError } from '../src/io/onnx/errors.ts';

// Sizes so that length prefixes take 1, 2 and 3 bytes (a tensor of 20000 bytes, a graph over 16 KiB).
const big = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i) * 1e3);
const small = Float32Array.of(-1.5, 0, 2.25);
const model: OnnxModelData = {
  irVersion: 8,
  opset: 17,
  producerName: 'yolo4-prune',
  producerVersion: '0.1.0',
  docString: 'a test model: ü',
  metadata: { names: '["a","b"]', strides: '[32]' },
  graph: {
    name: 'g',
    nodes: [
      { opType: 'Conv', name: 'c', inputs: ['x', 'w', 'b'], outputs: ['y'], attributes: [
        { name: 'kernel_shape', kind: 'ints', value: [3, 3] },
        { name: 'group', kind: 'int', value: 1 },
        { name: 'pads', kind: 'ints', value: [-1, 0, 1, 2] },
      ] },
      { opType: 'LeakyRelu', name: 'r', inputs: ['y'], outputs: ['z'], attributes: [{ name: 'alpha', kind: 'float', value: 0.1 }] },
      { opType: 'Resize', name: 'u', inputs: ['z', '', 's'], outputs: ['out'], attributes: [
        { name: 'mode', kind: 'string', value: 'nearest' },
        { name: 'weights', kind: 'floats', value: [0.5, -2] },
      ] },
    ],
    initializers: [
      { name: 'w', dataType: 'float', dims: [10, 5, 10, 10], data: big },
      { name: 'b', dataType: 'float', dims: [3], data: small.subarray(0) },
      { name: 'offset_view', dataType: 'float', dims: [2], data: small.subarray(1) },
      { name: 'shape', dataType: 'int64', dims: [2], data: BigInt64Array.of(-1n, 2n ** 40n) },
      { name: 'scalar', dataType: 'float', dims: [], data: Float32Array.of(6) },
    ],
    inputs: [{ name: 'x', dims: ['batch', 5, null, 64], docString: 'input' }],
    outputs: [{ name: 'out', dims: [1, 10, 'h', 'w'] }],
  },
};

const concat = (chunks: Uint8Array[]) => Buffer.concat(chunks);

test('the chunks are protobufjs\'s encoding of the whole ModelProto, and the weights are not copied', () => {
  const encoded = encodeModel(model);
  const bytes = concat(encoded.chunks);
  assert.is(encoded.length, bytes.length);
  assert.ok(bytes.length > 20000); // the graph prefix takes 3 bytes
  // Decoding and re-encoding gives protobufjs's canonical bytes (fields in number order).
  const decoded = ModelProto.decode(bytes);
  assert.equal(Buffer.from(ModelProto.encode(decoded).finish()), bytes);
  // The weights go out as views of the typed arrays themselves.
  for (const t of model.graph.initializers) {
    assert.ok(encoded.chunks.some((c) => c.buffer === t.data.buffer && c.byteOffset === t.data.byteOffset && c.byteLength === t.data.byteLength), t.name);
  }
});

test('the bytes read back as the model that went in', () => {
  const bytes = concat(encodeModel(model).chunks);
  const m = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as Record<string, any>;
  assert.is(m.ir_version, 8);
  assert.is(m.producer_name, 'yolo4-prune');
  assert.is(m.producer_version, '0.1.0');
  assert.is(m.doc_string, 'a test model: ü');
  assert.equal(m.opset_import, [{ domain: '', version: 17 }]);
  assert.equal(m.metadata_props, [{ key: 'names', value: '["a","b"]' }, { key: 'strides', value: '[32]' }]);
  const g = m.graph;
  assert.is(g.name, 'g');
  assert.equal(g.node.map((n: any) => [n.op_type, n.name, n.input, n.output]), [
    ['Conv', 'c', ['x', 'w', 'b'], ['y']], ['LeakyRelu', 'r', ['y'], ['z']], ['Resize', 'u', ['z', '', 's'], ['out']],
  ]);
  const [conv, relu, resize] = g.node;
  assert.equal(conv.attribute, [
    { name: 'kernel_shape', type: 7, ints: [3, 3] },
    { name: 'group', type: 2, i: 1 },
    { name: 'pads', type: 7, ints: [-1, 0, 1, 2] },
  ]);
  assert.is(relu.attribute[0].type, 1);
  assert.ok(Math.abs(relu.attribute[0].f - 0.1) < 1e-7);
  assert.is(resize.attribute[0].type, 3);
  assert.is(Buffer.from(resize.attribute[0].s).toString('utf8'), 'nearest');
  assert.equal({ type: resize.attribute[1].type, floats: resize.attribute[1].floats }, { type: 6, floats: [0.5, -2] });
  const tensors = new Map<string, any>(g.initializer.map((t: any) => [t.name, t]));
  const floatsOf = (raw: Uint8Array) => new Float32Array(Uint8Array.from(raw).buffer);
  assert.equal(tensors.get('w').dims, [10, 5, 10, 10]);
  assert.is(tensors.get('w').data_type, 1);
  assert.equal(floatsOf(tensors.get('w').raw_data), big);
  assert.equal(floatsOf(tensors.get('b').raw_data), small);
  assert.equal(floatsOf(tensors.get('offset_view').raw_data), small.subarray(1));
  assert.is(tensors.get('shape').data_type, 7);
  assert.equal(new BigInt64Array(Uint8Array.from(tensors.get('shape').raw_data).buffer), BigInt64Array.of(-1n, 2n ** 40n));
  assert.equal(tensors.get('scalar').dims ?? [], []);
  const input = g.input[0];
  assert.is(input.doc_string, 'input');
  assert.is(input.type.tensor_type.elem_type, 1);
  assert.equal(input.type.tensor_type.shape.dim, [{ dim_param: 'batch' }, { dim_value: 5 }, {}, { dim_value: 64 }]);
  assert.equal(g.output[0].type.tensor_type.shape.dim, [{ dim_value: 1 }, { dim_value: 10 }, { dim_param: 'h' }, { dim_param: 'w' }]);
});

test('a message that breaks the schema is an OnnxExportError, not silently rounded', () => {
  const bad: OnnxModelData = { ...model, graph: { ...model.graph, nodes: [{ opType: 'Conv', name: 'c', inputs: [], outputs: [], attributes: [{ name: 'group', kind: 'int', value: 1.5 }] }] } };
  assert.throws(() => encodeModel(bad), (e: unknown) => e instanceof OnnxExportError && /schema/.test((e as Error).message));
});

test('readProducerName: from the first bytes of a file; undefined for other bytes', () => {
  const bytes = concat(encodeModel(model).chunks);
  assert.is(readProducerName(bytes.subarray(0, 64)), 'yolo4-prune');
  assert.is(readProducerName(bytes), 'yolo4-prune');
  assert.is(readProducerName(bytes.subarray(0, 8)), undefined, 'cut inside the name');
  const other = concat(encodeModel({ ...model, producerName: 'pytorch' }).chunks);
  assert.is(readProducerName(other.subarray(0, 256)), 'pytorch');
  assert.is(readProducerName(Buffer.from('not ours, plain text')), undefined);
  assert.is(readProducerName(new Uint8Array(0)), undefined);
  const noProducer = Buffer.from(ModelProto.encode({ ir_version: 7 }).finish());
  assert.is(readProducerName(noProducer), undefined);
});

test.run();
