import type { Argv, ArgumentsCamelCase } from 'yargs';
import { runTraining } from '../jobs/train-run.ts';
import type { TrainRunOptions } from '../jobs/train-options.ts';
import { trainFlags } from './train-flags.ts';
import { defineVerb, type GlobalFlags } from './verb.ts';

const command = 'train';
const describe = 'Train YOLOv4 on a dataset (the reference recipe by default)';

function builder(y: Argv) {
  return trainFlags(y, {})
    .example('$0 train --data datasets/shapes/dataset.json --config configs/yolov4-small.json --epochs 30 --img-size 256', 'from scratch')
    .example('$0 train --resume runs/exp', 'continue an interrupted run exactly (its dataset and settings are stored in it)')
    .example('$0 train --resume runs/exp --epochs 400', 'extend a run (the lr schedule is re-planned for 400 epochs)');
}

async function handler(argv: ArgumentsCamelCase<TrainRunOptions & GlobalFlags>): Promise<void> {
  await runTraining('train', argv, {});
}

export default defineVerb({ command, describe, builder, handler });
