import type { Argv, ArgumentsCamelCase } from 'yargs';
import { loadWeights } from '../io/load-weights.ts';
import { loadConfigFile, resolveConfig, type Yolov4Config } from '../model/config.ts';
import { buildYolov4 } from '../model/yolov4.ts';
import { formatSummaryTable, summarizeModel } from '../model/summary.ts';
import { useBackend } from './common.ts';
import { defineVerb, type GlobalFlags } from './verb.ts';
import { INPUT_SIZE_ALIAS, withImgSizeAlias } from './img-size-flag.ts';

interface InfoArgs extends GlobalFlags { weights?: string; config?: string; imgSize?: number; json: boolean; allLayers: boolean }

const command = 'info';
const describe = 'Parameters, FLOPs and a per-layer table of a checkpoint, a .pth file or a config';

function builder(y: Argv) {
  return withImgSizeAlias(y)
    .option('weights', { type: 'string', describe: 'checkpoint directory or PyTorch .pth file' })
    .option('config', { type: 'string', describe: 'model config JSON (used when --weights is not given; default: the standard 80-class YOLOv4)' })
    .option('img-size', { type: 'number', describe: 'input size for FLOPs and output shapes (default: the model\'s)' })
    .option('input-size', INPUT_SIZE_ALIAS)
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object instead of tables' })
    .option('all-layers', { type: 'boolean', default: false, describe: 'list every layer, not only those with weights' })
    .example('$0 info', 'the standard YOLOv4: 64,363,101 parameters')
    .example('$0 info --weights checkpoints/pruned --img-size 608 --json', 'machine-readable');
}

async function handler(argv: ArgumentsCamelCase<InfoArgs>): Promise<void> {
  await useBackend(argv.backend, argv.threads);
  let config: Yolov4Config;
  let model;
  let pruningSteps = 0;
  if (argv.weights) {
    const loaded = await loadWeights(argv.weights);
    ({ model, config } = loaded);
    pruningSteps = loaded.pruning.length;
  } else {
    config = argv.config ? loadConfigFile(argv.config) : resolveConfig({});
    model = buildYolov4(config);
  }
  const inputSize = argv.imgSize ?? config.inputSize; // --img-size is checked in cli/validate-flags.ts
  const summary = summarizeModel(model, inputSize);
  if (argv.json) {
    console.log(JSON.stringify({
      name: config.name,
      params: summary.params,
      nonTrainableParams: summary.nonTrainableParams,
      flops: summary.flops,
      macs: summary.macs,
      flopsConvention: '2 x multiply-adds of conv layers',
      inputSize,
      numClasses: config.numClasses,
      blocks: config.blocks,
      pruningSteps,
      layers: summary.layers
        .filter((l) => argv.allLayers || l.params + l.nonTrainableParams > 0)
        .map((l) => ({ name: l.name, type: l.className, kernel: l.kernel, stride: l.stride, in: l.inChannels, out: l.outChannels, output: [l.outHeight, l.outWidth, l.outChannels], params: l.params + l.nonTrainableParams, macs: l.macs })),
    }));
  } else {
    console.log(formatSummaryTable(summary, { all: argv.allLayers }));
    console.log('');
    console.log(`model:        ${config.name} (${config.numClasses} classes, blocks [${config.blocks}], ${pruningSteps} pruning records)`);
    console.log(`parameters:   ${summary.params.toLocaleString('en-US')} trainable + ${summary.nonTrainableParams.toLocaleString('en-US')} BN running statistics`);
    console.log(`FLOPs:        ${(summary.flops / 1e9).toFixed(2)} G at ${inputSize}x${inputSize} (2 x ${(summary.macs / 1e9).toFixed(2)} G multiply-adds, convs only)`);
  }
  model.dispose();
}

export default defineVerb({ command, describe, builder, handler });
