import * as path from 'node:path';
import type { Argv, ArgumentsCamelCase } from 'yargs';
import cliProgress from 'cli-progress';
import { formatStages, runDemo } from '../jobs/demo.ts';
import type { Strategy } from '../prune/index.ts';
import { useBackend } from './common.ts';
import { defineVerb, type GlobalFlags } from './verb.ts';

interface DemoArgs extends GlobalFlags { out: string; epochs: number; amount: number; strategy: Strategy }

const command = 'demo';
const describe = 'The main job on shipped data: import Yolo-Fastest (COCO), eval, prune, eval, fine-tune, eval, predict';

function builder(y: Argv) {
  return y
    .option('out', { type: 'string', default: 'runs/demo', describe: 'where checkpoints and drawn predictions go: new, empty, or an earlier demo\'s folder (nothing else is written over)' })
    .option('epochs', { type: 'number', default: 2, describe: 'fine-tuning epochs after pruning (0: skip)' })
    .option('amount', { type: 'number', default: 0.1, describe: 'fraction of every prunable group removed (Yolo-Fastest is already tiny: 0.3 leaves AP at 0 before fine-tuning)' })
    .option('strategy', { choices: ['independent', 'greedy'] as const, default: 'greedy' as Strategy, describe: 'multi-layer pruning strategy' });
}

async function handler(argv: ArgumentsCamelCase<DemoArgs>): Promise<void> {
  await useBackend(argv.backend, argv.threads);
  const bar = new cliProgress.SingleBar({ format: '  {epoch} |{bar}| {value}/{total} loss {loss} ETA {eta_formatted}', hideCursor: true }, cliProgress.Presets.shades_classic);
  const stages = await runDemo({
    outDir: path.resolve(argv.out), finetuneEpochs: argv.epochs, amount: argv.amount, strategy: argv.strategy,
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

export default defineVerb({ command, describe, builder, handler });
