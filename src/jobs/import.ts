/**
 * The import job: PyTorch YOLOv4 weights (.pth) or a darknet model (.cfg + weights) saved as a
 * checkpoint that info/prune/finetune/eval/predict/export use.
 */
import { checkOutputTarget, saveCheckpoint } from '../io/checkpoint.ts';
import { readClassNames } from '../io/load-weights.ts';
import { importTorchYolov4 } from '../io/torch-yolov4.ts';
import type { DarknetLayout } from '../io/darknet/index.ts';
import { countTrainableParams } from '../model/yolov4.ts';
import { JobOptionError } from './errors.ts';
import { importDarknetCheckpoint } from './import-darknet.ts';

export interface ImportOptions {
  /** A PyTorch .pth (state_dict or whole model) or a darknet .cfg. */
  file: string;
  /** Checkpoint directory to write: new or empty, or an existing checkpoint with `force`. */
  out: string;
  force?: boolean;
  /** Class names, one per line (default: COCO names for 80 classes). */
  namesFile?: string;
  inputSize?: number;
  /** Darknet only: the .weights file and the BatchNorm epsilon ('darknet', 'opencv' or a number). */
  weights?: string;
  bnEps?: string;
  /** Darknet only: which graph to build (see importDarknet). */
  layout?: DarknetLayout;
}

/** Imports the file and saves it as a checkpoint; returns the one-line summary. */
export async function importModel(o: ImportOptions): Promise<string> {
  await checkOutputTarget(o.out, { force: o.force }); // before the work, not after it
  if (o.file.toLowerCase().endsWith('.cfg')) {
    return importDarknetCheckpoint({ cfg: o.file, weights: o.weights, names: o.namesFile, out: o.out, force: o.force, inputSize: o.inputSize, bnEps: o.bnEps, layout: o.layout });
  }
  if (o.weights) throw new JobOptionError('--weights goes with a darknet .cfg; for PyTorch give the .pth file itself');
  const classNames = o.namesFile ? await readClassNames(o.namesFile) : undefined;
  const { model, config, format, kind } = await importTorchYolov4(o.file, { classNames, inputSize: o.inputSize });
  try {
    await saveCheckpoint(o.out, model, config, { source: { kind: 'pytorch', file: o.file, format, content: kind }, overwrite: o.force });
    return `imported ${o.file} (${format} ${kind}): ${countTrainableParams(model).toLocaleString('en-US')} parameters, ${config.numClasses} classes -> ${o.out}`;
  } finally {
    model.dispose();
  }
}
