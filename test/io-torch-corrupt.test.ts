import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { parseTorchBytes, TorchFormatError } from '../src/io/torch/index.ts';
import { f32Bytes, legacyStream, PickleWriter, stateDictPickle, torchZip } from './fixtures/torch/pickle-builder.ts';

const dir = fileURLToPath(new URL('./fixtures/torch/', import.meta.url));
const zipFixture = new Uint8Array(readFileSync(dir + 'yolov4_pruned_small.pth'));
const legacyFixture = new Uint8Array(readFileSync(dir + 'yolov4_pruned_small_legacy.pth'));

/** Parsing must fail with a TorchFormatError (never a RangeError, TypeError, ...) matching the patterns. */
function fails(bytes: Uint8Array, name: string, ...patterns: (string | RegExp)[]): string {
  try {
    parseTorchBytes(bytes, name);
  } catch (e) {
    if (!(e instanceof TorchFormatError)) throw new Error(`expected TorchFormatError, got ${String(e)}`);
    assert.not.match(e.message, /unexpected \w*Error while parsing/, `an internal error leaked: ${e.message}`);
    for (const p of patterns) assert.match(e.message, p);
    return e.message;
  }
  throw new Error(`parsing ${name} should have failed`);
}

/** Deterministic pseudo-random bytes. */
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

test('empty file', () => {
  fails(new Uint8Array(0), 'empty.pth', /empty/, '"empty.pth"');
});

test('truncated zip fixture: cut at several points', () => {
  for (const len of [4, 30, 100, 5000, 108_000, zipFixture.length >> 1, zipFixture.length - 23, zipFixture.length - 1]) {
    fails(zipFixture.subarray(0, len), 'cut.pth', /truncated|corrupt/, '"cut.pth"');
  }
});

test('zip fixture with a flipped byte in a storage record fails its CRC check', () => {
  const bad = zipFixture.slice();
  bad[bad.length >> 1] ^= 0x40;
  fails(bad, 'flip.pth', /CRC/);
});

test('zip fixture with a flipped byte in data.pkl fails (CRC)', () => {
  const bad = zipFixture.slice();
  bad[2000] ^= 0x01;
  fails(bad, 'flip.pth', /CRC/, /data\.pkl/);
});

test('truncated legacy fixture: inside the header, the main pickle, and the storage records', () => {
  for (const len of [1, 10, 20, 100, 5000, 113_000, 126_010, legacyFixture.length >> 1, legacyFixture.length - 1]) {
    fails(legacyFixture.subarray(0, len), 'cut-legacy.pth', /truncated|incomplete|corrupt/);
  }
});

test('truncated legacy: the record error says which storage and how many bytes remain', () => {
  const msg = fails(legacyFixture.subarray(0, legacyFixture.length - 100), 'cut.pth', /storage record "\d+"/);
  assert.match(msg, /remain/);
});

test('random bytes', () => {
  for (let seed = 1; seed <= 20; seed++) fails(randomBytes(1000, seed), 'random.bin', /not a PyTorch checkpoint|pickle|zip/);
});

test('random bytes behind a zip signature or a pickle PROTO header', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const z = randomBytes(2000, seed);
    z.set([0x50, 0x4b, 0x03, 0x04]);
    fails(z, 'zipish.bin', /zip/);
    const p = randomBytes(2000, seed + 100);
    p.set([0x80, 0x02]);
    fails(p, 'picklish.bin');
  }
});

test('every truncation of a small synthetic legacy file fails cleanly', () => {
  const main = stateDictPickle([['w', { key: '7', storageNumel: 3, shape: [3] }]], true);
  const file = legacyStream(main, [['7', 4, f32Bytes([1, 2, 3])]]);
  assert.equal(Array.from(parseTorchBytes(file).stateDict.get('w')!.data as Float32Array), [1, 2, 3]);
  for (let len = 1; len < file.length; len++) fails(file.subarray(0, len), 'small.pth');
});

test('every single-byte corruption of a small synthetic zip fails cleanly or still parses', () => {
  const file = torchZip(stateDictPickle([['w', { key: '0', storageNumel: 2, shape: [2] }]]), { '0': f32Bytes([1, 2]) });
  for (let i = 0; i < file.length; i++) {
    const bad = file.slice();
    bad[i] ^= 0xa5;
    try {
      parseTorchBytes(bad, 'mutated.pth');
    } catch (e) {
      if (!(e instanceof TorchFormatError)) throw new Error(`byte ${i}: ${String(e)}`);
      assert.not.match(e.message, /unexpected \w*Error while parsing/, `byte ${i}: ${e.message}`);
    }
  }
});

test('every single-byte corruption of a small legacy stream fails cleanly or still parses', () => {
  const main = stateDictPickle([['w', { key: '7', storageNumel: 2, shape: [2] }]], true);
  const file = legacyStream(main, [['7', 4, f32Bytes([1, 2])]]);
  for (let i = 0; i < file.length; i++) {
    for (const x of [0x01, 0x80, 0xff]) {
      const bad = file.slice();
      bad[i] ^= x;
      try {
        parseTorchBytes(bad, 'mutated.pth');
      } catch (e) {
        if (!(e instanceof TorchFormatError)) throw new Error(`byte ${i}: ${String(e)}`);
        assert.not.match(e.message, /unexpected \w*Error while parsing/, `byte ${i} ^ ${x}: ${e.message}`);
      }
    }
  }
});

test('not torch files: JPEG, PNG, text, HDF5, NumPy, safetensors', () => {
  fails(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]), 'img.pth', /JPEG/);
  fails(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'img.png', /PNG/);
  fails(new TextEncoder().encode('epoch,loss\n1,0.5\n'), 'log.csv', /text file/, /epoch,loss/);
  fails(Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]), 'w.h5', /HDF5/);
  fails(Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]), 'a.npy', /NumPy/);
  const header = new TextEncoder().encode('{"__metadata__":{}}');
  const st = new Uint8Array(8 + header.length);
  new DataView(st.buffer).setBigUint64(0, BigInt(header.length), true);
  st.set(header, 8);
  fails(st, 'm.safetensors', /safetensors/);
});

test('a zip without data.pkl', () => {
  const z = zipSync({ 'a/readme.txt': new TextEncoder().encode('hi') }, { level: 0 });
  fails(z, 'other.zip', /no data\.pkl|without a data\.pkl/, /readme\.txt/);
});

test('a TorchScript archive is refused with a hint', () => {
  const z = zipSync(
    {
      'm/data.pkl': new PickleWriter().proto(2).none().stop().bytes(),
      'm/constants.pkl': new PickleWriter().proto(2).none().stop().bytes(),
      'm/code/__torch__/m.py': new TextEncoder().encode('x'),
    },
    { level: 0 },
  );
  fails(z, 'scripted.pt', /TorchScript/);
});

test('a storage record missing from the zip', () => {
  const pkl = stateDictPickle([
    ['a', { key: '0', storageNumel: 2, shape: [2] }],
    ['b', { key: '1', storageNumel: 2, shape: [2] }],
  ]);
  fails(torchZip(pkl, { '0': f32Bytes([1, 2]) }), 'missing.pth', /"archive\/data\/1"/, /missing/);
});

test('a storage record shorter than its persistent id says', () => {
  const pkl = stateDictPickle([['a', { key: '0', storageNumel: 4, shape: [4] }]]);
  fails(torchZip(pkl, { '0': f32Bytes([1, 2]) }), 'short.pth', /holds 8 bytes/, /4 float32 elements/);
});

test('a tensor that reaches beyond its storage', () => {
  const pkl = stateDictPickle([['a', { key: '0', storageNumel: 4, shape: [2, 2], stride: [3, 1], offset: 1 }]]);
  fails(torchZip(pkl, { '0': f32Bytes([1, 2, 3, 4]) }), 'oob.pth', /tensor "a"/, /needs 6 elements/);
});

test('a legacy storage missing from the record list', () => {
  const main = stateDictPickle([['w', { key: '7', storageNumel: 2, shape: [2] }]], true);
  fails(legacyStream(main, []), 'nolist.pth', /storage "7"/, /no record/);
});

test('unknown opcode and STOP-less stream name the opcode and offset', () => {
  const z = torchZip(new PickleWriter().proto(2).raw(0x7f).bytes(), {});
  fails(z, 'op.pth', /unknown pickle opcode 0x7f at byte 2/);
  fails(torchZip(new PickleWriter().proto(2).emptyDict().bytes(), {}), 'nostop.pth', /before its STOP/);
  fails(torchZip(new PickleWriter().proto(2).raw(0x68, 9).stop().bytes(), {}), 'memo.pth', /memo entry 9/, /BINGET/);
  fails(torchZip(new PickleWriter().proto(2).tuple2().stop().bytes(), {}), 'stack.pth', /stack underflow/, /TUPLE2/);
});

test('a plain (non-torch) pickle is reported as such', () => {
  fails(new PickleWriter().proto(2).int(7).stop().bytes(), 'plain.pkl', /not a PyTorch checkpoint/, /magic/);
});

test('a checkpoint without a state dict lists its keys', () => {
  const p = new PickleWriter().proto(2).emptyDict().mark().str('epoch').int(3).str('lr').int(1).setitems().stop();
  fails(torchZip(p.bytes(), {}), 'ckpt.pth', /"epoch", "lr"/, /neither a state_dict/);
});

test.run();
