/**
 * Importing darknet models: `importDarknetCheckpoint` does the work (for `yolo4 import <file.cfg>`),
 * and the default export is a standalone verb `yolo4 import-darknet <cfg>` with the same flags.
 */
import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs';
import '../model/darknet-layers.ts'; // the checkpoint's custom layers
import { checkOutputTarget, saveCheckpoint } from '../io/checkpoint.ts';
import { countDarknetParams, importDarknet, OPENCV_BN_EPSILON, DARKNET_BN_EPSILON } from '../io/darknet/index.ts';
import { countNonTrainableParams, countTrainableParams } from '../model/yolov4.ts';
import { useBackend } from './common.ts';
import { INPUT_SIZE_ALIAS, withImgSizeAlias } from './img-size-flag.ts';

export interface DarknetImportArgs {
  /** The .cfg file. */
  cfg: string;
  /** The .weights file (random initialization without it). */
  weights?: string;
  /** Class names, one per line (e.g. coco.names). */
  names?: string;
  /** Checkpoint directory to write: new or empty, or an existing checkpoint with `force`. */
  out: string;
  force?: boolean;
  inputSize?: number;
  /** 'darknet' (1e-5, default), 'opencv' (1e-6) or a number. */
  bnEps?: string | number;
}

export function parseBnEps(v: string | number | undefined): number {
  if (v === undefined || v === 'darknet') return DARKNET_BN_EPSILON;
  if (v === 'opencv') return OPENCV_BN_EPSILON;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`--bn-eps must be darknet, opencv or a positive number, got ${JSON.stringify(v)}`);
  return n;
}

/** Imports a .cfg (+ .weights) and saves it as an ordinary checkpoint. Returns a one-line summary. */
export async function importDarknetCheckpoint(a: DarknetImportArgs): Promise<string> {
  await checkOutputTarget(a.out, { force: a.force }); // before the work, not after it
  const { model, config, network, header } = await importDarknet(a.cfg, a.weights, {
    namesFile: a.names, inputSize: a.inputSize, bnEpsilon: parseBnEps(a.bnEps),
  });
  try {
    const counts = countDarknetParams(network);
    await saveCheckpoint(a.out, model, config, {
      source: {
        kind: 'darknet', cfg: a.cfg, ...(a.weights ? { weights: a.weights } : {}), ...(a.names ? { names: a.names } : {}),
        ...(header ? { header } : {}), weightFloats: counts.weightFloats,
      },
      overwrite: Boolean(a.force),
    });
    const params = countTrainableParams(model);
    const stats = countNonTrainableParams(model);
    return `imported ${a.cfg}${a.weights ? ` + ${a.weights}` : ' (random weights)'}: ${network.layers.length} darknet layers, ` +
      `${counts.convs} convs, ${params.toLocaleString('en-US')} parameters + ${stats.toLocaleString('en-US')} BN statistics, ` +
      `${config.numClasses} classes, ${config.anchorMask.length} heads, input ${config.inputSize} -> ${a.out}`;
  } finally {
    model.dispose();
  }
}

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
    .option('bn-eps', { type: 'string', default: 'darknet', describe: 'BatchNorm epsilon: darknet (1e-5, as darknet computes), opencv (1e-6, as OpenCV\'s DNN module computes) or a number' });
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

async function handler(argv: ArgumentsCamelCase<DarknetImportArgs & { imgSize?: number; backend: string; threads: number }>): Promise<void> {
  await useBackend(argv.backend, argv.threads);
  console.log(await importDarknetCheckpoint({ ...argv, inputSize: argv.imgSize }));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export default { command, describe, builder, handler } as CommandModule<any, any>;
