/**
 * `yolo4 import-darknet <cfg>`: its flags (shared with `yolo4 import <file.cfg>`); the work is
 * jobs/import-darknet.ts' importDarknetCheckpoint.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { importDarknetCheckpoint, type DarknetImportArgs } from '../jobs/import-darknet.ts';
import { useBackend } from './common.ts';
import { INPUT_SIZE_ALIAS, withImgSizeAlias } from './img-size-flag.ts';
import { defineVerb, type GlobalFlags } from './verb.ts';

/** `--force` of every verb that writes a checkpoint to --out. */
export const FORCE_FLAG = {
  type: 'boolean', default: false, describe: 'overwrite an existing checkpoint at --out; never anything else',
} as const;

/** Flags shared with `yolo4 import <file.cfg>`. */
export function darknetImportFlags<T>(y: Argv<T>) {
  return withImgSizeAlias(y)
    .option('weights', { type: 'string', describe: 'darknet .weights file for the .cfg (without it the weights are random)' })
    .option('names', { type: 'string', describe: 'class names, one per line, e.g. coco.names (default: COCO names for 80 classes)' })
    .option('img-size', { type: 'number', describe: 'input size stored in the checkpoint, a multiple of 32 (default: the cfg\'s width = height)' })
    .option('input-size', INPUT_SIZE_ALIAS)
    .option('bn-eps', { type: 'string', default: 'darknet', describe: 'BatchNorm epsilon: darknet (1e-5, as darknet computes), opencv (1e-6, as OpenCV\'s DNN module computes) or a number' })
    .option('layout', {
      choices: ['auto', 'darknet', 'yolov4'] as const, default: 'auto' as const,
      describe: 'auto: a cfg with YOLOv4\'s structure (AlexeyAB\'s yolov4.cfg, any widths and classes) becomes our YOLOv4 with the reference layer names (conv2.0, backbone.stages.4...), any other a generic darknet graph (conv_0, conv_1...); darknet: always the generic graph; yolov4: YOLOv4 or an error saying why not',
    });
}

const command = 'import-darknet <cfg>';
const describe = 'Convert a darknet model (.cfg + .weights) into a checkpoint that info/prune/finetune/eval/predict/export use';

function builder(y: Argv) {
  return darknetImportFlags(y)
    .positional('cfg', { type: 'string', demandOption: true, describe: 'the darknet .cfg file' })
    .option('out', { type: 'string', demandOption: true, describe: 'checkpoint directory to write: new or empty (an existing checkpoint needs --force)' })
    .option('force', FORCE_FLAG)
    .example('$0 import-darknet yolov4-tiny.cfg --weights yolov4-tiny.weights --names coco.names --out checkpoints/tiny', 'a darknet model as a checkpoint');
}

async function handler(argv: ArgumentsCamelCase<DarknetImportArgs & { imgSize?: number } & GlobalFlags>): Promise<void> {
  await useBackend(argv.backend, argv.threads);
  console.log(await importDarknetCheckpoint({ ...argv, inputSize: argv.imgSize }));
}

export default defineVerb({ command, describe, builder, handler });
