/** The info job: parameters, FLOPs and a per-layer table of a checkpoint, a .pth file or a config (or one JSON object). */
import { resolveConfig } from '../model/config.ts';
import { formatSummaryTable, summarizeModel } from '../model/summary.ts';
import { openModel, type ModelSource } from './open-model.ts';

export interface InfoOptions extends ModelSource {
  /** Input size for FLOPs and output shapes (default: the model's). */
  imgSize?: number;
  json: boolean;
  /** Every layer in the table, not only those with weights. */
  allLayers: boolean;
}

export async function modelInfo(o: InfoOptions): Promise<void> {
  // Without --weights or --config: the standard 80-class YOLOv4.
  const { model, config, pruning } = await openModel(o, () => resolveConfig({}));
  const pruningSteps = pruning.length;
  const inputSize = o.imgSize ?? config.inputSize; // --img-size is checked by the CLI (cli/validate-flags.ts)
  const summary = summarizeModel(model, inputSize);
  if (o.json) {
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
        .filter((l) => o.allLayers || l.params + l.nonTrainableParams > 0)
        .map((l) => ({ name: l.name, type: l.className, kernel: l.kernel, stride: l.stride, in: l.inChannels, out: l.outChannels, output: [l.outHeight, l.outWidth, l.outChannels], params: l.params + l.nonTrainableParams, macs: l.macs })),
    }));
  } else {
    console.log(formatSummaryTable(summary, { all: o.allLayers }));
    console.log('');
    console.log(`model:        ${config.name} (${config.numClasses} classes, blocks [${config.blocks}], ${pruningSteps} pruning records)`);
    console.log(`parameters:   ${summary.params.toLocaleString('en-US')} trainable + ${summary.nonTrainableParams.toLocaleString('en-US')} BN running statistics`);
    console.log(`FLOPs:        ${(summary.flops / 1e9).toFixed(2)} G at ${inputSize}x${inputSize} (2 x ${(summary.macs / 1e9).toFixed(2)} G multiply-adds, convs only)`);
  }
  model.dispose();
}
