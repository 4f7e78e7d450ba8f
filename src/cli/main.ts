/** `yolo4 <verb>`: flags are parsed here and in one file per verb; the work is done by library code. */
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { withBackend } from './common.ts';
import info from './info.ts';
import importCmd from './import.ts';
import prune from './prune.ts';
import train from './train.ts';
import finetune from './finetune.ts';
import evalCmd from './eval.ts';
import predict from './predict.ts';
import demo from './demo.ts';
import exportCmd from './export.ts';

/** Errors from the work itself: one clear line and exit 1 (usage errors exit 2 in .fail below). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function reportingErrors(m: CommandModule<any, any>): CommandModule<any, any> {
  return {
    ...m,
    handler: async (argv) => {
      try {
        await m.handler(argv);
      } catch (e) {
        const err = e as Error;
        console.error(`yolo4: ${err.message}`);
        if (process.env.YOLO4_DEBUG) console.error(err.stack);
        process.exit(1);
      }
    },
  };
}

const cli = withBackend(yargs(hideBin(process.argv)))
  .scriptName('yolo4')
  .wrap(Math.min(110, process.stdout.columns || 110))
  .usage('$0 <verb> [options]\n\nYOLOv4 in TensorFlow.js: import, prune, fine-tune, evaluate and run it.')
  .command(reportingErrors(demo))
  .command(reportingErrors(info))
  .command(reportingErrors(importCmd))
  .command(reportingErrors(prune))
  .command(reportingErrors(train))
  .command(reportingErrors(finetune))
  .command(reportingErrors(evalCmd))
  .command(reportingErrors(predict))
  .command(reportingErrors(exportCmd));

try {
  await cli
    .demandCommand(1, 'Give a verb, e.g. `yolo4 info`; see `yolo4 --help`.')
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .fail((msg, err) => {
      // Usage errors (unknown flags, failed checks) exit 2; errors from the work itself exit 1 below.
      console.error(`yolo4: ${msg ?? err?.message}\nRun "yolo4 <verb> --help" for usage.`);
      process.exit(2);
    })
    .parseAsync();
} catch (e) {
  const err = e as Error;
  console.error(`yolo4: ${err.message}`);
  if (process.env.YOLO4_DEBUG) console.error(err.stack);
  process.exit(1);
}
