/** Options, hooks and results of iterativePrune (iterative.ts). */
import type * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/types.ts';
import type { CocoGroundTruth } from '../eval/coco-types.ts';
import type { PruneHistoryRecord } from '../io/checkpoint.ts';
import type { Allocation, BudgetTarget, RankingOptions, SensitivityTable } from '../prune/index.ts';
import type { TrainSettings } from '../train/settings.ts';
import type { TrainHooks } from '../train/trainer.ts';

export interface IterativeHooks {
  log?: (line: string) => void;
  onStepStart?: (step: number, steps: number, stepAmount: number) => void;
  onStepEnd?: (record: StepRecord) => void;
  /** Progress of each evaluation (baseline, after pruning, after fine-tuning). */
  onEvalProgress?: (done: number, total: number, what: string) => void;
  /** Passed to trainModel for every fine-tuning (progress bars, Ctrl-C via shouldStop). */
  train?: TrainHooks;
}

export interface IterativeOptions extends RankingOptions {
  /** Target fraction of each group's channels removed after all steps, in (0, 1). */
  amount?: number;
  /** Per-pattern targets (globs; the last matching key wins), as planPruning's `amounts`. */
  amounts?: Record<string, number>;
  /**
   * Instead of amounts, a budget reached over the steps: after step k the network keeps
   * target.ratio^(k/steps) of the ORIGINAL model's FLOPs or parameters, allocated (prune/budget.ts)
   * on the current, fine-tuned model; each step's amounts go to step-<k>/amounts.json.
   */
  budget?: IterativeBudget;
  /** Scope, as planPruning: every prunable group, one conv, or globs. */
  all?: boolean;
  layer?: string;
  layers?: string[];
  /** Number of prune + fine-tune steps (>= 1). */
  steps: number;
  /** Fine-tuning epochs per step (0: prune and evaluate only). */
  finetuneEpochs: number;
  /** Stop after a step whose metric is more than this below the unpruned baseline (e.g. 0.05). */
  maxMapDrop?: number;
  metric?: 'AP50' | 'AP';
  /** Fine-tuning data (needed when finetuneEpochs > 0) and evaluation data. */
  trainSet?: Dataset;
  valSet: Dataset;
  valGroundTruth?: CocoGroundTruth;
  /** Overrides of the fine-tune settings (DEFAULT_FINETUNE_SETTINGS); `epochs` is finetuneEpochs. */
  settings?: Partial<TrainSettings>;
  /** Input size of evaluation, training and the FLOPs (default the config's). */
  inputSize?: number;
  /** Evaluate on the first n val images only. */
  evalLimit?: number;
  evalBatchSize?: number;
  /** Also evaluate right after pruning, before fine-tuning (default true). */
  evalBeforeFinetune?: boolean;
  /** Keep the trainer's own `last`/`best` checkpoints in step-<k>/finetune (default false: only its results.csv/png). */
  keepFinetuneCheckpoints?: boolean;
  /** New or empty, or (with `force`) an earlier run's folder holding nothing else (output-folder.ts). */
  outDir: string;
  force?: boolean;
  /** Pruning history of the input model, carried into every checkpoint. */
  pruning?: PruneHistoryRecord[];
  /** Where the input model came from (stored in the checkpoints' source). */
  from?: string;
  hooks?: IterativeHooks;
}

export interface IterativeBudget {
  target: BudgetTarget;
  allocation?: Allocation;
  /** The sensitivity table of the current model at each step (the `sensitivity` allocation). */
  sensitivityFor?: (model: tf.LayersModel, step: number) => Promise<SensitivityTable>;
}


export interface StepRecord {
  /** 0 = the unpruned baseline. */
  step: number;
  /** Amount pruned at this step (a_step; 0 for the baseline, NaN with per-pattern amounts only). */
  amount: number;
  /** Nominal fraction removed so far: 1 - (1 - a_step)^step. */
  cumulative: number;
  params: number;
  flops: number;
  paramsRatio: number;
  flopsRatio: number;
  /** Right after pruning, before fine-tuning (NaN when not measured). */
  AP50Pruned: number;
  APPruned: number;
  /** After fine-tuning. */
  AP50: number;
  AP: number;
  /** Baseline metric - this step's metric (after fine-tuning). */
  drop: number;
  /** Mean training loss of the last fine-tuning epoch (NaN without fine-tuning). */
  finetuneLoss: number;
  checkpoint: string;
  seconds: number;
}

export interface IterativeResult {
  target: number | Record<string, number> | BudgetTarget;
  stepAmount: number | Record<string, number>;
  steps: number;
  finetuneEpochs: number;
  metric: 'AP50' | 'AP';
  maxMapDrop: number | null;
  baseline: StepRecord;
  records: StepRecord[];
  stopped: 'completed' | 'max-map-drop' | 'interrupted';
  stopReason: string;
  best: { step: number; checkpoint: string; reason: string } | null;
  files: { csv: string; json: string; plot: string; sizePlot: string };
  seconds: number;
}
