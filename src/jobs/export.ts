/**
 * The export job: a checkpoint out of the project.
 * - darknet: `<prefix>.cfg` (pruned widths), `<prefix>.weights`, `<prefix>.names`, loadable by darknet and
 *   OpenCV's DNN module: a darknet import writes back its own cfg, a YOLOv4 yolov4.cfg's sections.
 * - pth: the reference PyTorch YoloBody's state dict, or with `whole` the pickled YoloBody itself.
 * - onnx: an ONNX model (input `images` NCHW, the three raw heads as outputs).
 * - tfjs: a tfjs layers model directory (model.json + weight files) plus the config and a README on
 *   loading it in a browser or Node.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import '../model/darknet-layers.ts'; // custom layers of darknet checkpoints
import { onCpuWithoutSyncReads } from '../backend/webgpu-sync-read.ts';
import { loadWeights } from '../io/load-weights.ts';
import { darknetExportPrefix, writeDarknetExport } from '../io/darknet-export-target.ts';
import { exportOnnx } from '../io/onnx/index.ts';
import { exportTorchYolov4 } from '../io/torch-yolov4-export.ts';
import { saveLayersModel } from '../io/model-files.ts';
import { checkOutputFolder, TFJS_EXPORT_FOLDER, TFJS_EXPORT_STAMP } from '../io/output-folder.ts';
import type { Yolov4Config } from '../model/config.ts';

export interface ExportOptions {
  /** Checkpoint directory. */
  weights: string;
  format: ExportFormat;
  /** darknet: a path prefix or a directory; pth/onnx: a file or a directory; tfjs: the directory, new or empty. */
  out: string;
  /** Overwrite an earlier export at `out` (only files an export wrote; for pth, a PyTorch checkpoint). */
  force?: boolean;
  /** pth: the whole pickled YoloBody (torch.save(model)) instead of its state dict. */
  whole?: boolean;
  /** onnx: the opset (13 to 21). */
  opset?: number;
}

export const EXPORT_FORMATS = ['darknet', 'pth', 'onnx', 'tfjs'] as const;
export type ExportFormat = typeof EXPORT_FORMATS[number];

const fmtBytes = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;

/** Exports the checkpoint and returns the line saying where it went. */
export async function exportModel(o: ExportOptions): Promise<string> {
  if (o.format === 'tfjs') await checkOutputFolder(o.out, TFJS_EXPORT_FOLDER, { force: o.force }); // before loading
  const { model, config } = await loadWeights(o.weights);
  // Exports only copy and reshape weights, reading them synchronously: on webgpu that runs on cpu.
  try {
    return await onCpuWithoutSyncReads(() => writeExport(o, model, config));
  } finally {
    model.dispose();
  }
}

async function writeExport(o: ExportOptions, model: tf.LayersModel, config: Yolov4Config): Promise<string> {
  if (o.format === 'darknet') {
    const out = await writeDarknetExport(model, config, o.out, { force: o.force });
    return `darknet model -> ${out.cfgPath}, ${out.weightsPath}, ${out.namesPath}`;
  }
  if (o.format === 'pth') {
    const file = await fileIn(o.out, config.name || model.name, '.pth');
    const out = await exportTorchYolov4(model, config, file, { whole: o.whole, force: o.force });
    return `PyTorch ${out.kind === 'module' ? 'whole model (torch.save(model))' : 'state dict'} -> ${out.path} (${fmtBytes(out.bytes)})`;
  }
  if (o.format === 'onnx') {
    const file = await fileIn(o.out, config.name || model.name, '.onnx');
    const out = await exportOnnx(model, config, file, { force: o.force, ...(o.opset !== undefined ? { opset: o.opset } : {}) });
    return `ONNX (opset ${out.opset}, input "${out.input.name}" [N, 3, H, W]) -> ${out.path} (${fmtBytes(out.bytes)})`;
  }
  await exportTfjs(model, config, o.out, { force: o.force });
  return `tfjs layers model -> ${path.join(o.out, 'model.json')} (see README.md there)`;
}

/** `out` itself, or `<out>/<name><ext>` when `out` is a directory or ends with "/". */
async function fileIn(out: string, name: string, ext: string): Promise<string> {
  const prefix = await darknetExportPrefix(out, name);
  return prefix === out ? out : `${prefix}${ext}`;
}

const TFJS_README = (config: Yolov4Config, classes: string[]) => `# ${config.name} as a TensorFlow.js layers model

${TFJS_EXPORT_STAMP} \`model.json\` + weight files load with any tfjs loader:

\`\`\`js
import * as tf from '@tensorflow/tfjs';
// Register the custom layers first (see below), then:
const model = await tf.loadLayersModel('https://example.com/model/model.json'); // or a file:// / IOHandler in Node
const outputs = model.predict(input); // input: [1, ${config.inputSize}, ${config.inputSize}, 3], RGB / 255, ${config.resizeMode === 'resize' ? 'plain resize' : 'letterboxed'}
\`\`\`

Custom layer classes the model may contain (register each with \`tf.serialization.registerClass\` before
loading; their code is in this project):
- \`Mish\` (src/model/mish.ts): x * tanh(softplus(x))
- \`ChannelSplit\` (src/model/darknet-layers.ts): channels [groupId * C / groups, (groupId + 1) * C / groups)
- \`DarknetYolo\` (src/model/darknet-layers.ts): the identity (carries darknet metadata)

Outputs: one tensor per detection head, [batch, H / stride, W / stride, anchors * (5 + classes)] raw logits
(channel a * (5 + C) + k: tx, ty, tw, th, objectness, class logits). Decoding: see src/predict/decode.ts;
\`config.json\` holds the anchors (input pixels), each head's anchor indices (anchorMask, in output order),
scaleXY and the ${classes.length} class names.
`;

/** Writes model.json + weights, config.json and README.md into `dir` (see TFJS_EXPORT_FOLDER for the rule). */
export async function exportTfjs(model: tf.LayersModel, config: Yolov4Config, dir: string, opts: { force?: boolean } = {}): Promise<void> {
  await checkOutputFolder(dir, TFJS_EXPORT_FOLDER, { force: opts.force });
  await fs.mkdir(dir, { recursive: true });
  await saveLayersModel(model, dir);
  await fs.writeFile(path.join(dir, 'config.json'), `${JSON.stringify(config, null, 1)}\n`);
  await fs.writeFile(path.join(dir, 'README.md'), TFJS_README(config, config.classNames));
}
