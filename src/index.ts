/**
 * The library API: everything a script needs, importable in one line —
 *   import { selectBackend, importTorchYolov4, planPruning, applyPlan } from 'yolo4-prune';
 * (inside this repository `'yolo4-prune'` resolves to this file through package.json "exports").
 * Each name is re-exported from the module that defines it; deeper helpers stay at their own paths.
 */

// Backend
export { selectBackend, describeBackend, BackendError, BACKEND_CHOICES } from './backend/select.ts';
export type { BackendChoice, BackendResult, SelectOptions } from './backend/select.ts';

// Model and configuration
export { buildYolov4 } from './model/yolov4.ts';
export { resolveConfig, loadConfigFile, ConfigError, STANDARD_ANCHORS, STANDARD_ANCHOR_MASK } from './model/config.ts';
export type { Anchor, Yolov4Config, Yolov4ConfigInput } from './model/config.ts';
export { ModelError } from './model/errors.ts';
export { summarizeModel, formatSummaryTable } from './model/summary.ts';
export type { LayerSummary, ModelSummary } from './model/summary.ts';

// Weights and checkpoints
export { loadWeights, readClassNames } from './io/load-weights.ts';
export type { LoadedWeights } from './io/load-weights.ts';
export { saveCheckpoint, loadCheckpoint, readCheckpointMeta, CheckpointError, OutputExistsError } from './io/checkpoint.ts';
export type { CheckpointMeta, PruneHistoryRecord, SaveCheckpointOptions } from './io/checkpoint.ts';
export { ModelFileError, ModelFileOptionError } from './io/model-files.ts';
export { importTorchYolov4, TorchImportError } from './io/torch-yolov4.ts';
export type { TorchImportOptions } from './io/torch-yolov4.ts';
export { exportTorchYolov4, torchYolov4Archive, yolov4ToStateDict, TorchExportError } from './io/torch-yolov4-export.ts';
export type { TorchExportOptions, TorchExportResult } from './io/torch-yolov4-export.ts';
export { importDarknet, exportDarknetFiles, DarknetCfgError, DarknetWeightsError } from './io/darknet/index.ts';
export type { DarknetLayout, ImportDarknetOptions, ImportedDarknet } from './io/darknet/index.ts';
export { writeDarknetExport } from './io/darknet-export-target.ts';
export type { ExportedDarknet } from './io/darknet-export-target.ts';
export { exportOnnx, OnnxExportError } from './io/onnx/index.ts';
export type { ExportOnnxOptions, ExportedOnnx, OnnxOutputInfo } from './io/onnx/index.ts';

// Pruning
export { planPruning, applyPlan, formatPlan, PruneOptionError, PruneGraphError } from './prune/index.ts';
export type { PlanOptions } from './prune/index.ts';
export { planToBudget, formatBudget } from './prune/index.ts';
export type { Allocation, BudgetOptions, BudgetResult, BudgetTarget, SensitivityTable } from './prune/index.ts';

// Evaluation
export { evaluateCoco, formatStatsTable, formatPerClassTable, loadGroundTruth, loadDetections, CocoInputError } from './eval/coco.ts';
export type { CocoDetection, CocoEvalOptions, CocoEvalResult, CocoGroundTruth, CocoStats } from './eval/coco.ts';
export { evaluateModelOnDataset, EvalImageError } from './eval/evaluate-model.ts';
export type { EvaluateModelOptions, ModelEvaluation } from './eval/evaluate-model.ts';

// Prediction
export { predictImages } from './predict/predict-images.ts';
export type { ImagePrediction, JsonDetection, PredictImagesOptions } from './predict/predict-images.ts';
export type { Predictor, SyncPredictor, AsyncPredictor } from './predict/detect.ts';
export { Detector, InputSizeError } from './predict/detector.ts';
export { Detections } from './predict/detections.ts';
export type { DetectorConfig, DetectorOptions, DetectorLoadOptions, InferenceRuntime } from './predict/detector.ts';
export { OnnxPredictor, OnnxSessionError } from './predict/onnx-predictor.ts';
export { OnnxRuntimeMissingError } from './predict/onnx-runtime.ts';
export { VideoError, ImageInputError, PredictInputError } from './predict/errors.ts';

// Images: decode, letterbox / plain resize, and the box maps between input and original pixels
export { readRgb, imageSize, ImageDecodeError } from './image/decode.ts';
export { letterboxImage, undoLetterbox, applyLetterboxBox } from './image/letterbox.ts';
export type { LetterboxInfo, LetterboxOptions, LetterboxResult } from './image/letterbox.ts';
export type { ResizeMode } from './image/geometry.ts';
export type { ImageInput, RawImage, RgbImage } from './image/rgb.ts';

// Training
export { trainModel, trainModel as train } from './train/trainer.ts';
export { ValidationError, TrainOptionError, TrainingDivergedError, TrainStateMismatchError, LossInputError } from './train/errors.ts';
export type { TrainHooks, TrainResult, TrainRun } from './train/trainer.ts';

// Datasets
export { loadDatasetConfig, openDataset, DatasetError, DataError } from './data/index.ts';
export type { Dataset, DatasetConfig, DatasetItem, Box } from './data/index.ts';

// Errors shared by all commands
export { UsageError, isUsageError, WorkerError } from './util/errors.ts';

// Jobs: what each CLI verb does, callable from a script (they print as the verbs do)
export { runPrune } from './jobs/prune.ts';
export { pruneOnce } from './jobs/prune-once.ts';
export { rankingOptions } from './jobs/prune-options.ts';
export type { PruneJobOptions } from './jobs/prune-options.ts';
export { analyzeSensitivity, rankSensitivity, writeSensitivity } from './jobs/sensitivity.ts';
export type { SensitivityOptions, SensitivityResult } from './jobs/sensitivity.ts';
export { iterativePrune } from './jobs/iterative.ts';
export type { IterativeOptions, IterativeResult } from './jobs/iterative.ts';
export { exportModel, exportTfjs } from './jobs/export.ts';
export type { ExportOptions } from './jobs/export.ts';
export { importModel } from './jobs/import.ts';
export type { ImportOptions } from './jobs/import.ts';
export { importDarknetCheckpoint } from './jobs/import-darknet.ts';
export { runTraining } from './jobs/train-run.ts';
export type { TrainRunOptions } from './jobs/train-options.ts';
export { evaluateJob } from './jobs/eval.ts';
export { predictJob } from './jobs/predict.ts';
export { modelInfo } from './jobs/info.ts';
export { openModel } from './jobs/open-model.ts';
export { openSplit } from './eval/open-split.ts';
export { JobError, JobOptionError } from './jobs/errors.ts';
