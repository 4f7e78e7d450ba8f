/** `yolo4 <verb>`: flags are parsed here and in one file per verb; the work is done by library code.
 * runCli() is the whole command line; main.ts calls it with process.argv (tests call it in-process). */
import type { Argv } from 'yargs';
import { createRequire } from 'node:module';
import { exitCodeOf, isUsageError } from '../util/errors.ts';
import { withBackend } from './common.ts';
import { collectedExamples, collectingExamples, withExamples } from './help-examples.ts';
import { suggestFor, unknownArguments } from './suggest.ts';
import { validateNumericFlags } from './validate-flags.ts';
import type { Verb } from './verb.ts';
import info from './info.ts';
import importCmd from './import.ts';
import prune from './prune.ts';
import train from './train.ts';
import finetune from './finetune.ts';
import evalCmd from './eval.ts';
import predict from './predict.ts';
import demo from './demo.ts';
import exportCmd from './export.ts';

// yargs' CommonJS build: its help layout (cliui) wraps at word boundaries, the ESM build's splits
// words ("chec kpoint").
const yargs = createRequire(import.meta.url)('yargs') as (args: string[]) => Argv;

const SCRIPT = 'yolo4';
const USAGE_HINT = `Run "${SCRIPT} <verb> --help" for usage.`;

/** Each error's own exit code (util/errors.ts): usage errors 2, every other failure 1 (README). */
function exitWith(e: unknown): never {
  const err = e as Error;
  const usage = isUsageError(e);
  console.error(`${SCRIPT}: ${err?.message ?? String(e)}${usage ? `\n${USAGE_HINT}` : ''}`);
  if (process.env.YOLO4_DEBUG) console.error(err?.stack);
  process.exit(exitCodeOf(e));
}

/** The flags of the verb being parsed (its builder ran), for "did you mean" suggestions. */
let verbFlags: string[] = [];

/** `m` with its examples collected, its flags recorded for suggestions, and its errors turned into exit codes. */
function verb(m: Verb): Verb {
  const collecting = collectingExamples(m);
  return {
    ...collecting,
    builder: (y: Argv) => {
      const built = collecting.builder(y);
      // getOptions() is public in yargs 17 but missing from its types.
      verbFlags = Object.keys((y as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key);
      return built;
    },
    handler: async (argv) => {
      try {
        await m.handler(argv);
      } catch (e) {
        exitWith(e);
      }
    },
  };
}

const verbs: Verb[] = [demo, info, importCmd, prune, train, finetune, evalCmd, predict, exportCmd];
const verbNames = verbs.map((v) => String(v.command).split(' ')[0]);

export interface RunOptions {
  /** false: yargs does not exit after --help/--version (in-process tests). Errors still exit. */
  exitProcess?: boolean;
  /** Help width; default the terminal's, at most 110 (110 when not a terminal). */
  width?: number;
}

export async function runCli(raw: string[], opts: RunOptions = {}): Promise<void> {
  collectedExamples.length = 0;
  verbFlags = [];
  // yargs prints help with console.log; with --help, that text gets the examples, unwrapped.
  const flagArgs = raw.includes('--') ? raw.slice(0, raw.indexOf('--')) : raw;
  const log = console.log;
  if (flagArgs.some((a) => a === '--help' || a === '-h')) {
    console.log = (first?: unknown, ...rest: unknown[]) => log(typeof first === 'string' ? withExamples(first, SCRIPT) : first, ...rest);
  }
  try {
    await buildCli(raw, opts.width ?? Math.min(110, process.stdout.columns || 110)).exitProcess(opts.exitProcess ?? true).parseAsync();
  } catch (e) {
    exitWith(e);
  } finally {
    console.log = log;
  }
}

function buildCli(raw: string[], width: number): Argv {
  let cli = withBackend(yargs(raw))
    .scriptName(SCRIPT)
    // Descriptions wrap at word boundaries (CommonJS cliui); examples are not wrapped (help-examples.ts).
    .wrap(width)
    .usage('$0 <verb> [options]\n\nYOLOv4 in TensorFlow.js: import, prune, fine-tune, evaluate and run it.');
  for (const v of verbs) cli = cli.command(verb(v));
  return cli
    .demandCommand(1, `Give a verb, e.g. \`${SCRIPT} info\`; see \`${SCRIPT} --help\`.`)
    .recommendCommands()
    .strict()
    // One table of ranges for every numeric flag of every verb (validate-flags.ts).
    .check((argv) => {
      validateNumericFlags(argv as Record<string, unknown>, String(argv._[0] ?? ''), raw);
      return true;
    }, true)
    .help()
    .alias('h', 'help')
    .version()
    .fail((msg, err) => {
      // Usage errors (unknown flags, failed checks, bad values) exit 2; errors from the work itself exit 1.
      if (err && !msg && !isUsageError(err) && (err as Error).name !== 'YError') exitWith(err);
      const text = msg ?? err?.message ?? 'bad usage';
      const hints = suggestFor(unknownArguments(text), verbFlags, verbNames, raw);
      console.error(`${SCRIPT}: ${text}${hints.map((h) => `\n${h}`).join('')}\n${USAGE_HINT}`);
      process.exit(2);
    });
}
