import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  parseTorchBytes,
  readTorchFile,
  toFloat32,
  TorchFormatError,
  type StateDict,
  type TorchTensor,
} from '../src/io/torch/index.ts';

const dir = fileURLToPath(new URL('./fixtures/torch/', import.meta.url));
const fixture = JSON.parse(readFileSync(dir + 'fixture.json', 'utf8'));
const widths: Record<string, [number, number, number, number]> = JSON.parse(readFileSync(dir + 'widths.json', 'utf8'));
const expectedEntries: Record<string, { shape: number[]; dtype: string }> =
  fixture.files['yolov4_pruned_small.pth'].entries;

const FILES = {
  zip: 'yolov4_pruned_small.pth',
  legacy: 'yolov4_pruned_small_legacy.pth',
  whole: 'yolov4_pruned_small_whole.pth',
} as const;

const loaded: Record<string, StateDict> = {};
async function load(which: keyof typeof FILES): Promise<StateDict> {
  if (!loaded[which]) {
    const r = await readTorchFile(dir + FILES[which]);
    const want = { zip: ['zip', 'state_dict'], legacy: ['legacy', 'state_dict'], whole: ['zip', 'module'] }[which];
    assert.equal([r.format, r.kind], want, `${which}: format/kind`);
    loaded[which] = r.stateDict;
  }
  return loaded[which];
}

function bytesOf(t: TorchTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

test('fixture files are the ones PyTorch wrote (md5 from fixture.json)', () => {
  for (const f of Object.values(FILES)) {
    const md5 = createHash('md5').update(readFileSync(dir + f)).digest('hex');
    assert.is(md5, fixture.files[f].md5, f);
  }
});

for (const which of Object.keys(FILES) as (keyof typeof FILES)[]) {
  test(`${which}: 648 keys in state_dict() order with the dtypes and shapes of fixture.json`, async () => {
    const sd = await load(which);
    assert.is(sd.size, 648);
    assert.equal([...sd.keys()], Object.keys(expectedEntries));
    for (const [k, t] of sd) {
      assert.equal(t.shape, expectedEntries[k].shape, k);
      assert.is(t.dtype, expectedEntries[k].dtype, k);
      let numel = 1;
      for (const d of t.shape) numel *= d;
      assert.is(t.data.length, numel, k);
    }
  });

  test(`${which}: every conv weight is OIHW = widths.json [in,out,kh,kw] transposed`, async () => {
    const sd = await load(which);
    assert.is(Object.keys(widths).length, 110);
    for (const [prefix, [cin, cout, kh, kw]] of Object.entries(widths)) {
      const w = sd.get(`${prefix}.weight`);
      assert.ok(w, `${prefix}.weight missing`);
      assert.equal(w.shape, [cout, cin, kh, kw], prefix);
      assert.is(w.dtype, 'float32');
    }
  });

  test(`${which}: num_batches_tracked are int64 scalars equal to 1000n`, async () => {
    const sd = await load(which);
    const nbt = [...sd].filter(([k]) => k.endsWith('.num_batches_tracked'));
    assert.is(nbt.length, 107);
    for (const [k, t] of nbt) {
      assert.is(t.dtype, 'int64', k);
      assert.equal(t.shape, [], k);
      assert.ok(t.data instanceof BigInt64Array, k);
      assert.is(t.data[0], 1000n, k);
    }
  });
}

test('float32 element count matches fixture.json', async () => {
  const sd = await load('zip');
  let n = 0;
  for (const t of sd.values()) if (t.dtype === 'float32') n += t.data.length;
  assert.is(n, fixture.files['yolov4_pruned_small.pth'].n_float32_elements);
});

test('the three formats give bit-identical tensors', async () => {
  const zip = await load('zip');
  const legacy = await load('legacy');
  const whole = await load('whole');
  const digest = (sd: StateDict) => {
    const h = createHash('md5');
    for (const [k, t] of sd) h.update(k).update(t.dtype).update(JSON.stringify(t.shape)).update(bytesOf(t));
    return h.digest('hex');
  };
  for (const [k, t] of zip) {
    assert.equal(bytesOf(legacy.get(k)!), bytesOf(t), `legacy ${k}`);
    assert.equal(bytesOf(whole.get(k)!), bytesOf(t), `whole ${k}`);
  }
  assert.is(digest(legacy), digest(zip));
  assert.is(digest(whole), digest(zip));
});

test('values are the raw little-endian storage bytes (spot check against the zip record)', async () => {
  const sd = await load('zip');
  const w = sd.get('backbone.conv1.conv.weight')!;
  // The first three floats of yolov4_pruned_small/data/0, as read by Python's struct module.
  assert.equal(Array.from(toFloat32(w).subarray(0, 3)), [0.10701654106378555, -0.13218086957931519, -0.21297641098499298]);
  const f = toFloat32(w);
  assert.ok(f.every(Number.isFinite));
});

test('tensors do not alias each other or the file buffer', async () => {
  const bytes = new Uint8Array(readFileSync(dir + FILES.zip));
  const { stateDict } = parseTorchBytes(bytes, FILES.zip);
  const w = stateDict.get('backbone.conv1.conv.weight')!;
  assert.is.not(w.data.buffer, bytes.buffer);
  assert.is(w.data.byteOffset, 0);
  const before = w.data[0];
  bytes.fill(0);
  assert.is(w.data[0], before);
});

test('whole model: the module tree walk follows PyTorch state_dict() order (params, buffers, children)', async () => {
  const keys = [...(await load('whole')).keys()];
  assert.equal(keys.slice(0, 7), [
    'backbone.conv1.conv.weight',
    'backbone.conv1.bn.weight',
    'backbone.conv1.bn.bias',
    'backbone.conv1.bn.running_mean',
    'backbone.conv1.bn.running_var',
    'backbone.conv1.bn.num_batches_tracked',
    'backbone.stages.0.downsample_conv.conv.weight',
  ]);
  assert.equal(keys.slice(-2), ['yolo_head1.1.weight', 'yolo_head1.1.bias']);
});

test('toFloat32 refuses integer tensors', async () => {
  const t = (await load('zip')).get('backbone.conv1.bn.num_batches_tracked')!;
  assert.throws(() => toFloat32(t), (e: unknown) => e instanceof TorchFormatError && /int64/.test((e as Error).message));
});

test('readTorchFile: a missing file or a directory is a TorchFormatError naming the path', async () => {
  try {
    await readTorchFile(dir + 'does-not-exist.pth');
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, TorchFormatError);
    assert.match((e as Error).message, /not found.*does-not-exist\.pth/);
    assert.match((e as Error).message, 'ENOENT');
  }
  try {
    await readTorchFile(dir);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, TorchFormatError);
    assert.match((e as Error).message, /Cannot read ".*fixtures\/torch\/"/);
  }
});

test.run();
