import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs';
import { DEFAULT_FINETUNE_SETTINGS } from '../train/settings.ts';
import { trainFlags, runTraining } from './train-run.ts';

const command = 'finetune';
const describe = 'Fine-tune a (pruned) checkpoint: constant lr 1e-3 as in Li et al. by default';

function builder(y: Argv) {
  return trainFlags(y, DEFAULT_FINETUNE_SETTINGS)
    .example('$0 finetune --weights checkpoints/pruned --data datasets/tinycoco.json --epochs 10', 'retrain after pruning');
}

async function handler(argv: ArgumentsCamelCase<Record<string, unknown>>): Promise<void> {
  await runTraining('finetune', argv, DEFAULT_FINETUNE_SETTINGS);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export default { command, describe, builder, handler } as CommandModule<any, any>;
