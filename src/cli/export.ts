/** `yolo4 export`: its flags; the work is jobs/export.ts' exportModel (darknet .cfg + .weights, or a tfjs directory). */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { exportModel, type ExportOptions } from '../jobs/export.ts';
import { useBackend } from './common.ts';
import { FORCE_FLAG } from './import-darknet.ts';
import { defineVerb, type GlobalFlags } from './verb.ts';

type ExportArgs = Required<ExportOptions> & GlobalFlags;

const command = 'export';
const describe = 'Write a checkpoint as darknet .cfg + .weights (for darknet and OpenCV) or as a tfjs model directory';

function builder(y: Argv) {
  return y
    .option('weights', { type: 'string', demandOption: true, describe: 'checkpoint directory (for darknet: one imported from a darknet .cfg, pruned or not)' })
    .option('format', { choices: ['darknet', 'tfjs'] as const, default: 'darknet' as const, describe: 'darknet: <out>.cfg + <out>.weights + <out>.names; tfjs: a model.json directory' })
    .option('out', { type: 'string', demandOption: true, describe: 'darknet: a path prefix (out/model -> out/model.cfg ...), or an existing directory / one ending in "/" (files named after the model); tfjs: the directory, new or empty. Never overwrites files it did not write' })
    .option('force', { ...FORCE_FLAG, describe: 'overwrite an earlier export at --out (only files yolo4 export wrote); never anything else' })
    .example('$0 export --weights checkpoints/fastest-pruned --format darknet --out exported/fastest-pruned', 'exported/fastest-pruned.cfg + .weights + .names')
    .example('$0 export --weights checkpoints/fastest-pruned --format tfjs --out web/model', 'web/model/model.json + weights.bin');
}

async function handler(argv: ArgumentsCamelCase<ExportArgs>): Promise<void> {
  await useBackend(argv.backend, argv.threads);
  console.log(await exportModel(argv));
}

export default defineVerb({ command, describe, builder, handler });
