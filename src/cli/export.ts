/** `yolo4 export`: its flags; the work is jobs/export.ts' exportModel (darknet, PyTorch .pth, ONNX or tfjs). */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { EXPORT_FORMATS, exportModel, type ExportOptions } from '../jobs/export.ts';
import { useBackend } from './common.ts';
import { FORCE_FLAG } from './import-darknet.ts';
import { defineVerb, type GlobalFlags } from './verb.ts';

type ExportArgs = Required<Omit<ExportOptions, 'opset'>> & Pick<ExportOptions, 'opset'> & GlobalFlags;

const command = 'export';
const describe = 'Write a checkpoint as darknet .cfg + .weights (darknet, OpenCV), PyTorch .pth, ONNX, or a tfjs model directory';

function builder(y: Argv) {
  return y
    .option('weights', { type: 'string', demandOption: true, describe: 'checkpoint directory (pruned or not)' })
    .option('format', {
      choices: EXPORT_FORMATS, default: 'darknet' as const,
      describe: 'darknet: <out>.cfg + .weights + .names (a darknet import writes back its own cfg, a YOLOv4 yolov4.cfg\'s sections); pth: PyTorch, the reference YoloBody\'s keys (YOLOv4 only); onnx: input "images" [N,3,H,W], the raw heads as outputs; tfjs: a model.json directory',
    })
    .option('out', { type: 'string', demandOption: true, describe: 'darknet: a path prefix (out/model -> out/model.cfg ...); pth/onnx: the file; for these three, an existing directory or one ending in "/" takes files named after the model. tfjs: the directory, new or empty. Missing folders are created; files are written whole, then renamed into place' })
    .option('whole', { type: 'boolean', default: false, describe: 'pth: save the whole pickled YoloBody (torch.save(model)) with its pruned widths, instead of the state dict; loading it needs the reference\'s nets package' })
    .option('opset', { type: 'number', describe: 'onnx: the opset, 13 (default) to 21; from 18 on Mish is one ONNX operator' })
    .option('force', { ...FORCE_FLAG, describe: 'overwrite an earlier export at --out (only files yolo4 export wrote; for pth, a PyTorch checkpoint); never anything else' })
    .example('$0 export --weights checkpoints/fastest-pruned --format darknet --out exported/fastest-pruned', 'exported/fastest-pruned.cfg + .weights + .names')
    .example('$0 export --weights checkpoints/yolov4-pruned --format pth --whole --out exported/yolov4-pruned.pth', 'torch.load(..., weights_only=False) gives a pruned YoloBody')
    .example('$0 export --weights checkpoints/yolov4-pruned --format onnx --out exported/yolov4-pruned.onnx', 'for onnxruntime, TensorRT, OpenVINO')
    .example('$0 export --weights checkpoints/fastest-pruned --format tfjs --out web/model', 'web/model/model.json + weights.bin');
}

async function handler(argv: ArgumentsCamelCase<ExportArgs>): Promise<void> {
  await useBackend(argv.backend, argv.threads);
  console.log(await exportModel(argv));
}

export default defineVerb({ command, describe, builder, handler });
