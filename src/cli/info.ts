/** `yolo4 info`: its flags; the work is jobs/info.ts' modelInfo. */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { modelInfo, type InfoOptions } from '../jobs/info.ts';
import { useBackend } from './common.ts';
import { INPUT_SIZE_ALIAS, withImgSizeAlias } from './img-size-flag.ts';
import { defineVerb, type GlobalFlags } from './verb.ts';

const command = 'info';
const describe = 'Parameters, FLOPs and a per-layer table of a checkpoint, a .pth file or a config';

function builder(y: Argv) {
  return withImgSizeAlias(y)
    .option('weights', { type: 'string', describe: 'checkpoint directory or PyTorch .pth file' })
    .option('config', { type: 'string', describe: 'model config JSON (used when --weights is not given; default: the standard 80-class YOLOv4)' })
    .option('img-size', { type: 'number', describe: 'input size for FLOPs and output shapes (default: the model\'s)' })
    .option('input-size', INPUT_SIZE_ALIAS)
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object instead of tables' })
    .option('all-layers', { type: 'boolean', default: false, describe: 'list every layer, not only those with weights' })
    .example('$0 info', 'the standard YOLOv4: 64,363,101 parameters')
    .example('$0 info --weights checkpoints/pruned --img-size 608 --json', 'machine-readable');
}

async function handler(argv: ArgumentsCamelCase<InfoOptions & GlobalFlags>): Promise<void> {
  await useBackend(argv.backend, argv.threads);
  await modelInfo(argv);
}

export default defineVerb({ command, describe, builder, handler });
