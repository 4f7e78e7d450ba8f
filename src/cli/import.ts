import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs';
import { checkOutputTarget, saveCheckpoint } from '../io/checkpoint.ts';
import { readClassNames } from '../io/load-weights.ts';
import { importTorchYolov4 } from '../io/torch-yolov4.ts';
import { countTrainableParams } from '../model/yolov4.ts';
import { useBackend } from './common.ts';
import { darknetImportFlags, FORCE_FLAG, importDarknetCheckpoint } from './import-darknet.ts';

interface ImportArgs { file: string; out: string; force: boolean; classesFile?: string; imgSize?: number; weights?: string; names?: string; bnEps?: string; backend: string; threads: number }

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
  await checkOutputTarget(argv.out, { force: argv.force }); // before the work, not after it
  const namesFile = argv.classesFile ?? argv.names;
  if (argv.file.toLowerCase().endsWith('.cfg')) {
    console.log(await importDarknetCheckpoint({ cfg: argv.file, weights: argv.weights, names: namesFile, out: argv.out, force: argv.force, inputSize: argv.imgSize, bnEps: argv.bnEps }));
    return;
  }
  if (argv.weights) throw new Error('--weights goes with a darknet .cfg; for PyTorch give the .pth file itself');
  const classNames = namesFile ? await readClassNames(namesFile) : undefined;
  const { model, config, format, kind } = await importTorchYolov4(argv.file, { classNames, inputSize: argv.imgSize });
  await saveCheckpoint(argv.out, model, config, { source: { kind: 'pytorch', file: argv.file, format, content: kind }, overwrite: argv.force });
  console.log(`imported ${argv.file} (${format} ${kind}): ${countTrainableParams(model).toLocaleString('en-US')} parameters, ${config.numClasses} classes -> ${argv.out}`);
  model.dispose();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export default { command, describe, builder, handler } as CommandModule<any, any>;
