/** The `yolo4` executable's entry (bin/yolo4.js imports it): the command line is in cli.ts. */
import { hideBin } from 'yargs/helpers';
import { runCli } from './cli.ts';

await runCli(hideBin(process.argv));
