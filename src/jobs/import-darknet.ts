/** Importing a darknet model (.cfg + .weights) as an ordinary checkpoint (`yolo4 import <file.cfg>`, `yolo4 import-darknet`). */
import '../model/darknet-layers.ts'; // the checkpoint's custom layers
import { checkOutputTarget, saveCheckpoint } from '../io/checkpoint.ts';
import { countDarknetParams, importDarknet, OPENCV_BN_EPSILON, DARKNET_BN_EPSILON, type DarknetLayout } from '../io/darknet/index.ts';
import { countNonTrainableParams, countTrainableParams } from '../model/yolov4.ts';
import { JobOptionError } from './errors.ts';

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
  /** 'auto' (default): our YOLOv4 when the cfg has its structure; 'darknet': the generic graph; 'yolov4': YOLOv4 or an error. */
  layout?: DarknetLayout;
}

export function parseBnEps(v: string | number | undefined): number {
  if (v === undefined || v === 'darknet') return DARKNET_BN_EPSILON;
  if (v === 'opencv') return OPENCV_BN_EPSILON;
  const n = Number(v);
  if (!(n > 0)) throw new JobOptionError(`--bn-eps must be darknet, opencv or a positive number, got ${JSON.stringify(v)}`);
  return n;
}

/** Imports a .cfg (+ .weights) and saves it as an ordinary checkpoint. Returns a one-line summary. */
export async function importDarknetCheckpoint(a: DarknetImportArgs): Promise<string> {
  await checkOutputTarget(a.out, { force: a.force }); // before the work, not after it
  const { model, config, network, header, layout } = await importDarknet(a.cfg, a.weights, {
    namesFile: a.names, inputSize: a.inputSize, bnEpsilon: parseBnEps(a.bnEps), layout: a.layout,
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
    return `imported ${a.cfg}${a.weights ? ` + ${a.weights}` : ' (random weights)'}: ${network.layers.length} darknet layers${layout === 'yolov4' ? ' as YOLOv4 (reference layer names)' : ''}, ` +
      `${counts.convs} convs, ${params.toLocaleString('en-US')} parameters + ${stats.toLocaleString('en-US')} BN statistics, ` +
      `${config.numClasses} classes, ${config.anchorMask.length} heads, input ${config.inputSize} -> ${a.out}`;
  } finally {
    model.dispose();
  }
}
