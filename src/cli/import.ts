/** `yolo4 import <file>`: its flags; the work is jobs/import.ts' importModel (.pth or darknet .cfg). */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { importModel } from '../jobs/import.ts';
import { useBackend } from './common.ts';
import { darknetImportFlags, FORCE_FLAG } from './import-darknet.ts';
import type { DarknetLayout } from '../io/darknet/index.ts';
import { defineVerb, type GlobalFlags } from './verb.ts';

interface ImportArgs extends GlobalFlags { file: string; out: string; force: boolean; classesFile?: string; imgSize?: number; weights?: string; names?: string; bnEps?: string; layout: DarknetLayout }

const command = 'import <file>';
const describe = 'Convert PyTorch YOLOv4 weights (.pth) or a darknet model (.cfg + --weights) into a checkpoint';

function builder(y: Argv) {
  return darknetImportFlags(y)
    .positional('file', { type: 'string', demandOption: true, describe: 'a PyTorch .pth (state_dict or whole model, zip or legacy) or a darknet .cfg' })
    .option('out', { type: 'string', demandOption: true, describe: 'checkpoint directory to write: new or empty (an existing checkpoint needs --force)' })
    .option('force', FORCE_FLAG)
    .option('classes-file', { type: 'string', describe: 'class names, one per line (default: COCO names for 80 classes); same as --names' })
    .example('$0 import yolo4_weights.pth --out checkpoints/yolov4', 'widths are read from the tensor shapes, so pruned models import too')
    .example('$0 import yolov4-tiny.cfg --weights yolov4-tiny.weights --names coco.names --out checkpoints/tiny', 'a darknet model');
}

async function handler(argv: ArgumentsCamelCase<ImportArgs>): Promise<void> {
  await useBackend(argv.backend, argv.threads);
  console.log(await importModel({
    file: argv.file, out: argv.out, force: argv.force, namesFile: argv.classesFile ?? argv.names, inputSize: argv.imgSize, weights: argv.weights, bnEps: argv.bnEps, layout: argv.layout,
  }));
}

export default defineVerb({ command, describe, builder, handler });
