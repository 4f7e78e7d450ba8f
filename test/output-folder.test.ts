import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { resolveConfig } from '../src/model/config.ts';
import { checkOutputFolder, SENSITIVITY_FOLDER } from '../src/io/output-folder.ts';
import { EXPORT_MARKER, writeDarknetExport } from '../src/io/darknet-export-target.ts';
import { exportDarknetFiles, importDarknet } from '../src/io/darknet/index.ts';
import { loadLayersModel } from '../src/io/model-files.ts';
import { iterativePrune } from '../src/jobs/iterative.ts';
import { runDemo } from '../src/jobs/demo.ts';
import { exportTfjs } from '../src/jobs/export.ts';
import type { Dataset } from '../src/data/types.ts';

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-out-folder-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const config = resolveConfig({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 2, inputSize: 64, classNames: ['a', 'b'] });
let n = 0;
const fresh = (name: string) => path.join(work, `${name}-${++n}`);

function userFolder(dir: string, file = 'notes.txt'): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, file), 'mine');
  return path.join(dir, file);
}

async function refused(p: Promise<unknown>, what: string, re?: RegExp): Promise<void> {
  await p.then(() => assert.unreachable(`${what} was not refused`), (e: Error) => {
    assert.is(e.name, 'OutputExistsError', `${what}: ${e.message}`);
    if (re) assert.match(e.message, re);
  });
}

test('run folders: absent or empty is fine, a file or others\' files are refused, an earlier run needs force', async () => {
  assert.is(await checkOutputFolder(fresh('absent'), SENSITIVITY_FOLDER), 'new');
  const empty = fresh('empty');
  mkdirSync(empty);
  assert.is(await checkOutputFolder(empty, SENSITIVITY_FOLDER), 'empty');
  const file = fresh('file');
  writeFileSync(file, 'x');
  await refused(checkOutputFolder(file, SENSITIVITY_FOLDER, { force: true }), 'a file');
  const user = fresh('user');
  userFolder(user);
  writeFileSync(path.join(user, 'sensitivity.csv'), 'mine too');
  await refused(checkOutputFolder(user, SENSITIVITY_FOLDER, { force: true }), 'a user folder', /notes\.txt/);
  const earlier = fresh('earlier');
  mkdirSync(earlier);
  for (const f of ['sensitivity.csv', 'sensitivity.json', 'sensitivity.png', 'sensitivity-all-2.png']) writeFileSync(path.join(earlier, f), '');
  await refused(checkOutputFolder(earlier, SENSITIVITY_FOLDER), 'an earlier run without force', /--force/);
  assert.is(await checkOutputFolder(earlier, SENSITIVITY_FOLDER, { force: true }), 'earlier-run');
});

test('iterativePrune refuses a folder of user files before any work; so does runDemo', async () => {
  const model = buildYolov4(config);
  const out = fresh('iter');
  const notes = userFolder(out);
  const val = { name: 'fake', split: 'val', classNames: ['a', 'b'], items: [] } as unknown as Dataset;
  await refused(iterativePrune(model, config, { all: true, amount: 0.5, steps: 1, finetuneEpochs: 0, valSet: val, outDir: out }), 'iterative');
  assert.equal(readdirSync(out), ['notes.txt']);
  assert.is(readFileSync(notes, 'utf8'), 'mine');
  model.dispose();
  const demo = fresh('demo');
  userFolder(demo);
  await refused(runDemo({ outDir: demo, amount: 0.1, strategy: 'greedy', finetuneEpochs: 0, log: () => {} }), 'demo');
  assert.equal(readdirSync(demo), ['notes.txt']);
});

test('export --format tfjs: never into someone else\'s model folder; an earlier export needs force', async () => {
  const model = buildYolov4(config);
  const user = fresh('user');
  userFolder(user);
  await refused(exportTfjs(model, config, user, { force: true }), 'a user folder');
  // Someone else's tfjs model: only names we also write, but not our README.
  const other = fresh('other');
  userFolder(other, 'model.json');
  writeFileSync(path.join(other, 'README.md'), '# my model');
  await refused(exportTfjs(model, config, other, { force: true }), 'another tfjs model');
  assert.is(readFileSync(path.join(other, 'README.md'), 'utf8'), '# my model');
  const out = fresh('tfjs');
  await exportTfjs(model, config, out);
  await refused(exportTfjs(model, config, out), 'an earlier export without force', /--force/);
  await exportTfjs(model, config, out, { force: true });
  const again = await loadLayersModel(out);
  assert.is(again.countParams(), model.countParams());
  again.dispose();
  model.dispose();
});

test('export --format darknet: a user\'s .cfg/.weights at the prefix are never overwritten, even with --force', async () => {
  const FASTEST = 'test/fixtures/darknet/yolo-fastest-1.1';
  const { model, config: dc } = await importDarknet(`${FASTEST}/yolo-fastest-1.1.cfg`, undefined, { namesFile: `${FASTEST}/coco.names` });
  try {
    const dir = fresh('dk');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'yolo-fastest-1.1.weights'), 'original weights');
    await refused(writeDarknetExport(model, dc, `${dir}/`, { force: true }), 'a user .weights');
    assert.is(readFileSync(path.join(dir, 'yolo-fastest-1.1.weights'), 'utf8'), 'original weights');
    const prefix = path.join(dir, 'pruned');
    const out = await writeDarknetExport(model, dc, prefix);
    const cfg = readFileSync(out.cfgPath, 'utf8');
    assert.ok(cfg.startsWith(`${EXPORT_MARKER}\n`));
    assert.is(cfg.slice(EXPORT_MARKER.length + 1), exportDarknetFiles(model, dc).cfgText); // the marker is the only addition
    const back = await importDarknet(out.cfgPath, out.weightsPath, { namesFile: out.namesPath });
    assert.is(back.model.countParams(), model.countParams());
    back.model.dispose();
    await refused(writeDarknetExport(model, dc, prefix), 'an earlier export without force', /--force/);
    await writeDarknetExport(model, dc, prefix, { force: true });
  } finally {
    model.dispose();
  }
});

test.run();
