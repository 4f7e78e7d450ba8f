// The pickle and zip writers under the .pth export, against bytes CPython 3.11 and PyTorch wrote.
// (The whole-file comparisons with PyTorch's own fixtures are in export-pth.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { Pickler } from '../src/io/torch/write/pickler.ts';
import { orderedDict, PyDict, PyFloat, PyFreshStr, PyList, PyTuple, type PyValue } from '../src/io/torch/write/py-value.ts';
import { zipChunks } from '../src/io/torch/write/zip-writer.ts';
import { archiveNameFor } from '../src/io/torch/write/torch-save.ts';
import { ZipArchive } from '../src/io/torch/zip.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('scalars, tuples and lists: the bytes of pickle.dumps(v, protocol=2)', () => {
  // Each expected value is `pickle.dumps(v, 2).hex()` from CPython 3.11.
  const cases: [PyValue, string][] = [
    [300, '80024d2c012e'],
    [70000, '80024a701101002e'],
    [2 ** 40, '80028a060000000000012e'],
    [-1, '80024affffffff2e'],
    [-300, '80024ad4feffff2e'],
    [2 ** 31, '80028a0500000080002e'],
    [new PyFloat(1.5), '8002473ff80000000000002e'],
    ['é', '80025802000000c3a971002e'],
    [new PyTuple([1, 2, 3, 4]), '8002284b014b024b034b047471002e'],
    [new PyList([1]), '80025d71004b01612e'],
    [new PyList([1, 2]), '80025d7100284b014b02652e'],
  ];
  for (const [value, expected] of cases) assert.is(hex(Pickler.dumps(value)), expected, String(value));
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const numbered = (n: number) => Array.from({ length: n }, (_, i) => [new PyFreshStr(String(i)), i] as const);

test('batches of 1000: dicts, an OrderedDict and a list hash as CPython\'s do', () => {
  // [length, sha256] of pickle.dumps({str(i): i for i in range(n)}, 2) for n = 1001, 1000, 2000: an exact
  // dict batches as MARK ... SETITEMS even for a last batch of one, and adds an empty batch after a full one.
  const dicts: [number, number, string][] = [
    [1001, 14896, '9c7fa6d0fd8a22243d33a186903f87efc6f54ddccff15bb1346a8620f56695b2'],
    [1000, 14879, '617add2cdb876ee56506586d37a0a63cd3fe91b794f754cc777012add61a41bf'],
    [2000, 31881, '55ed748ad3c35d19a110546a6c7886cc495925c421bb4656657fed4b32563ea4'],
  ];
  for (const [n, length, hash] of dicts) {
    const bytes = Pickler.dumps(new PyDict(numbered(n)));
    assert.equal([bytes.length, sha256(bytes)], [length, hash], `dict of ${n}`);
  }
  // OrderedDict((str(i), i) for i in range(1001)): items come from an iterator, a lone last one by SETITEM.
  const od = Pickler.dumps(orderedDict(numbered(1001)));
  assert.equal([od.length, sha256(od)], [14926, '3b533bfd7208c60d3dc30f1034302fab47b30f862e09a7ea32ac744bc61fd591']);
  // list(range(2001))
  const list = new PyList(Array.from({ length: 2001 }, (_, i) => i));
  const listBytes = Pickler.dumps(list);
  assert.is(listBytes.length, 5759);
  assert.is(sha256(listBytes), 'd401755777127c2204ef4bb8b7c230b2b027e9b1cb89df619e5b106c5685a107');
});

test('the memo: an interned str is written once, a fresh str with the same text twice', () => {
  // pickle.dumps(('ab', 'ab'), 2) with one object: X 'ab' q0 h0 \x86 q1
  assert.is(hex(Pickler.dumps(new PyTuple(['ab', 'ab']))), '80025802000000616271006800867101' + '2e');
  const twice = Pickler.dumps(new PyTuple([new PyFreshStr('ab'), new PyFreshStr('ab')]));
  assert.is(hex(twice), '800258020000006162710058020000006162710186710' + '22e');
});

test('zip: records 64-byte aligned, stored, readable by our reader with their CRCs', () => {
  const records = [
    { name: 'm/data.pkl', data: new Uint8Array([1, 2, 3]) },
    { name: 'm/data/0', data: new Uint8Array(100).map((_, i) => i) },
    { name: 'm/version', data: new TextEncoder().encode('3\n') },
  ];
  const bytes = new Uint8Array(Buffer.concat(zipChunks(records)));
  const zip = new ZipArchive(bytes, 'test');
  assert.equal([...zip.entries.keys()], records.map((r) => r.name));
  for (const r of records) {
    const entry = zip.entries.get(r.name)!;
    assert.is(entry.method, 0);
    assert.is(entry.flags, 0x0808);
    const got = zip.read(r.name, 1000, 'a record');
    assert.equal([...got], [...r.data]);
    assert.is(got.byteOffset % 64, 0, `${r.name} data offset`);
  }
});

test('archive name: the file\'s base name up to its last dot, as PyTorch derives it', () => {
  assert.is(archiveNameFor('/a/b/yolov4_pruned.pth'), 'yolov4_pruned');
  assert.is(archiveNameFor('out/model.v2.pt'), 'model.v2');
  assert.is(archiveNameFor('C:\\w\\best'), 'best');
  assert.is(archiveNameFor('dir/.pth'), 'archive');
});

test.run();
