import * as path from 'node:path';
import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs';
import cliProgress from 'cli-progress';
import { formatStages, runDemo } from '../pipeline/demo.ts';
import type { Strategy } from '../prune/index.ts';
import { useBackend } from './common.ts';

interface DemoArgs { out: string; epochs: number; finetuneEpochs: number; amount: number; strategy: Strategy; imgSize: number; train: number; val: number; seed: number; backend: string }

const command = 'demo';
const describe = 'Run the whole pipeline on generated data: train, eval, prune, fine-tune, eval, predict';

function builder(y: Argv) {
  return y
    .option('out', { type: 'string', default: 'runs/demo', describe: 'where data, checkpoints and drawn predictions go' })
    .option('epochs', { type: 'number', default: 30, describe: 'training epochs' })
    .option('finetune-epochs', { type: 'number', default: 10, describe: 'fine-tuning epochs after pruning' })
    .option('amount', { type: 'number', default: 0.3, describe: 'fraction of every prunable group removed' })
    .option('strategy', { choices: ['independent', 'greedy'] as const, default: 'greedy' as Strategy, describe: 'multi-layer pruning strategy' })
    .option('img-size', { type: 'number', default: 128, describe: 'image and input size' })
    .option('train', { type: 'number', default: 160, describe: 'generated training images' })
    .option('val', { type: 'number', default: 32, describe: 'generated validation images' })
    .option('seed', { type: 'number', default: 1, describe: 'seed of data generation and training' });
}

async function handler(argv: ArgumentsCamelCase<DemoArgs>): Promise<void> {
  await useBackend(argv.backend);
  const bar = new cliProgress.SingleBar({ format: '  {epoch} |{bar}| {value}/{total} loss {loss} ETA {eta_formatted}', hideCursor: true }, cliProgress.Presets.shades_classic);
  const stages = await runDemo({
    outDir: path.resolve(argv.out), epochs: argv.epochs, finetuneEpochs: argv.finetuneEpochs, amount: argv.amount,
    strategy: argv.strategy, inputSize: argv.imgSize, trainImages: argv.train, valImages: argv.val, seed: argv.seed,
    log: (l) => console.error(l),
    hooks: {
      onEpochStart: (e, n) => bar.start(n, 0, { epoch: `epoch ${e + 1}`, loss: '-' }),
      onBatch: (p) => bar.update(p.batch, { loss: p.loss.toFixed(3) }),
      onEpochEnd: () => bar.stop(),
      log: (l) => console.error(l),
    },
  });
  console.log(formatStages(stages));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export default { command, describe, builder, handler } as CommandModule<any, any>;
