import type { Argv, ArgumentsCamelCase } from 'yargs';
import { DEFAULT_FINETUNE_SETTINGS } from '../train/settings.ts';
import { runTraining } from '../jobs/train-run.ts';
import type { TrainRunOptions } from '../jobs/train-options.ts';
import { trainFlags } from './train-flags.ts';
import { defineVerb, type GlobalFlags } from './verb.ts';

const command = 'finetune';
const describe = 'Fine-tune a (pruned) checkpoint: constant lr 1e-3 as in Li et al. by default';

function builder(y: Argv) {
  return trainFlags(y, DEFAULT_FINETUNE_SETTINGS)
    .example('$0 finetune --weights checkpoints/pruned --data datasets/tinycoco.json --epochs 10', 'retrain after pruning');
}

async function handler(argv: ArgumentsCamelCase<TrainRunOptions & GlobalFlags>): Promise<void> {
  await runTraining('finetune', argv, DEFAULT_FINETUNE_SETTINGS);
}

export default defineVerb({ command, describe, builder, handler });
