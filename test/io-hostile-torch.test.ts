import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import { parseTorchBytes, TorchFormatError } from '../src/io/torch/index.ts';
import { unpickle } from '../src/io/torch/pickle.ts';
import type { PickleHooks } from '../src/io/torch/pickle-hooks.ts';
import { MAX_LONG_BYTES } from '../src/io/torch/pickle-reader.ts';
import { f32Bytes, legacyStream, PickleWriter, stateDictPickle, torchZip, writeTensor } from './fixtures/torch/pickle-builder.ts';

const work = mkdtempSync(join(tmpdir(), 'io-hostile-torch-'));
const child = fileURLToPath(new URL('./_hostile-child.ts', import.meta.url));
/** Peak RSS growth allowed while a hostile file is refused. */
const MEMORY_BOUND_MB = 300;
const GiB = 2 ** 30;

interface ChildResult {
  file: string;
  error: { name: string; message: string } | null;
  ms: number;
  peakGrowthMB: number;
}

/** Load the files in a fresh process (see _hostile-child.ts) and return what each load did. */
function loadInChild(kind: string, files: Record<string, Uint8Array>): Map<string, ChildResult> {
  const paths = Object.entries(files).map(([name, bytes]) => {
    const p = join(work, name);
    writeFileSync(p, bytes);
    return p;
  });
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, kind, ...paths], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, `child failed (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
  const out = new Map<string, ChildResult>();
  for (const line of r.stdout.trim().split('\n')) {
    const res = JSON.parse(line) as ChildResult;
    out.set(res.file.slice(work.length + 1), res);
  }
  return out;
}

function refusedWithinMemory(res: ChildResult | undefined, ...patterns: RegExp[]): void {
  assert.ok(res, 'no result from the child');
  assert.ok(res.error, `${res.file} loaded without error (peak +${res.peakGrowthMB.toFixed(0)} MB)`);
  assert.is(res.error.name, 'TorchFormatError', res.error.message);
  for (const p of patterns) assert.match(res.error.message, p);
  assert.ok(res.peakGrowthMB < MEMORY_BOUND_MB, `${res.file}: peak RSS grew by ${res.peakGrowthMB.toFixed(0)} MB`);
  console.log(`  ${res.file}: refused in ${res.ms.toFixed(0)} ms, peak RSS +${res.peakGrowthMB.toFixed(0)} MB`);
}

// ------------------------------------------------------------ a hand-written zip

interface RawEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  data: Uint8Array;
  /** What the headers claim. */
  size: number;
  crc: number;
}

/** A zip archive whose headers say exactly what the entries claim (true or not). */
function handZip(entries: RawEntry[]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint16(8, e.method, true);
    local.setUint32(14, e.crc, true);
    local.setUint32(18, e.data.length, true);
    local.setUint32(22, e.size, true);
    local.setUint16(26, name.length, true);
    const cd = new DataView(new ArrayBuffer(46));
    cd.setUint32(0, 0x02014b50, true);
    cd.setUint16(4, 20, true);
    cd.setUint16(6, 20, true);
    cd.setUint16(10, e.method, true);
    cd.setUint32(16, e.crc, true);
    cd.setUint32(20, e.data.length, true);
    cd.setUint32(24, e.size, true);
    cd.setUint16(28, name.length, true);
    cd.setUint32(42, offset, true);
    parts.push(new Uint8Array(local.buffer), name, e.data);
    central.push(new Uint8Array(cd.buffer), name);
    offset += 30 + name.length + e.data.length;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const eocd = new DataView(new ArrayBuffer(22));
  eocd.setUint32(0, 0x06054b50, true);
  eocd.setUint16(8, entries.length, true);
  eocd.setUint16(10, entries.length, true);
  eocd.setUint32(12, cdSize, true);
  eocd.setUint32(16, offset, true);
  const all = [...parts, ...central, new Uint8Array(eocd.buffer)];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of all) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A raw deflate stream of `mib` MiB of zeros, ~1 KB per MiB: one MiB of zeros compressed once and
 * ended with a sync flush (byte aligned, not final), repeated, then a final empty block.
 */
function zeroBomb(mib: number): Uint8Array {
  const block = deflateRawSync(new Uint8Array(2 ** 20), { level: 9, finishFlush: zlibConstants.Z_SYNC_FLUSH });
  const out = new Uint8Array(block.length * mib + 2);
  for (let i = 0; i < mib; i++) out.set(block, i * block.length);
  out.set([0x03, 0x00], block.length * mib); // BFINAL=1, fixed Huffman, end-of-block
  return out;
}

const smallPickle = stateDictPickle([['w', { key: '0', storageNumel: 4, shape: [4] }]]);
const crcOf = (b: Uint8Array) => {
  let c = -1;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ -1) >>> 0;
};
const stored = (name: string, data: Uint8Array): RawEntry => ({ name, method: 0, data, size: data.length, crc: crcOf(data) });

// ------------------------------------------------------------ tests

test('control: the hand-written zip with a deflated storage record loads', () => {
  const data = f32Bytes([1, 2, 3, 4]);
  const file = handZip([
    stored('archive/data.pkl', smallPickle),
    { name: 'archive/data/0', method: 8, data: deflateRawSync(data), size: 16, crc: crcOf(data) },
  ]);
  const w = parseTorchBytes(file, 'control.pth').stateDict.get('w')!;
  assert.equal(Array.from(w.data as Float32Array), [1, 2, 3, 4]);
});

test('hostile: stride-0 view, zip bomb (honest and lying sizes), bomb as data.pkl: refused in bounded memory', () => {
  // A 1-element storage viewed as 2^30 elements with stride 0: 4 GiB from a few hundred bytes.
  const stride0 = torchZip(stateDictPickle([['w', { key: '0', storageNumel: 1, shape: [GiB], stride: [0] }]]), { '0': f32Bytes([1]) });
  assert.ok(stride0.length < 600, `the stride-0 file has ${stride0.length} bytes`);

  const bomb = zeroBomb(2048); // 2 GiB of zeros
  assert.ok(bomb.length < 2.5e6, `bomb has ${bomb.length} bytes`);
  const bombEntry = (name: string, size: number): RawEntry => ({ name, method: 8, data: bomb, size, crc: 0 });
  const honest = handZip([stored('archive/data.pkl', smallPickle), bombEntry('archive/data/0', 2 * GiB)]);
  // The headers claim the 16 bytes the pickle's storage needs; the stream inflates to 2 GiB.
  const lying = handZip([stored('archive/data.pkl', smallPickle), bombEntry('archive/data/0', 16)]);
  // data.pkl itself as the bomb (its size cannot be checked against anything but a cap).
  const pklBomb = handZip([bombEntry('archive/data.pkl', 2 * GiB - 1), stored('archive/data/0', f32Bytes([1, 2, 3, 4]))]);
  const pklLying = handZip([bombEntry('archive/data.pkl', smallPickle.length), stored('archive/data/0', f32Bytes([1, 2, 3, 4]))]);

  const res = loadInChild('torch', {
    'stride0.pth': stride0, 'bomb-honest.pth': honest, 'bomb-lying.pth': lying, 'bomb-pkl.pth': pklBomb, 'bomb-pkl-lying.pth': pklLying,
  });
  refusedWithinMemory(res.get('stride0.pth'), /tensor "w"/, /stride-0 or overlapping view/, /holds only 4 bytes of storage/);
  refusedWithinMemory(res.get('bomb-honest.pth'), /"archive\/data\/0" declares 2147483648 bytes, more than the 16 bytes/);
  refusedWithinMemory(res.get('bomb-lying.pth'), /"archive\/data\/0" inflates to more than the 16 bytes its header declares/);
  refusedWithinMemory(res.get('bomb-pkl.pth'), /"archive\/data.pkl" declares 2147483647 bytes, more than the 67108864 bytes/);
  refusedWithinMemory(res.get('bomb-pkl-lying.pth'), /"archive\/data.pkl" inflates to more than the \d+ bytes its header declares/);
});

test('stride-0 views that stay small still load (an expanded row), overlapping views that multiply a storage do not', () => {
  const ok = torchZip(stateDictPickle([['w', { key: '0', storageNumel: 2, shape: [3, 2], stride: [0, 1] }]]), { '0': f32Bytes([7, 8]) });
  assert.equal(Array.from(parseTorchBytes(ok, 'expand.pth').stateDict.get('w')!.data as Float32Array), [7, 8, 7, 8, 7, 8]);
  // Overlapping, not stride 0: shape [64, 2^20], stride [1, 1] reads 2^20 + 63 elements (4 MiB) 64 times (256 MiB).
  const span = 2 ** 20 + 63;
  const overlap = torchZip(stateDictPickle([['w', { key: '0', storageNumel: span, shape: [64, 2 ** 20], stride: [1, 1] }]]), {
    '0': new Uint8Array(4 * span),
  });
  try {
    parseTorchBytes(overlap, 'overlap.pth');
    assert.unreachable('the overlapping view loaded');
  } catch (e) {
    assert.instance(e, TorchFormatError);
    assert.match((e as Error).message, /overlapping view that repeats 1048639 storage elements as 67108864/);
  }
});

test('the legacy format refuses a stride-0 view that multiplies its storage too', () => {
  // 2^26 float32 (256 MiB) from one stored element.
  const main = stateDictPickle([['w', { key: '7', storageNumel: 1, shape: [2 ** 26], stride: [0] }]], true);
  try {
    parseTorchBytes(legacyStream(main, [['7', 4, f32Bytes([1])]]), 'legacy-stride0.pth');
    assert.unreachable('the stride-0 view loaded');
  } catch (e) {
    assert.instance(e, TorchFormatError);
    assert.match((e as Error).message, /tensors would take 268435456 bytes but the file holds only 4 bytes of storage/);
    assert.match((e as Error).message, /stride-0 or overlapping view that repeats 1 storage elements as 67108864/);
  }
});

test('many tensors sharing one storage cannot multiply it either', () => {
  // 400 full views of one 256 KiB storage = 100 MiB of tensors from 256 KiB of file.
  const n = 2 ** 16;
  const entries = Array.from({ length: 400 }, (_, i) => [`t${i}`, { key: '0', storageNumel: n, shape: [n] }] as [string, { key: string; storageNumel: number; shape: number[] }]);
  const file = torchZip(stateDictPickle(entries), { '0': new Uint8Array(4 * n) });
  try {
    parseTorchBytes(file, 'shared.pth');
    assert.unreachable('400 copies of one storage loaded');
  } catch (e) {
    assert.instance(e, TorchFormatError);
    assert.match((e as Error).message, /tensors would take 104857600 bytes but the file holds only 262144 bytes of storage/);
  }
});

/** A one-value pickle: PROTO 2, LONG4 of `n` bytes of `fill`, STOP. */
function long4Pickle(n: number, fill: number): Uint8Array {
  const b = new Uint8Array(2 + 5 + n + 1);
  b.set([0x80, 0x02, 0x8b]);
  new DataView(b.buffer).setInt32(3, n, true);
  b.fill(fill, 7, 7 + n);
  b[7 + n] = 0x2e;
  return b;
}

test('hostile: a 200 KB and a 2 MB LONG4 integer are refused within a second, naming the limit', () => {
  for (const n of [200_000, 2_000_000]) {
    const t0 = performance.now();
    try {
      parseTorchBytes(long4Pickle(n, 0x5a), 'long.pth');
      assert.unreachable('the long integer was accepted');
    } catch (e) {
      assert.instance(e, TorchFormatError);
      assert.match((e as Error).message, new RegExp(`integer of ${n} bytes is wider than the ${MAX_LONG_BYTES}-byte limit`));
    }
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `${n}-byte LONG4 took ${ms.toFixed(0)} ms`);
  }
});

const noHooks: PickleHooks = {
  findGlobal: () => assert.unreachable('no globals') as never,
  call: () => assert.unreachable('no calls') as never,
  newObject: () => assert.unreachable('no objects') as never,
  build: () => assert.unreachable('no build'),
  persistentLoad: () => assert.unreachable('no pids') as never,
};

test('long integers up to the limit keep their exact value (two\'s complement, little-endian)', () => {
  const value = (bytes: Uint8Array) => unpickle(long4Pickle(bytes.length, 0), 0, noHooks, 'test').value;
  const withBytes = (bytes: number[]) => {
    const p = long4Pickle(bytes.length, 0);
    p.set(bytes, 7);
    return unpickle(p, 0, noHooks, 'test').value;
  };
  assert.is(withBytes([0x00, 0x80]), -32768);
  assert.is(withBytes([0x01, 0x02, 0x03]), 0x030201);
  const top = new Array<number>(MAX_LONG_BYTES).fill(0);
  top[MAX_LONG_BYTES - 1] = 0x40;
  assert.is(withBytes(top), 1n << BigInt(8 * MAX_LONG_BYTES - 2));
  assert.is(withBytes(new Array<number>(MAX_LONG_BYTES).fill(0xff)), -1);
  const negTop = new Array<number>(MAX_LONG_BYTES).fill(0);
  negTop[MAX_LONG_BYTES - 1] = 0x80;
  assert.is(withBytes(negTop), -(1n << BigInt(8 * MAX_LONG_BYTES - 1)));
  assert.is(value(new Uint8Array(0)), 0);
});

test('a protocol 0 INT literal of 2 000 000 digits is refused quickly (BigInt() of it takes seconds)', () => {
  const digits = '7'.repeat(2_000_000);
  const p = new TextEncoder().encode(`I${digits}\n.`);
  const t0 = performance.now();
  try {
    unpickle(p, 0, noHooks, 'test');
    assert.unreachable('accepted');
  } catch (e) {
    assert.instance(e, TorchFormatError);
    assert.match((e as Error).message, /2000000 characters is wider than the 160-digit limit/);
  }
  assert.ok(performance.now() - t0 < 1000);
});

/**
 * A pickled module tree `levels` deep where every module's two children (a, b) are the same module:
 * a few hundred bytes that state_dict() would expand to 2^levels paths.
 */
function sharedModuleTree(levels: number): Uint8Array {
  const p = new PickleWriter().proto(2);
  const moduleWith = (params: () => void, children: () => void) => {
    p.global('__main__', 'M').emptyTuple().newobj();
    p.emptyDict().mark();
    p.str('_parameters').orderedDict();
    params();
    p.str('_buffers').orderedDict();
    p.str('_modules').orderedDict();
    children();
    p.setitems().build();
  };
  moduleWith(() => {
    p.mark().str('w');
    writeTensor(p, { key: '0', storageNumel: 1, shape: [1] }, false);
    p.setitems();
  }, () => {});
  p.put(0);
  for (let i = 1; i <= levels; i++) {
    moduleWith(() => {}, () => p.mark().str('a').get(i - 1).str('b').get(i - 1).setitems());
    p.put(i);
  }
  return torchZip(p.stop().bytes(), { '0': f32Bytes([5]) });
}

test('hostile: a module tree that shares children level after level is refused quickly', () => {
  // Control: 3 levels expand to 8 keys, as state_dict() would.
  const small = parseTorchBytes(sharedModuleTree(3), 'tree.pth').stateDict;
  assert.is(small.size, 8);
  assert.ok(small.has('a.b.a.w') && small.has('b.b.b.w'));
  const t0 = performance.now();
  try {
    parseTorchBytes(sharedModuleTree(60), 'tree.pth');
    assert.unreachable('2^60 paths were walked');
  } catch (e) {
    assert.instance(e, TorchFormatError);
    assert.match((e as Error).message, /module tree has more than 200000 modules/);
  }
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
