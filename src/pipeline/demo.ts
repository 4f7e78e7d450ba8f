/**
 * The main job end to end on data generated on the spot, so it runs anywhere without downloads:
 * synthetic shapes -> train a scaled-down YOLOv4 -> eval -> prune (L1, all groups) -> eval ->
 * fine-tune -> eval -> predict. Every stage uses the same library calls as the CLI verbs.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { generateShapesDataset } from '../data/shapes.ts';
import { loadDatasetConfig, openDataset } from '../data/dataset-config.ts';
import type { Dataset } from '../data/types.ts';
import { evaluateModelOnDataset } from '../eval/evaluate-model.ts';
import { saveCheckpoint } from '../io/checkpoint.ts';
import { resolveConfig, type Yolov4Config } from '../model/config.ts';
import { summarizeModel } from '../model/summary.ts';
import { buildYolov4 } from '../model/yolov4.ts';
import { predictImages } from '../predict/predict-images.ts';
import { applyPlan, planPruning, type Strategy } from '../prune/index.ts';
import { resolveTrainSettings, type TrainSettings } from '../train/settings.ts';
import { trainModel, type TrainHooks } from '../train/trainer.ts';

export interface DemoOptions {
  outDir: string;
  epochs: number;
  finetuneEpochs: number;
  amount: number;
  strategy: Strategy;
  inputSize: number;
  trainImages: number;
  valImages: number;
  seed: number;
  log: (line: string) => void;
  hooks?: TrainHooks;
}

export interface DemoStage {
  stage: string;
  params: number;
  gflops: number;
  AP: number;
  AP50: number;
}

async function measure(stage: string, model: tf.LayersModel, config: Yolov4Config, val: Dataset, size: number): Promise<DemoStage> {
  const s = summarizeModel(model, size);
  const ev = await evaluateModelOnDataset(model, config, val, { inputSize: size, batchSize: 8 });
  return { stage, params: s.params, gflops: s.flops / 1e9, AP: ev.result.stats.AP, AP50: ev.result.stats.AP50 };
}

export function formatStages(stages: DemoStage[]): string {
  const head = '| stage | parameters | GFLOPs | AP | AP50 |\n|---|---|---|---|---|';
  const rows = stages.map((s) => `| ${s.stage} | ${s.params.toLocaleString('en-US')} | ${s.gflops.toFixed(3)} | ${s.AP.toFixed(4)} | ${s.AP50.toFixed(4)} |`);
  return [head, ...rows].join('\n');
}

export async function runDemo(o: DemoOptions): Promise<DemoStage[]> {
  const dataDir = path.join(o.outDir, 'shapes');
  o.log(`1/6 generating ${o.trainImages}+${o.valImages} synthetic images in ${dataDir}`);
  const gen = await generateShapesDataset({ outDir: dataDir, train: o.trainImages, val: o.valImages, size: o.inputSize, seed: o.seed });
  const dataConfig = await loadDatasetConfig(gen.configPath!);
  const train = await openDataset(dataConfig, 'train');
  const val = await openDataset(dataConfig, 'val');

  const config = resolveConfig({
    name: 'yolov4-demo', widthMultiplier: 0.125, depthMultiplier: 0.34, numClasses: train.classNames.length,
    classNames: train.classNames, inputSize: o.inputSize,
  });
  const base: Partial<TrainSettings> = {
    batchSize: 8, inputSize: o.inputSize, optimizer: 'adam', scaleLrByBatch: false, freezeEpochs: 0,
    mosaic: 0, mixup: 0, valEvery: 0, seed: o.seed,
  };
  const stages: DemoStage[] = [];
  const model = buildYolov4(config);
  o.log(`2/6 training a x0.125-width YOLOv4 from scratch for ${o.epochs} epochs`);
  await trainModel({
    model, config, trainSet: train, valSet: val, runDir: path.join(o.outDir, 'train'),
    settings: resolveTrainSettings(base, { epochs: o.epochs, lr0: 2e-3, lrMin: 2e-4, warmupEpochs: 1, flatEpochs: 0 }),
    hooks: o.hooks,
  });
  stages.push(await measure('trained', model, config, val, o.inputSize));

  o.log(`3/6 pruning every prunable group by ${o.amount} (${o.strategy}, L1)`);
  const plan = planPruning(model, { all: true, amount: o.amount, strategy: o.strategy, inputSize: o.inputSize });
  const { model: pruned, history } = applyPlan(model, plan);
  await saveCheckpoint(path.join(o.outDir, 'pruned'), pruned, config, { pruning: history, source: { kind: 'demo' } });
  stages.push(await measure(`pruned ${o.amount}`, pruned, config, val, o.inputSize));

  o.log(`4/6 fine-tuning the pruned network for ${o.finetuneEpochs} epochs (constant lr, as Li et al.)`);
  await trainModel({
    model: pruned, config, trainSet: train, valSet: val, runDir: path.join(o.outDir, 'finetune'), pruning: history,
    settings: resolveTrainSettings(base, { epochs: o.finetuneEpochs, lr0: 5e-4, lrMin: 5e-4, schedule: 'constant', warmupEpochs: 0, flatEpochs: 0 }),
    hooks: o.hooks,
  });
  stages.push(await measure('pruned + fine-tuned', pruned, config, val, o.inputSize));

  o.log('5/6 predicting on the val images');
  await predictImages(pruned, config, val.items.slice(0, 8).map((it) => it.file), path.join(o.outDir, 'predict'), { conf: 0.3 });
  o.log(`6/6 done: checkpoints in ${o.outDir}/{train,finetune}/best, drawn predictions in ${o.outDir}/predict`);
  model.dispose();
  pruned.dispose();
  return stages;
}
