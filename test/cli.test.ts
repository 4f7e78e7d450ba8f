import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const work = mkdtempSync(path.join(tmpdir(), 'yolo4-cli-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

function yolo4(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/yolo4.js', ...args], { encoding: 'utf8', env: { ...process.env, YOLO4_BACKEND: 'wasm' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('info --json on the default config reports the PyTorch parameter count', () => {
  const r = yolo4('info', '--json');
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.is(j.params, 64363101);
  assert.is(j.nonTrainableParams, 66304);
  assert.is(j.inputSize, 416);
  assert.is(j.flops, 2 * j.macs);
  assert.is(j.layers.filter((l: { type: string }) => l.type === 'Conv2D').length, 110);
});

test('import a pruned .pth, prune it again on the command line, read it back with info', () => {
  const ckpt = path.join(work, 'small');
  let r = yolo4('import', 'test/fixtures/torch/yolov4_pruned_small_legacy.pth', '--out', ckpt);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /962,381 parameters/);
  const pruned = path.join(work, 'pruned');
  r = yolo4('prune', '--weights', ckpt, '--layers', 'conv2.*', '--amount', '0.5', '--strategy', 'independent', '--out', pruned, '--json');
  assert.is(r.code, 0, r.err);
  const s = JSON.parse(r.out);
  assert.ok(s.paramsAfter < s.paramsBefore);
  assert.ok(s.verifyMaxAbsDiff < 1e-4);
  r = yolo4('info', '--weights', pruned, '--json');
  assert.is(r.code, 0, r.err);
  const info = JSON.parse(r.out);
  assert.is(info.params, s.paramsAfter);
  assert.ok(info.pruningSteps > 0);
  // conv2.0 has 61 filters in the fixture: floor(0.5 * 61) = 30 removed.
  assert.is(info.layers.find((l: { name: string }) => l.name === 'conv2.0.conv').out, 31);
});

test('bad input gives one clear line and a non-zero exit', () => {
  let r = yolo4('info', '--weights', path.join(work, 'missing'));
  assert.is(r.code, 1);
  assert.match(r.err, /weights not found/);
  const evil = path.join(work, 'evil.pth');
  // Protocol-2 pickle: GLOBAL os.system, MARK, string, TUPLE, REDUCE, STOP.
  writeFileSync(evil, Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from("cos\nsystem\n(S'touch " + path.join(work, 'pwned') + "'\ntR.", 'latin1')]));
  r = yolo4('import', evil, '--out', path.join(work, 'evil'));
  assert.is(r.code, 1);
  assert.match(r.err, /os\.system/);
  assert.not.ok(existsSync(path.join(work, 'pwned')));
  r = yolo4('prune', '--weights', path.join(work, 'small'), '--layer', 'conv9.0', '--amount', '0.5', '--dry-run');
  assert.is(r.code, 2); // a layer name that names nothing prunable is a usage error (PruneOptionError)
  assert.match(r.err, /conv9\.0/);
  r = yolo4('prune', '--weights', path.join(work, 'small'));
  assert.is(r.code, 2);
  assert.match(r.err, /say what to prune/);
});

test("the seed's case through the CLI: conv2.* at 0.4 greedy on the full model, 64,363,101 -> 60,438,323", () => {
  const r = yolo4('prune', '--config', 'configs/yolov4.json', '--layers', 'conv2.*', '--amount', '0.4', '--strategy', 'greedy', '--dry-run', '--json');
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.is(j.paramsBefore, 64363101);
  assert.is(j.paramsAfter, 60438323);
  const w = Object.fromEntries(j.layers.map((l: { name: string; before: number; after: number }) => [l.name, [l.before, l.after]]));
  assert.equal([w['conv2.0.conv'], w['conv2.1.conv'], w['conv2.2.conv']], [[512, 308], [1024, 615], [512, 308]]);
  assert.equal(w['conv1.2.conv'], [512, 512]);
  const text = yolo4('prune', '--config', 'configs/yolov4.json', '--layers', 'conv2.*', '--amount', '0.4', '--dry-run');
  assert.match(text.out, /upsample1\.upsample\.0\.conv \(dim: in\)/);
  assert.match(text.out, /make_five_conv4\.0\.conv \(dim: in, offset 512\)/);
  assert.match(text.out, /conv2\.2\.bn \(dim: bn\)/);
});

test.run();
