import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs';
import { trainFlags, runTraining } from './train-run.ts';

const command = 'train';
const describe = 'Train YOLOv4 on a dataset (the reference recipe by default)';

function builder(y: Argv) {
  return trainFlags(y, {})
    .example('$0 train --data datasets/shapes/dataset.json --config configs/yolov4-small.json --epochs 30 --img-size 256', 'from scratch')
    .example('$0 train --resume runs/exp', 'continue an interrupted run exactly (its dataset and settings are stored in it)')
    .example('$0 train --resume runs/exp --epochs 400', 'extend a run (the lr schedule is re-planned for 400 epochs)');
}

async function handler(argv: ArgumentsCamelCase<Record<string, unknown>>): Promise<void> {
  await runTraining('train', argv, {});
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export default { command, describe, builder, handler } as CommandModule<any, any>;
