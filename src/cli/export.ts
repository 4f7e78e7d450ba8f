/**
 * `yolo4 export`: a checkpoint out of the project.
 * - `--format darknet`: `<prefix>.cfg` (pruned widths), `<prefix>.weights`, `<prefix>.names`, loadable by
 *   darknet and OpenCV's DNN module. Only for models imported from darknet (the cfg travels inside them).
 * - `--format tfjs`: a tfjs layers model directory (model.json + weight files) plus the config and a README
 *   on loading it in a browser or Node.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs';
import type * as tf from '@tensorflow/tfjs';
import '../model/darknet-layers.ts'; // custom layers of darknet checkpoints
import { loadWeights } from '../io/load-weights.ts';
import { writeDarknetExport } from '../io/darknet-export-target.ts';
import { saveLayersModel } from '../io/model-files.ts';
import { checkOutputFolder, TFJS_EXPORT_FOLDER, TFJS_EXPORT_STAMP } from '../io/output-folder.ts';
import type { Yolov4Config } from '../model/config.ts';
import { useBackend } from './common.ts';
import { FORCE_FLAG } from './import-darknet.ts';

interface ExportArgs { weights: string; format: 'darknet' | 'tfjs'; out: string; force: boolean; backend: string; threads: number }

const command = 'export';
const describe = 'Write a checkpoint as darknet .cfg + .weights (for darknet and OpenCV) or as a tfjs model directory';

function builder(y: Argv) {
  return y
    .option('weights', { type: 'string', demandOption: true, describe: 'checkpoint directory (for darknet: one imported from a darknet .cfg, pruned or not)' })
    .option('format', { choices: ['darknet', 'tfjs'] as const, default: 'darknet' as const, describe: 'darknet: <out>.cfg + <out>.weights + <out>.names; tfjs: a model.json directory' })
    .option('out', { type: 'string', demandOption: true, describe: 'darknet: a path prefix (out/model -> out/model.cfg ...), or an existing directory / one ending in "/" (files named after the model); tfjs: the directory, new or empty. Never overwrites files it did not write' })
    .option('force', { ...FORCE_FLAG, describe: 'overwrite an earlier export at --out (only files yolo4 export wrote); never anything else' })
    .example('$0 export --weights checkpoints/fastest-pruned --format darknet --out exported/fastest-pruned', 'exported/fastest-pruned.cfg + .weights + .names')
    .example('$0 export --weights checkpoints/fastest-pruned --format tfjs --out web/model', 'web/model/model.json + weights.bin');
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

async function handler(argv: ArgumentsCamelCase<ExportArgs>): Promise<void> {
  await useBackend(argv.backend, argv.threads);
  if (argv.format === 'tfjs') await checkOutputFolder(argv.out, TFJS_EXPORT_FOLDER, { force: argv.force }); // before loading
  const { model, config } = await loadWeights(argv.weights);
  try {
    if (argv.format === 'darknet') {
      const out = await writeDarknetExport(model, config, argv.out, { force: argv.force });
      console.log(`darknet model -> ${out.cfgPath}, ${out.weightsPath}, ${out.namesPath}`);
    } else {
      await exportTfjs(model, config, argv.out, { force: argv.force });
      console.log(`tfjs layers model -> ${path.join(argv.out, 'model.json')} (see README.md there)`);
    }
  } finally {
    model.dispose();
  }
}

/** Writes model.json + weights, config.json and README.md into `dir` (see TFJS_EXPORT_FOLDER for the rule). */
export async function exportTfjs(model: tf.LayersModel, config: Yolov4Config, dir: string, opts: { force?: boolean } = {}): Promise<void> {
  await checkOutputFolder(dir, TFJS_EXPORT_FOLDER, { force: opts.force });
  await fs.mkdir(dir, { recursive: true });
  await saveLayersModel(model, dir);
  await fs.writeFile(path.join(dir, 'config.json'), `${JSON.stringify(config, null, 1)}\n`);
  await fs.writeFile(path.join(dir, 'README.md'), TFJS_README(config, config.classNames));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export default { command, describe, builder, handler } as CommandModule<any, any>;
