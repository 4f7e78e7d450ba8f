import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTorchBytes, toFloat32, TorchFormatError, type TorchTensor } from '../src/io/torch/index.ts';
import { PyInstance } from '../src/io/torch/objects.ts';
import { unpickle } from '../src/io/torch/pickle.ts';
import { PyDict, PyList, PySet, PyTuple, type PyValue } from '../src/io/torch/pickle-values.ts';
import { TorchPicklePolicy } from '../src/io/torch/policy.ts';
import {
  f32Bytes,
  legacyStream,
  PickleWriter,
  stateDictPickle,
  torchZip,
  type TensorSpec,
  writeTensor,
  writeStateDict,
} from './fixtures/torch/pickle-builder.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Load one tensor 't' from a synthetic zip holding the given float32 storage. */
function loadOne(spec: Omit<TensorSpec, 'key' | 'storageNumel'>, storage: number[]): TorchTensor {
  const pkl = stateDictPickle([['t', { ...spec, key: '0', storageNumel: storage.length }]]);
  const r = parseTorchBytes(torchZip(pkl, { '0': f32Bytes(storage) }), 'strided.pth');
  return r.stateDict.get('t')!;
}

test('contiguous tensor with a storage offset', () => {
  const t = loadOne({ shape: [2, 2], offset: 3 }, range(10));
  assert.equal(t.shape, [2, 2]);
  assert.equal(Array.from(t.data as Float32Array), [3, 4, 5, 6]);
});

test('transposed tensor (shape [3,2], stride [1,3]) is gathered into C order', () => {
  // storage = a 2x3 matrix [[0,1,2],[3,4,5]]; t = its transpose [[0,3],[1,4],[2,5]].
  const t = loadOne({ shape: [3, 2], stride: [1, 3] }, range(6));
  assert.equal(Array.from(t.data as Float32Array), [0, 3, 1, 4, 2, 5]);
});

test('sliced columns with an offset (shape [2,2], stride [4,1], offset 1)', () => {
  // storage is a 3x4 matrix of 0..11; t = m[0:2, 1:3] = [[1,2],[5,6]].
  const t = loadOne({ shape: [2, 2], stride: [4, 1], offset: 1 }, range(12));
  assert.equal(Array.from(t.data as Float32Array), [1, 2, 5, 6]);
});

test('3-D permutation (a [2,3,4] tensor permuted to [4,2,3])', () => {
  // m[i][j][k] = 12i + 4j + k (contiguous strides [12,4,1]); p = m.permute(2,0,1): p[k][i][j] = m[i][j][k].
  const t = loadOne({ shape: [4, 2, 3], stride: [1, 12, 4] }, range(24));
  const want: number[] = [];
  for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) want.push(12 * i + 4 * j + k);
  assert.equal(Array.from(t.data as Float32Array), want);
});

test('expanded tensor (stride 0) repeats its row', () => {
  const t = loadOne({ shape: [3, 2], stride: [0, 1], offset: 1 }, [9, 7, 8]);
  assert.equal(Array.from(t.data as Float32Array), [7, 8, 7, 8, 7, 8]);
});

test('every-other-element view (stride [2]) and size-1 dims with odd strides', () => {
  assert.equal(Array.from(loadOne({ shape: [3], stride: [2] }, range(6)).data as Float32Array), [0, 2, 4]);
  // size-1 dims may carry any stride and still be contiguous.
  assert.equal(Array.from(loadOne({ shape: [1, 3, 1], stride: [99, 1, 7], offset: 2 }, range(6)).data as Float32Array), [2, 3, 4]);
});

test('empty tensors and scalars', () => {
  const e = loadOne({ shape: [0, 3] }, [1]);
  assert.equal(e.shape, [0, 3]);
  assert.is(e.data.length, 0);
  const s = loadOne({ shape: [], offset: 2 }, [1, 2, 3]);
  assert.equal(s.shape, []);
  assert.equal(Array.from(s.data as Float32Array), [3]);
});

test('two tensors sharing one storage', () => {
  const pkl = stateDictPickle([
    ['a', { key: '0', storageNumel: 6, shape: [2, 3] }],
    ['b', { key: '0', storageNumel: 6, shape: [3, 2], stride: [1, 3] }],
  ]);
  const sd = parseTorchBytes(torchZip(pkl, { '0': f32Bytes(range(6)) }), 'shared.pth').stateDict;
  assert.equal(Array.from(sd.get('a')!.data as Float32Array), [0, 1, 2, 3, 4, 5]);
  assert.equal(Array.from(sd.get('b')!.data as Float32Array), [0, 3, 1, 4, 2, 5]);
  assert.is.not(sd.get('a')!.data.buffer, sd.get('b')!.data.buffer);
});

function rawBytes(ctor: { new (n: number): ArrayLike<number | bigint> & { buffer: ArrayBufferLike } }, values: (number | bigint)[]): Uint8Array {
  const a = new ctor(values.length) as unknown as (number | bigint)[] & { buffer: ArrayBuffer };
  values.forEach((v, i) => (a[i] = v));
  return new Uint8Array(a.buffer);
}

test('all dtypes: storage classes map to dtypes and typed arrays', () => {
  const cases: [string, string, Uint8Array, unknown[], string][] = [
    ['DoubleStorage', 'float64', rawBytes(Float64Array, [1.5, -2]), [1.5, -2], 'Float64Array'],
    ['HalfStorage', 'float16', rawBytes(Uint16Array, [0x3c00, 0xc000]), [0x3c00, 0xc000], 'Uint16Array'],
    ['BFloat16Storage', 'bfloat16', rawBytes(Uint16Array, [0x3f80, 0xc040]), [0x3f80, 0xc040], 'Uint16Array'],
    ['LongStorage', 'int64', rawBytes(BigInt64Array, [-5n, 1n << 40n]), [-5n, 1n << 40n], 'BigInt64Array'],
    ['IntStorage', 'int32', rawBytes(Int32Array, [-7, 123456]), [-7, 123456], 'Int32Array'],
    ['ShortStorage', 'int16', rawBytes(Int16Array, [-300, 300]), [-300, 300], 'Int16Array'],
    ['CharStorage', 'int8', Uint8Array.from([0xff, 5]), [-1, 5], 'Int8Array'],
    ['ByteStorage', 'uint8', Uint8Array.from([0xff, 5]), [255, 5], 'Uint8Array'],
    ['BoolStorage', 'bool', Uint8Array.from([1, 0]), [1, 0], 'Uint8Array'],
  ];
  for (const [cls, dtype, bytes, values, arrayType] of cases) {
    const pkl = stateDictPickle([['t', { storageClass: cls, key: '0', storageNumel: 2, shape: [2] }]]);
    const t = parseTorchBytes(torchZip(pkl, { '0': bytes }), cls).stateDict.get('t')!;
    assert.is(t.dtype, dtype, cls);
    assert.is(t.data.constructor.name, arrayType, cls);
    assert.equal(Array.from(t.data as ArrayLike<unknown>), values, cls);
  }
});

test('toFloat32: float16 (normal, subnormal, max, inf, nan), bfloat16 and float64', () => {
  const half = [0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00, 0xfc00, 0x3555, 0x7e00, 0x8000];
  const t: TorchTensor = { dtype: 'float16', shape: [half.length], data: Uint16Array.from(half) };
  const f = Array.from(toFloat32(t));
  assert.equal(f.slice(0, 6), [1, -2, 2 ** -24, 65504, Infinity, -Infinity]);
  assert.is(f[6], Math.fround(0.333251953125));
  assert.ok(Number.isNaN(f[7]));
  assert.ok(Object.is(f[8], -0));
  const bf: TorchTensor = { dtype: 'bfloat16', shape: [3], data: Uint16Array.from([0x3f80, 0xc040, 0x4049]) };
  assert.equal(Array.from(toFloat32(bf)), [1, -3, 3.140625]);
  const d: TorchTensor = { dtype: 'float64', shape: [2], data: Float64Array.from([0.1, 1e300]) };
  assert.equal(Array.from(toFloat32(d)), [Math.fround(0.1), Infinity]);
  for (const dtype of ['int64', 'int32', 'uint8', 'bool'] as const) {
    const x: TorchTensor = { dtype, shape: [0], data: dtype === 'int64' ? new BigInt64Array(0) : new Uint8Array(0) };
    assert.throws(() => toFloat32(x), (e: unknown) => e instanceof TorchFormatError && (e as Error).message.includes(dtype));
  }
});

test('big-endian zip archives (byteorder = big) are byte-swapped', () => {
  const be = new Uint8Array(8);
  const dv = new DataView(be.buffer);
  dv.setFloat32(0, 1.25, false);
  dv.setFloat32(4, -3, false);
  const pkl = stateDictPickle([['t', { key: '0', storageNumel: 2, shape: [2] }]]);
  const z = torchZip(pkl, { '0': be }, 'archive', { byteorder: new TextEncoder().encode('big') });
  assert.equal(Array.from(parseTorchBytes(z).stateDict.get('t')!.data as Float32Array), [1.25, -3]);
});

test('the zip prefix is found by suffix (any folder name, zip64-free archive from fflate)', () => {
  const pkl = stateDictPickle([['t', { key: '0', storageNumel: 1, shape: [1] }]]);
  const r = parseTorchBytes(torchZip(pkl, { '0': f32Bytes([4]) }, 'some name with spaces'));
  assert.equal(Array.from(r.stateDict.get('t')!.data as Float32Array), [4]);
});

test('legacy: storage records are looked up by key, not read in pickle order; views are honoured', () => {
  const main = stateDictPickle(
    [
      ['first', { key: '9', storageNumel: 2, shape: [2] }],
      ['second', { key: '10', storageNumel: 3, shape: [3], storageClass: 'DoubleStorage' }],
      ['view', { key: '11', storageNumel: 5, shape: [2], view: ['11v', 2, 3], offset: 1 }],
    ],
    true,
  );
  // Sorted as strings: '10' < '11' < '9'.
  const file = legacyStream(main, [
    ['10', 8, new Uint8Array(Float64Array.from([0.5, 1.5, 2.5]).buffer)],
    ['11', 4, f32Bytes([0, 1, 2, 3, 4])],
    ['9', 4, f32Bytes([7, 8])],
  ]);
  const r = parseTorchBytes(file, 'legacy.pth');
  assert.is(r.format, 'legacy');
  assert.equal([...r.stateDict.keys()], ['first', 'second', 'view']);
  assert.equal(Array.from(r.stateDict.get('first')!.data as Float32Array), [7, 8]);
  assert.equal(Array.from(r.stateDict.get('second')!.data as Float64Array), [0.5, 1.5, 2.5]);
  // The view starts at element 2 of the root storage; the tensor at offset 1 within the view.
  assert.equal(Array.from(r.stateDict.get('view')!.data as Float32Array), [3, 4]);
});

test('a checkpoint dict is unwrapped: {"epoch": 3, "state_dict": OrderedDict(...)}', () => {
  const p = new PickleWriter().proto(2).emptyDict().mark().str('epoch').int(3).str('state_dict');
  writeStateDict(p, [['w', { key: '0', storageNumel: 2, shape: [2] }]]);
  p.setitems().stop();
  const r = parseTorchBytes(torchZip(p.bytes(), { '0': f32Bytes([1, 2]) }), 'ckpt.pth');
  assert.is(r.kind, 'state_dict');
  assert.equal([...r.stateDict.keys()], ['w']);
});

test('the state_dict _metadata attribute (BUILD on the OrderedDict) is accepted and ignored', () => {
  const p = writeStateDict(new PickleWriter().proto(2), [['w', { key: '0', storageNumel: 1, shape: [1] }]]);
  p.emptyDict().str('_metadata').orderedDict().str('').emptyDict().str('version').int(1).setitem().setitem().setitem().build().stop();
  const r = parseTorchBytes(torchZip(p.bytes(), { '0': f32Bytes([5]) }));
  assert.equal([...r.stateDict.keys()], ['w']);
});

/**
 * Write a module container: cls() via NEWOBJ, then BUILD with the nn.Module attributes.
 * params/buffers: name -> tensor spec or null; children written by the callback as (name, module) pairs.
 */
function writeModule(
  p: PickleWriter,
  cls: [string, string],
  params: [string, TensorSpec | null][],
  buffers: [string, TensorSpec | null][],
  nonPersistent: string[],
  children: [string, ((p: PickleWriter) => void) | null][],
): void {
  const dict = (entries: [string, TensorSpec | null][]) => {
    p.orderedDict();
    if (!entries.length) return;
    p.mark();
    for (const [n, t] of entries) {
      p.str(n);
      if (t) writeTensor(p, t, false);
      else p.none();
    }
    p.setitems();
  };
  p.global(cls[0], cls[1]).emptyTuple().newobj().emptyDict().mark();
  p.str('training').bool(true);
  p.str('_parameters');
  dict(params);
  p.str('_buffers');
  dict(buffers);
  p.str('_non_persistent_buffers_set').global('__builtin__', 'set').mark();
  for (const n of nonPersistent) p.str(n);
  p.raw(0x6c).tuple1().reduce(); // LIST
  p.str('_modules').orderedDict();
  if (children.length) {
    p.mark();
    for (const [n, w] of children) {
      p.str(n);
      if (w) w(p);
      else p.none();
    }
    p.setitems();
  }
  p.setitems().build();
}

test('whole module: parameters, then persistent buffers, then children; None entries skipped', () => {
  const spec = (key: string, n: number): TensorSpec => ({ key, storageNumel: n, shape: [n] });
  const p = new PickleWriter().proto(2);
  writeModule(p, ['models.net', 'Net'], [['scale', spec('s', 1)]], [], [], [
    [
      'conv',
      (q) =>
        writeModule(q, ['torch.nn.modules.conv', 'Conv2d'], [['weight', spec('w', 2)], ['bias', null]], [], [], []),
    ],
    ['dropout', null],
    [
      'bn',
      (q) =>
        writeModule(
          q,
          ['torch.nn.modules.batchnorm', 'BatchNorm2d'],
          [['weight', spec('g', 2)], ['bias', spec('b', 2)]],
          [['running_mean', spec('m', 2)], ['cache', spec('c', 2)], ['running_var', spec('v', 2)], ['none_buf', null]],
          ['cache'],
          [],
        ),
    ],
  ]);
  const records: Record<string, Uint8Array> = {};
  for (const k of ['s', 'w', 'g', 'b', 'm', 'c', 'v']) records[k] = f32Bytes(k === 's' ? [1] : [1, 2]);
  const r = parseTorchBytes(torchZip(p.stop().bytes(), records), 'module.pth');
  assert.is(r.kind, 'module');
  assert.equal([...r.stateDict.keys()], ['scale', 'conv.weight', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var']);
});

test('whole module: a cycle in the module tree is an error, not a hang', () => {
  // m._modules['self'] = m (memo GET of the instance being built).
  const p = new PickleWriter().proto(2).global('a.b', 'M').emptyTuple().newobj().put(0);
  p.emptyDict().str('_modules').orderedDict().str('self').get(0).setitem().setitem().build().stop();
  assert.throws(
    () => parseTorchBytes(torchZip(p.bytes(), {}), 'cycle.pth'),
    (e: unknown) => e instanceof TorchFormatError && /cycle/.test((e as Error).message),
  );
});

// ------------------------------------------------------------------ the pickle VM on Python's own output

/** pickle.dumps(obj, protocol=p) for p = 0..5 by CPython 3.11 (see the test below for obj). */
const PYTHON_PICKLES = [
  ['KGRwMApWYQpwMQoobHAyCkkxCmFJLTIKYUYyLjUKYVZ4CnAzCmFW/Fx1MjBhY1x1MDAwYVx1MDA1YwpwNAphKEkxCkkyCnRwNQphKHRhTmFJMDEKYUkwMAphTDExODA1OTE2MjA3MTc0MTEzMDM0MjRMCmFMLTExODA1OTE2MjA3MTc0MTEzMDM0MjRMCmFJMzAwCmFJNzAwMDAKYUktNzAwMDAKYWNfX2J1aWx0aW5fXwpzZXQKcDYKKChscDcKSTEKYUkyCmF0cDgKUnA5CmFjX19idWlsdGluX18KZnJvemVuc2V0CnAxMAooKGxwMTEKSTMKYXRwMTIKUnAxMwphRmluZgphc1ZvZApwMTQKY2NvbGxlY3Rpb25zCk9yZGVyZWREaWN0CnAxNQoodFJwMTYKVmsKcDE3CkkxCnNWagpwMTgKKGxwMTkKc3NWbmV0CnAyMApjY29weV9yZWcKX3JlY29uc3RydWN0b3IKcDIxCihjX19tYWluX18KTmV0CnAyMgpjX19idWlsdGluX18Kb2JqZWN0CnAyMwpOdHAyNApScDI1CihkcDI2ClZ3aWR0aApwMjcKSTcKc1ZuYW1lCnAyOApnMjAKc2JzLg=='],
  ['fXEAKFgBAAAAYXEBXXECKEsBSv7///9HQAQAAAAAAABYAQAAAHhxA1gHAAAAw7zigqwKXHEEKEsBSwJ0cQUpTkkwMQpJMDAKTDExODA1OTE2MjA3MTc0MTEzMDM0MjRMCkwtMTE4MDU5MTYyMDcxNzQxMTMwMzQyNEwKTSwBSnARAQBKkO7+/2NfX2J1aWx0aW5fXwpzZXQKcQYoXXEHKEsBSwJldHEIUnEJY19fYnVpbHRpbl9fCmZyb3plbnNldApxCihdcQtLA2F0cQxScQ1Hf/AAAAAAAABlWAIAAABvZHEOY2NvbGxlY3Rpb25zCk9yZGVyZWREaWN0CnEPKVJxEChYAQAAAGtxEUsBWAEAAABqcRJdcRN1WAMAAABuZXRxFGNjb3B5X3JlZwpfcmVjb25zdHJ1Y3RvcgpxFShjX19tYWluX18KTmV0CnEWY19fYnVpbHRpbl9fCm9iamVjdApxF050cRhScRl9cRooWAUAAAB3aWR0aHEbSwdYBAAAAG5hbWVxHGgUdWJ1Lg=='],
  ['gAJ9cQAoWAEAAABhcQFdcQIoSwFK/v///0dABAAAAAAAAFgBAAAAeHEDWAcAAADDvOKCrApccQRLAUsChnEFKU6IiYoJAAAAAAAAAABAigkAAAAAAAAAAMBNLAFKcBEBAEqQ7v7/Y19fYnVpbHRpbl9fCnNldApxBl1xByhLAUsCZYVxCFJxCWNfX2J1aWx0aW5fXwpmcm96ZW5zZXQKcQpdcQtLA2GFcQxScQ1Hf/AAAAAAAABlWAIAAABvZHEOY2NvbGxlY3Rpb25zCk9yZGVyZWREaWN0CnEPKVJxEChYAQAAAGtxEUsBWAEAAABqcRJdcRN1WAMAAABuZXRxFGNfX21haW5fXwpOZXQKcRUpgXEWfXEXKFgFAAAAd2lkdGhxGEsHWAQAAABuYW1lcRloFHVidS4='],
  ['gAN9cQAoWAEAAABhcQFdcQIoSwFK/v///0dABAAAAAAAAFgBAAAAeHEDWAcAAADDvOKCrApccQRLAUsChnEFKU6IiYoJAAAAAAAAAABAigkAAAAAAAAAAMBNLAFKcBEBAEqQ7v7/Y2J1aWx0aW5zCnNldApxBl1xByhLAUsCZYVxCFJxCWNidWlsdGlucwpmcm96ZW5zZXQKcQpdcQtLA2GFcQxScQ1Hf/AAAAAAAABlWAIAAABvZHEOY2NvbGxlY3Rpb25zCk9yZGVyZWREaWN0CnEPKVJxEChYAQAAAGtxEUsBWAEAAABqcRJdcRN1WAEAAABicRRDAgD/cRVYAwAAAG5ldHEWY19fbWFpbl9fCk5ldApxFymBcRh9cRkoWAUAAAB3aWR0aHEaSwdYBAAAAG5hbWVxG2gWdWJ1Lg=='],
  ['gASV3wAAAAAAAAB9lCiMAWGUXZQoSwFK/v///0dABAAAAAAAAIwBeJSMB8O84oKsClyUSwFLAoaUKU6IiYoJAAAAAAAAAABAigkAAAAAAAAAAMBNLAFKcBEBAEqQ7v7/j5QoSwFLApAoSwORlEd/8AAAAAAAAGWMAm9klIwLY29sbGVjdGlvbnOUjAtPcmRlcmVkRGljdJSTlClSlCiMAWuUSwGMAWqUXZR1jAFilEMCAP+UjANuZXSUjAhfX21haW5fX5SMA05ldJSTlCmBlH2UKIwFd2lkdGiUSweMBG5hbWWUaBJ1YnUu'],
  ['gAWV3wAAAAAAAAB9lCiMAWGUXZQoSwFK/v///0dABAAAAAAAAIwBeJSMB8O84oKsClyUSwFLAoaUKU6IiYoJAAAAAAAAAABAigkAAAAAAAAAAMBNLAFKcBEBAEqQ7v7/j5QoSwFLApAoSwORlEd/8AAAAAAAAGWMAm9klIwLY29sbGVjdGlvbnOUjAtPcmRlcmVkRGljdJSTlClSlCiMAWuUSwGMAWqUXZR1jAFilEMCAP+UjANuZXSUjAhfX21haW5fX5SMA05ldJSTlCmBlH2UKIwFd2lkdGiUSweMBG5hbWWUaBJ1YnUu'],
];

function toJs(v: PyValue): unknown {
  if (v instanceof PyTuple) return { tuple: v.items.map(toJs) };
  if (v instanceof PyList) return v.items.map(toJs);
  if (v instanceof PySet) return { [v.frozen ? 'frozenset' : 'set']: v.items.map(toJs) };
  if (v instanceof PyDict) return Object.fromEntries([...v.entries].map(([k, x]) => [String(k), toJs(x)]));
  if (v instanceof PyInstance) return { instance: v.cls.qualifiedName, state: toJs(v.state) };
  if (v instanceof Uint8Array) return { bytes: Array.from(v) };
  return v;
}

test('the VM decodes CPython pickles of protocols 0-5 identically', () => {
  // obj = {'a': [1, -2, 2.5, 'x', 'ü€\n\\', (1, 2), (), None, True, False, 2**70, -2**70, 300, 70000, -70000,
  //              {1, 2}, frozenset([3]), float('inf')],
  //        'od': OrderedDict([('k', 1), ('j', [])]), ['b': b'\x00\xff' for protocol >= 3], 'net': Net(width=7, name='net')}
  PYTHON_PICKLES.forEach(([b64], proto) => {
    const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
    const policy = new TorchPicklePolicy({ source: '"py"', where: `protocol ${proto}` });
    const { value, end } = unpickle(bytes, 0, policy, `protocol ${proto}`);
    assert.is(end, bytes.length, `protocol ${proto}: consumed everything`);
    const want: Record<string, unknown> = {
      a: [1, -2, 2.5, 'x', 'ü€\n\\', { tuple: [1, 2] }, { tuple: [] }, null, true, false, 2n ** 70n, -(2n ** 70n), 300, 70000, -70000,
        { set: [1, 2] }, { frozenset: [3] }, Infinity],
      od: { k: 1, j: [] },
      net: { instance: '__main__.Net', state: { width: 7, name: 'net' } },
    };
    if (proto >= 3) want.b = { bytes: [0, 255] };
    const got = toJs(value) as Record<string, unknown>;
    assert.equal(got, { a: want.a, od: want.od, ...(proto >= 3 ? { b: want.b } : {}), net: want.net }, `protocol ${proto}`);
  });
});

test.run();
