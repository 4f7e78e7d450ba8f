import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Argv, CommandModule } from 'yargs';
import { withBackend } from '../src/cli/common.ts';
import { FLAG_RULES, VERB_FLAG_RULES, validateNumericFlags, FlagValueError } from '../src/cli/validate-flags.ts';
import { closest } from '../src/cli/suggest.ts';
import { runCli } from '../src/cli/cli.ts';
import demo from '../src/cli/demo.ts';
import info from '../src/cli/info.ts';
import importCmd from '../src/cli/import.ts';
import prune from '../src/cli/prune.ts';
import train from '../src/cli/train.ts';
import finetune from '../src/cli/finetune.ts';
import evalCmd from '../src/cli/eval.ts';
import predict from '../src/cli/predict.ts';
import exportCmd from '../src/cli/export.ts';

const yargs = createRequire(import.meta.url)('yargs') as (args: string[]) => Argv;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const VERBS: CommandModule<any, any>[] = [demo, info, importCmd, prune, train, finetune, evalCmd, predict, exportCmd];
const verbName = (m: CommandModule) => String(m.command).split(' ')[0];

interface Declared {
  numbers: string[];
  defaults: Record<string, unknown>;
  describes: string[];
  examples: string[];
}

/** What a verb's builder declares, recorded from its own calls (the truth the help must show). */
function declared(m: CommandModule): Declared {
  const y = withBackend(yargs([])) as Argv;
  const describes: string[] = [];
  const examples: string[] = [];
  for (const method of ['option', 'positional'] as const) {
    const original = (y[method] as (...a: unknown[]) => Argv).bind(y);
    (y as unknown as Record<string, unknown>)[method] = (key: string, o?: { describe?: string }) => {
      if (o?.describe) describes.push(o.describe);
      return original(key, o);
    };
  }
  (y as unknown as Record<string, unknown>).example = (c: string) => {
    examples.push(c.replace(/\$0/g, 'yolo4'));
    return y;
  };
  (m.builder as (y: Argv) => unknown)(y);
  const o = (y as unknown as { getOptions(): { number: string[]; default: Record<string, unknown> } }).getOptions();
  return { numbers: o.number, defaults: o.default, describes, examples };
}

function yolo4(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/yolo4.js', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, YOLO4_BACKEND: 'wasm', ...env } },
      (e, out, err) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err }));
  });
}

test('every numeric flag of every verb has a range, and every default satisfies it', () => {
  for (const m of VERBS) {
    const v = verbName(m);
    const d = declared(m);
    for (const flag of d.numbers) assert.ok(flag in FLAG_RULES, `${v} --${flag} has no rule in FLAG_RULES`);
    validateNumericFlags(d.defaults, v); // throws on a default outside its own range
  }
});

test('out-of-range values are FlagValueErrors naming the flag; 0 stays valid where it means "all"/"off"', () => {
  const bad: [string, Record<string, unknown>][] = [
    ['eval', { conf: NaN }], ['predict', { batch: 0 }], ['eval', { 'img-size': 300 }], ['info', { 'input-size': 16 }],
    ['predict', { 'img-size': 8192 }], ['train', { epochs: 0 }], ['train', { lr0: 0 }], ['train', { milestones: [10, NaN] }],
    ['prune', { amount: 1 }], ['eval', { iou: 1.5 }], ['info', { threads: 9 }], ['info', { threads: 1.5 }], ['train', { seed: Infinity }],
    ['train', { momentum: 1 }], ['predict', { 'max-det': 0 }], ['train', { subdivisions: 0 }],
  ];
  for (const [verb, argv] of bad) {
    const flag = Object.keys(argv)[0];
    try {
      validateNumericFlags(argv, verb);
      assert.unreachable(`${verb} ${JSON.stringify(argv)} passed`);
    } catch (e) {
      assert.instance(e, FlagValueError, `${verb} ${flag}`);
      assert.is((e as FlagValueError).flag, flag);
    }
  }
  const good: [string, Record<string, unknown>][] = [
    ['train', { 'max-batches': 0, 'clip-grad': 0, 'val-limit': 0, 'save-period': 0, mosaic: 0, 'img-size': 608 }],
    ['demo', { epochs: 0 }], ['prune', { 'finetune-epochs': 0, 'max-batches': 0 }], ['info', { threads: 8, 'input-size': 32 }],
    ['eval', { conf: 0, iou: 1 }], ['train', { milestones: [100, 200], seed: -3 }],
  ];
  for (const [verb, argv] of good) validateNumericFlags(argv, verb);
  // A stricter per-verb rule only where declared.
  assert.equal(Object.keys(VERB_FLAG_RULES).sort(), ['finetune', 'train']);
});

test('a numeric flag typed with no value is refused, not silently its default; negative values are values', () => {
  for (const raw of [['eval', '--conf'], ['eval', '--conf', '--iou', '0.5'], ['train', '--epochs', '--', 'x']]) {
    const flag = raw[1].slice(2);
    try {
      validateNumericFlags({ [flag]: 0.001 }, raw[0], raw);
      assert.unreachable(`${raw.join(' ')} passed`);
    } catch (e) {
      assert.instance(e, FlagValueError, raw.join(' '));
      assert.is((e as FlagValueError).flag, flag);
      assert.match((e as Error).message, 'no value');
    }
  }
  validateNumericFlags({ seed: -1, conf: 0.3 }, 'train', ['train', '--seed', '-1', '--conf', '0.3']);
});

test('the real CLI: bad values and unknown flags/verbs exit 2 with the flag, the value and a suggestion; a failing job exits 1', async () => {
  const [conf, batch, imgSize, threadsEnv, unknownFlag, unknownVerb, missing] = await Promise.all([
    yolo4(['eval', '--weights', 'w', '--data', 'd', '--conf', 'abc']),
    yolo4(['predict', '--weights', 'w', '--source', 's', '--out', 'o', '--batch', '0']),
    yolo4(['eval', '--weights', 'w', '--data', 'd', '--img-size', '300']),
    yolo4(['info'], { YOLO4_THREADS: 'many' }),
    yolo4(['prune', '--weigths', 'x', '--all', '--amount', '0.3']),
    yolo4(['prunee', '--weights', 'x']),
    yolo4(['info', '--weights', '/nonexistent/yolo4-weights']),
  ]);
  assert.is(conf.code, 2, conf.err);
  assert.match(conf.err, /--conf must be a number in \[0, 1\], got "abc"/);
  assert.is(batch.code, 2, batch.err);
  assert.match(batch.err, /--batch must be a positive integer, got "0"/);
  assert.is(imgSize.code, 2, imgSize.err);
  assert.match(imgSize.err, /--img-size must be a multiple of 32 in 32\.\.4096, got "300"/);
  assert.is(threadsEnv.code, 2, threadsEnv.err);
  assert.match(threadsEnv.err, /--threads must be an integer in 1\.\.8, got "many" \(from YOLO4_THREADS\)/);
  assert.is(unknownFlag.code, 2, unknownFlag.err);
  assert.match(unknownFlag.err, /Unknown argument: weigths/);
  assert.match(unknownFlag.err, /did you mean --weights\?/);
  assert.is(unknownVerb.code, 2, unknownVerb.err);
  assert.match(unknownVerb.err, /[Dd]id you mean prune\?/);
  assert.is(missing.code, 1, missing.err);
  assert.match(missing.err, /weights not found/);
});

test('a UsageError thrown by a verb at run time exits 2', async () => {
  const r = await yolo4(['finetune', '--data', 'datasets/tinycoco.json']);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /finetune needs --weights/);
});

/** Help text of `args` from runCli in this process (no exit), at a fixed width. */
async function helpOf(args: string[], width: number): Promise<string> {
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => { out.push(a.join(' ')); };
  try {
    await runCli(args, { exitProcess: false, width });
  } finally {
    console.log = log;
  }
  return out.join('\n');
}

/** Every example of the verb on one line, whole; every word of every description whole. */
function assertHelpWhole(v: string, help: string, d: Declared): void {
  const lines = help.split('\n').map((l) => l.trim());
  assert.ok(d.examples.length === 0 || lines.includes('Examples:'), `${v} --help has no Examples block`);
  for (const ex of d.examples) assert.ok(lines.includes(ex), `${v} --help: example not whole on one line: ${ex}`);
  const tokens = new Set(help.split(/\s+/));
  for (const text of d.describes) {
    for (const word of text.split(/\s+/).filter(Boolean)) {
      assert.ok(tokens.has(word), `${v} --help: "${word}" (from "${text.slice(0, 50)}...") is split or missing`);
    }
  }
}

test('--help of every verb at 80 and 110 columns: each example command whole on one line, no word split', async () => {
  for (const width of [80, 110]) {
    for (const m of VERBS) {
      const v = verbName(m);
      assertHelpWhole(v, await helpOf([v, '--help'], width), declared(m));
    }
  }
});

test('the real CLI: prune --help (stdout not a terminal) has its examples whole', async () => {
  const r = await yolo4(['prune', '--help']);
  assert.is(r.code, 0, r.err);
  assertHelpWhole('prune', r.out, declared(prune));
});

test('closest(): typos get a suggestion, unrelated words none', () => {
  assert.is(closest('weigths', ['weights', 'out', 'config']), 'weights');
  assert.is(closest('prunee', ['prune', 'predict', 'info']), 'prune');
  assert.is(closest('img-sise', ['img-size', 'iou']), 'img-size');
  assert.is(closest('zzz', ['weights', 'out']), undefined);
});

test.run();
