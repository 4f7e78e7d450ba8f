/**
 * The main job end to end on shipped data, nothing downloaded: the COCO-trained Yolo-Fastest 1.1
 * (darknet weights in models/) -> eval on tinycoco -> prune (L1, every prunable group) -> eval ->
 * fine-tune on tinycoco train -> eval -> predict with drawn boxes. Every stage uses the same library
 * calls as the CLI verbs.
 */
import { withSyncReads } from '../backend/webgpu-sync-read.ts';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { loadDatasetConfig, openDataset } from '../data/dataset-config.ts';
import type { Dataset } from '../data/types.ts';
import type { CocoGroundTruth } from '../eval/coco-types.ts';
import { evaluateModelOnDataset } from '../eval/evaluate-model.ts';
import { openSplit } from '../eval/open-split.ts';
import { saveCheckpoint } from '../io/checkpoint.ts';
import { importDarknet } from '../io/darknet/index.ts';
import { checkOutputFolder, DEMO_FOLDER } from '../io/output-folder.ts';
import type { Yolov4Config } from '../model/config.ts';
import { summarizeModel } from '../model/summary.ts';
import { inferenceDefaults } from '../predict/defaults.ts';
import { predictImages } from '../predict/predict-images.ts';
import { applyPlan, planPruning, type Strategy } from '../prune/index.ts';
import { DEFAULT_FINETUNE_SETTINGS, resolveTrainSettings } from '../train/settings.ts';
import { trainModel, type TrainHooks } from '../train/trainer.ts';
import { JobError } from './errors.ts';

export const DEMO_MODEL = {
  cfg: 'models/yolo-fastest-1.1/yolo-fastest-1.1.cfg',
  weights: 'models/yolo-fastest-1.1/yolo-fastest-1.1.weights',
  names: 'models/yolo-fastest-1.1/coco.names',
};
export const DEMO_DATA = 'datasets/tinycoco.json';

export interface DemoOptions {
  outDir: string;
  amount: number;
  strategy: Strategy;
  finetuneEpochs: number;
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

async function measure(stage: string, model: tf.LayersModel, config: Yolov4Config, val: Dataset, gt: CocoGroundTruth): Promise<DemoStage> {
  const s = summarizeModel(model, config.inputSize);
  const ev = await evaluateModelOnDataset(model, config, val, { groundTruth: gt, batchSize: 6 });
  return { stage, params: s.params, gflops: s.flops / 1e9, AP: ev.result.stats.AP, AP50: ev.result.stats.AP50 };
}

export function formatStages(stages: DemoStage[]): string {
  const head = '| stage | parameters | GFLOPs | AP | AP50 |\n|---|---|---|---|---|';
  const rows = stages.map((s) => `| ${s.stage} | ${s.params.toLocaleString('en-US')} | ${s.gflops.toFixed(3)} | ${s.AP.toFixed(4)} | ${s.AP50.toFixed(4)} |`);
  return [head, ...rows].join('\n');
}

export async function runDemo(o: DemoOptions): Promise<DemoStage[]> {
  // An earlier demo's folder is reused (re-running the demo is the point); anything else is refused.
  await checkOutputFolder(o.outDir, DEMO_FOLDER, { force: true });
  o.log(`1/6 importing the COCO-trained Yolo-Fastest 1.1 (${DEMO_MODEL.cfg})`);
  const { model, config } = await importDarknet(DEMO_MODEL.cfg, DEMO_MODEL.weights, { namesFile: DEMO_MODEL.names });
  const dataConfig = await loadDatasetConfig(DEMO_DATA);
  const train = await openDataset(dataConfig, 'train');
  const { dataset: val, groundTruth: gt } = await openSplit(dataConfig, 'val');
  if (!gt) throw new JobError(`${DEMO_DATA} has no COCO annotations for its val split`);
  const stages: DemoStage[] = [];

  o.log(`2/6 evaluating on ${val.items.length} COCO val images (${DEMO_DATA})`);
  stages.push(await measure('imported', model, config, val, gt));

  o.log(`3/6 pruning every prunable group by ${o.amount} (${o.strategy}, L1 norm of the filters)`);
  const plan = withSyncReads(() => planPruning(model, { all: true, amount: o.amount, strategy: o.strategy, inputSize: config.inputSize }));
  const { model: pruned, history } = withSyncReads(() => applyPlan(model, plan));
  await saveCheckpoint(path.join(o.outDir, 'pruned'), pruned, config, { pruning: history, source: { kind: 'demo', from: DEMO_MODEL.cfg } });
  stages.push(await measure(`pruned ${o.amount}`, pruned, config, val, gt));

  if (o.finetuneEpochs > 0) {
    o.log(`4/6 fine-tuning on ${train.items.length} COCO train images for ${o.finetuneEpochs} epoch(s), constant lr 1e-3 (Li et al.)`);
    await trainModel({
      model: pruned, config, trainSet: train, valSet: val, valGroundTruth: gt, runDir: path.join(o.outDir, 'finetune'), pruning: history,
      settings: resolveTrainSettings(DEFAULT_FINETUNE_SETTINGS, { epochs: o.finetuneEpochs, batchSize: 8, inputSize: config.inputSize, valEvery: 0, seed: 1 }),
      hooks: o.hooks,
    });
    stages.push(await measure('pruned + fine-tuned', pruned, config, val, gt));
  }

  o.log('5/6 predicting on the val images');
  await predictImages(pruned, config, val.items.map((it) => it.file), path.join(o.outDir, 'predict'), { conf: 0.25, ...inferenceDefaults(config) });
  o.log(`6/6 done: pruned checkpoint ${path.join(o.outDir, 'pruned')}, fine-tuned ${path.join(o.outDir, 'finetune', 'best')}, drawn predictions ${path.join(o.outDir, 'predict')}`);
  model.dispose();
  pruned.dispose();
  return stages;
}
