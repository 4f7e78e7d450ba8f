import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs';
import { saveCheckpoint } from '../io/checkpoint.ts';
import { readClassNames } from '../io/load-weights.ts';
import { importTorchYolov4 } from '../io/torch-yolov4.ts';
import { countTrainableParams } from '../model/yolov4.ts';
import { useBackend } from './common.ts';

interface ImportArgs { file: string; out: string; classesFile?: string; inputSize?: number; backend: string }

const command = 'import <file>';
const describe = 'Convert PyTorch YOLOv4 weights (.pth: state_dict or whole model, zip or legacy) into a checkpoint';

function builder(y: Argv) {
  return y
    .positional('file', { type: 'string', describe: 'the .pth file', demandOption: true })
    .option('out', { type: 'string', demandOption: true, describe: 'checkpoint directory to write (replaced atomically)' })
    .option('classes-file', { type: 'string', describe: 'class names, one per line (default: COCO names for 80 classes)' })
    .option('input-size', { type: 'number', describe: 'default input size stored in the checkpoint (multiple of 32, default 416)' })
    .example('$0 import yolo4_weights.pth --out checkpoints/yolov4', 'widths are read from the tensor shapes, so pruned models import too');
}

async function handler(argv: ArgumentsCamelCase<ImportArgs>): Promise<void> {
  await useBackend(argv.backend);
  const classNames = argv.classesFile ? await readClassNames(argv.classesFile) : undefined;
  const { model, config, format, kind } = await importTorchYolov4(argv.file, { classNames, inputSize: argv.inputSize });
  await saveCheckpoint(argv.out, model, config, { source: { kind: 'pytorch', file: argv.file, format, content: kind } });
  console.log(`imported ${argv.file} (${format} ${kind}): ${countTrainableParams(model).toLocaleString('en-US')} parameters, ${config.numClasses} classes -> ${argv.out}`);
  model.dispose();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export default { command, describe, builder, handler } as CommandModule<any, any>;
