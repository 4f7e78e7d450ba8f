/** Verbs whose issues have not landed yet: registered so --help lists them, honest when run. */
import type { CommandModule } from 'yargs';
import { NotImplementedYet } from './common.ts';

const pending: [string, string, string][] = [
  ['train', 'Train YOLOv4 on a dataset', 'issue 4: training and fine-tuning'],
  ['finetune', 'Fine-tune a (pruned) checkpoint', 'issue 4: training and fine-tuning'],
  ['eval', 'COCO mAP of a checkpoint on a dataset, or of a detections file', 'issue 5: evaluation and prediction'],
  ['predict', 'Detect objects in images or a video', 'issue 5: evaluation and prediction'],
];

export function pendingCommands(skip: Set<string>): CommandModule[] {
  return pending.filter(([verb]) => !skip.has(verb)).map(([verb, describe, issue]) => ({
    command: verb,
    describe: `${describe} (not implemented yet)`,
    builder: (y) => y.strict(false),
    handler: () => {
      throw new NotImplementedYet(verb, issue);
    },
  }));
}
