import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTorchBytes, readTorchFile, TorchFormatError } from '../src/io/torch/index.ts';
import {
  f32Bytes,
  legacyStream,
  PickleWriter,
  stateDictPickle,
  torchZip,
  writeTensor,
} from './fixtures/torch/pickle-builder.ts';

const work = mkdtempSync(join(tmpdir(), 'io-torch-sec-'));
const pwned = join(work, 'pwned');
const enc = new TextEncoder();

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Assert parsing throws a TorchFormatError whose message matches every pattern, and nothing ran. */
function refuses(bytes: Uint8Array, name: string, ...patterns: (string | RegExp)[]): string {
  let message = '';
  try {
    parseTorchBytes(bytes, name);
  } catch (e) {
    assert.instance(e, TorchFormatError, `expected TorchFormatError, got ${String(e)}`);
    message = (e as Error).message;
  }
  assert.ok(message !== '', 'should have thrown');
  for (const p of patterns) assert.match(message, p);
  assert.not.ok(existsSync(pwned), 'the payload must not have run');
  return message;
}

/** GLOBAL <module>.<name> called with one string argument, protocol 0 (`c...\n(S'...'\ntR.`). */
function protocol0Call(module: string, name: string, arg: string): Uint8Array {
  return enc.encode(`c${module}\n${name}\n(S'${arg}'\ntR.`);
}

const touch = `touch ${pwned}`;

test('protocol 0: GLOBAL os.system + REDUCE is refused, naming os.system', () => {
  const msg = refuses(protocol0Call('os', 'system', touch), 'evil.pth', '"os.system"', 'evil.pth', /not an allowed type/);
  assert.match(msg, /^Refusing to load "evil\.pth": pickle references global "os\.system"/);
});

test('protocol 2: GLOBAL posix.system is refused', () => {
  const p = new PickleWriter().proto(2).global('posix', 'system').mark().str(touch).tuple().reduce().stop();
  refuses(p.bytes(), 'evil2.pth', '"posix.system"');
});

test('protocol 4: STACK_GLOBAL builtins.eval is refused', () => {
  const p = new PickleWriter().proto(4).stackGlobal('builtins', 'eval').str(`__import__('os').system('${touch}')`, true).tuple1().reduce().stop();
  refuses(p.bytes(), 'evil3.pth', '"builtins.eval"');
});

test('os.system inside a torch-style zip (the zip path) is refused', () => {
  // A real-looking state dict whose second entry is os.system(...).
  const p = new PickleWriter().proto(2).orderedDict();
  p.str('w');
  writeTensor(p, { key: '0', storageNumel: 2, shape: [2] }, false);
  p.setitem();
  p.str('evil').global('os', 'system').mark().str(touch).tuple().reduce().setitem().stop();
  const zip = torchZip(p.bytes(), { '0': f32Bytes([1, 2]) }, 'evil');
  refuses(zip, 'evil-zip.pth', '"os.system"', 'evil-zip.pth');
});

test('os.system written to disk and read with readTorchFile is refused', async () => {
  const file = join(work, 'evil-on-disk.pth');
  const p = new PickleWriter().proto(2).global('os', 'system').mark().str(touch).tuple().reduce().stop();
  writeFileSync(file, torchZip(p.bytes(), {}));
  try {
    await readTorchFile(file);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, TorchFormatError);
    assert.match((e as Error).message, '"os.system"');
    assert.match((e as Error).message, 'evil-on-disk.pth');
  }
  assert.not.ok(existsSync(pwned));
});

test('os.system inside the main pickle of a legacy stream is refused', () => {
  const main = new PickleWriter().proto(2).global('os', 'system').mark().str(touch).tuple().reduce().stop().bytes();
  refuses(legacyStream(main, []), 'evil-legacy.pth', '"os.system"');
});

test('a plain malicious protocol-2 pickle in place of the legacy magic is refused', () => {
  const p = new PickleWriter().proto(2).global('subprocess', 'check_output').mark().str('id').tuple().reduce().stop();
  refuses(p.bytes(), 'evil.pkl', '"subprocess.check_output"');
});

const DANGEROUS: [string, string][] = [
  ['builtins', 'exec'],
  ['builtins', 'getattr'],
  ['builtins', '__import__'],
  ['__builtin__', 'eval'],
  ['builtins', 'open'],
  ['nt', 'system'],
  ['subprocess', 'Popen'],
  ['subprocess', 'run'],
  ['sys', 'modules'],
  ['importlib', 'import_module'],
  ['shutil', 'rmtree'],
  ['socket', 'socket'],
  ['pickle', 'loads'],
  ['_pickle', 'loads'],
  ['codecs', 'encode'],
  ['_codecs', 'encode'],
  ['runpy', '_run_code'],
  ['functools', 'partial'],
  ['operator', 'attrgetter'],
  ['ctypes', 'CDLL'],
  ['numpy.core.multiarray', '_reconstruct'],
  ['numpy', 'load'],
  ['dill', 'loads'],
  ['torch', 'load'],
  ['torch.storage', '_load_from_bytes'],
  ['torch.serialization', 'load'],
  ['torch.nn.functional', 'relu'],
  ['collections', 'defaultdict'],
  ['_io', 'FileIO'],
  ['copyreg', '_reconstructor_evil'],
  ['nets.yolo', 'YoloBody.__init__.__globals__'],
  ['os.path', 'join'],
];

for (const [module, name] of DANGEROUS) {
  test(`refuses the global ${module}.${name} (zip), naming it`, () => {
    const p = new PickleWriter().proto(2).global(module, name).mark().str(touch).tuple().reduce().stop();
    refuses(torchZip(p.bytes(), {}), 'bad.pth', `"${module}.${name}"`);
  });
}

test('a module container class called with arguments is refused', () => {
  const p = new PickleWriter().proto(2).global('nets.yolo', 'YoloBody').mark().str(touch).tuple().reduce().stop();
  refuses(torchZip(p.bytes(), {}), 'bad.pth', '"nets.yolo.YoloBody"', /never called/);
});

test('NEWOBJ of a container with arguments is refused', () => {
  const p = new PickleWriter().proto(2).global('mypkg.models', 'Net').mark().str('x').tuple().newobj().stop();
  refuses(torchZip(p.bytes(), {}), 'bad.pth', '"mypkg.models.Net"');
});

test('a tensor-rebuild function given a non-storage is refused (no confusion attacks)', () => {
  const p = new PickleWriter().proto(2).global('torch._utils', '_rebuild_tensor_v2').mark();
  p.str('not a storage').int(0).intTuple([1]).intTuple([1]).bool(false).orderedDict().tuple().reduce().stop();
  refuses(torchZip(p.bytes(), {}), 'bad.pth', /_rebuild_tensor_v2/, /not a storage/);
});

test('unexpected persistent ids are refused', () => {
  const p = new PickleWriter().proto(2).mark().str('module').global('os', 'system').tuple().binpersid().stop();
  refuses(torchZip(p.bytes(), {}), 'bad.pth', '"os.system"');
  const q = new PickleWriter().proto(2).mark().str('evil').str('x').tuple().binpersid().stop();
  refuses(torchZip(q.bytes(), {}), 'bad.pth', /persistent id/, /"evil"/);
});

test('globals are refused in the legacy header pickles too', () => {
  const magic = new PickleWriter().proto(2).long(0x1950a86a20f9469cfc6cn).stop().bytes();
  const proto = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().stop().bytes();
  refuses(concat(magic, proto), 'bad.pth', '"collections.OrderedDict"');
});

test('allowed: user module classes are read as containers (NEWOBJ + BUILD), never called', () => {
  // __main__.Net(fc=torch.nn.modules.linear.Linear) with weight/bias; the Linear is created via REDUCE with ().
  const p = new PickleWriter().proto(2);
  const emptyOd = () => p.orderedDict();
  const moduleState = (params: [string, number, number[]][], children: () => void) => {
    p.emptyDict().mark();
    p.str('training').bool(false);
    p.str('_parameters');
    emptyOd();
    if (params.length) {
      p.mark();
      for (const [name, numel, shape] of params) {
        p.str(name).global('torch._utils', '_rebuild_parameter');
        writeTensor(p, { key: name, storageNumel: numel, shape }, false);
        p.bool(true).orderedDict().tuple3().reduce();
      }
      p.setitems();
    }
    p.str('_buffers');
    emptyOd();
    p.str('_non_persistent_buffers_set').global('builtins', 'set').emptyList().tuple1().reduce();
    p.str('_modules');
    emptyOd();
    children();
    p.str('in_features').int(2);
    p.setitems();
  };
  p.global('__main__', 'Net').emptyTuple().newobj();
  moduleState([], () => {
    p.mark().str('fc').global('torch.nn.modules.linear', 'Linear').emptyTuple().reduce();
    moduleState(
      [
        ['weight', 6, [3, 2]],
        ['bias', 3, [3]],
      ],
      () => {},
    );
    p.build().setitems();
  });
  p.build().stop();
  const zip = torchZip(p.bytes(), { weight: f32Bytes([1, 2, 3, 4, 5, 6]), bias: f32Bytes([7, 8, 9]) });
  const r = parseTorchBytes(zip, 'net.pth');
  assert.is(r.kind, 'module');
  assert.equal([...r.stateDict.keys()], ['fc.weight', 'fc.bias']);
  assert.equal(Array.from(r.stateDict.get('fc.weight')!.data as Float32Array), [1, 2, 3, 4, 5, 6]);
  assert.equal(r.stateDict.get('fc.weight')!.shape, [3, 2]);
});

test('legacy whole model: ("module", cls, file, source) persistent ids give the class; the source is ignored', () => {
  const p = new PickleWriter().proto(2);
  // The class comes through a persistent id whose "source" is Python code: it must never matter.
  p.mark().str('module').global('torch.nn.modules.linear', 'Linear').str('/x/linear.py').str(`import os; os.system("${touch}")`).tuple().binpersid();
  p.emptyTuple().newobj().emptyDict().mark();
  p.str('_parameters').orderedDict().mark().str('weight');
  writeTensor(p, { key: '140', storageNumel: 2, shape: [1, 2] }, true);
  p.str('bias').none().setitems();
  p.str('_buffers').orderedDict();
  p.str('_modules').orderedDict();
  p.setitems().build().stop();
  const file = legacyStream(p.bytes(), [['140', 4, f32Bytes([0.5, -0.25])]]);
  const r = parseTorchBytes(file, 'legacy-whole.pth');
  assert.is(r.format, 'legacy');
  assert.is(r.kind, 'module');
  assert.equal([...r.stateDict.keys()], ['weight']);
  assert.equal(Array.from(r.stateDict.get('weight')!.data as Float32Array), [0.5, -0.25]);
  assert.not.ok(existsSync(pwned));
});

test('a benign state dict in the same builder loads (control for the refusal tests)', () => {
  const zip = torchZip(stateDictPickle([['a', { key: '0', storageNumel: 1, shape: [] }]]), { '0': f32Bytes([3]) });
  const r = parseTorchBytes(zip, 'ok.pth');
  assert.equal(Array.from(r.stateDict.get('a')!.data as Float32Array), [3]);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
