import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importDarknetText } from '../src/io/darknet/index.ts';
import { readCheckpointMeta, CHECKPOINT_FORMAT } from '../src/io/checkpoint.ts';
import { ConfigError, resolveConfig, type Yolov4ConfigInput } from '../src/model/config.ts';

const work = mkdtempSync(join(tmpdir(), 'io-hostile-darknet-'));
const child = fileURLToPath(new URL('./_hostile-child.ts', import.meta.url));
const MEMORY_BOUND_MB = 300;

const NET = (w: number, h = w) => `[net]\nwidth=${w}\nheight=${h}\nchannels=3\n`;
const HEAD = '\n[convolutional]\nfilters=21\nsize=1\nactivation=linear\n\n[yolo]\nmask=0,1,2\nanchors=10,10,20,20,30,30\nclasses=2\nnum=3\n';
const conv = (filters: number | string, size = 3, extra = '') => `\n[convolutional]\nfilters=${filters}\nsize=${size}\npad=1\nactivation=leaky\n${extra}`;

/** Hostile cfgs, each with the line and text its error must name. */
const HOSTILE: Record<string, { text: string; line: number; pattern: RegExp }> = {
  'filters.cfg': { text: `${NET(64)}${conv(1_000_000_000)}${HEAD}`, line: 7, pattern: /filters=1000000000 is larger than 16384/ },
  'size.cfg': { text: `${NET(416)}${conv(16, 100_000)}${HEAD}`, line: 8, pattern: /size=100000 is larger than 32/ },
  'width.cfg': { text: `${NET(1_000_000)}${conv(16)}${HEAD}`, line: 2, pattern: /width=1000000 is larger than 4096/ },
  'height.cfg': { text: `${NET(416, 999_936)}${conv(16)}${HEAD}`, line: 3, pattern: /height=999936 is larger than 4096/ },
  'upsample.cfg': { text: `${NET(64)}${conv(16)}\n[upsample]\nstride=1000000\n${HEAD}`, line: 13, pattern: /stride=1000000 is larger than 32/ },
  'upsampled-output.cfg': {
    text: `${NET(4096)}${conv(64)}\n[upsample]\nstride=32\n${HEAD}`, line: 12,
    pattern: /\[upsample\] \(layer 1\): its output is 131072x131072x64 = \d+ values .* more than the 1073741824/,
  },
  'wide-int.cfg': { text: `${NET(64)}${conv('99999999999999999999')}${HEAD}`, line: 7, pattern: /filters=99999999999999999999 is out of range/ },
  'layers.cfg': {
    text: `${NET(64)}${'\n[dropout]\nprobability=0.1\n'.repeat(20_000)}${HEAD}`, line: 5 + 3 * 10_000 + 1,
    pattern: /\[dropout\] \(layer 10000\): the cfg has 20002 layers, more than the 10000/,
  },
  'weights.cfg': {
    text: `${NET(64)}${conv(16_384)}${conv(16_384)}${conv(16_384)}${HEAD}`, line: 13,
    pattern: /\[convolutional\] \(layer 1\): the conv weights up to this layer are \d+ floats, more than the 536870912/,
  },
};

test('hostile darknet cfg values are refused naming file and line, in bounded memory', () => {
  const paths: string[] = [];
  for (const [name, h] of Object.entries(HOSTILE)) {
    const p = join(work, name);
    writeFileSync(p, h.text);
    paths.push(p);
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, 'darknet-cfg', ...paths], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, `child failed (status ${r.status}, signal ${r.signal}): ${r.stderr.slice(0, 2000)}`);
  const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as {
    file: string; error: { name: string; message: string } | null; ms: number; peakGrowthMB: number;
  });
  assert.is(results.length, paths.length);
  for (const res of results) {
    const name = res.file.slice(work.length + 1);
    const h = HOSTILE[name];
    assert.ok(res.error, `${name} was imported without error (peak RSS +${res.peakGrowthMB.toFixed(0)} MB)`);
    assert.is(res.error.name, 'DarknetCfgError', `${name}: ${res.error.name}: ${res.error.message.slice(0, 300)}`);
    assert.ok(res.error.message.startsWith(`${res.file}:${h.line}: `), `${name}: ${res.error.message}`);
    assert.match(res.error.message, h.pattern);
    assert.ok(res.peakGrowthMB < MEMORY_BOUND_MB, `${name}: peak RSS grew by ${res.peakGrowthMB.toFixed(0)} MB`);
    console.log(`  ${name}: refused in ${res.ms.toFixed(0)} ms, peak RSS +${res.peakGrowthMB.toFixed(0)} MB`);
  }
});

test('control: values at the bounds still build (a 4096x4096 input, a 32-filter 7x7 conv)', () => {
  const { model, network } = importDarknetText(`${NET(4096)}${conv(32, 7)}${HEAD}`, undefined, { cfgSource: 'ok.cfg' });
  assert.is(network.width, 4096);
  assert.equal(network.layers[0].out, { h: 4096, w: 4096, c: 32 });
  model.dispose();
});

function configError(input: Yolov4ConfigInput, pattern: RegExp): void {
  try {
    resolveConfig(input, 'cfg.json');
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`${JSON.stringify(input).slice(0, 80)} was accepted`);
}

test('hostile config values are refused naming the field', () => {
  configError({ inputSize: 1_000_000 }, /^cfg\.json: inputSize is 1000000, more than the 4096/);
  configError({ numClasses: 1_000_000_000 }, /^cfg\.json: numClasses is 1000000000, more than the 20000/);
  configError({ widthMultiplier: 1000 }, /^cfg\.json: widthMultiplier is 1000, more than the 8/);
  configError({ blocks: [1, 2, 1_000_000, 8, 4] }, /^cfg\.json: blocks\[2\] is 1000000, more than the 64/);
  configError({ widths: { 'conv1.0.conv': 10_000_000 } }, /^cfg\.json: widths\["conv1\.0\.conv"\] is 10000000, more than the 8192/);
  configError({ architecture: 'darknet', inputSize: 1_000_000 }, /inputSize is 1000000/);
  // The largest allowed values still resolve.
  assert.is(resolveConfig({ inputSize: 4096, numClasses: 20_000 }).inputSize, 4096);
});

test('a checkpoint meta.json with inputSize 1,000,000 is refused by readCheckpointMeta, naming the file and field', async () => {
  const dir = join(work, 'ckpt');
  rmSync(dir, { recursive: true, force: true });
  (await import('node:fs')).mkdirSync(dir);
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ format: CHECKPOINT_FORMAT, version: 1, config: { inputSize: 1_000_000 } }));
  try {
    await readCheckpointMeta(dir);
    assert.unreachable('the meta.json was accepted');
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.match((e as Error).message, /meta\.json: inputSize is 1000000, more than the 4096/);
  }
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
