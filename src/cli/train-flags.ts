/** The flags shared by `train` and `finetune` (they differ in defaults and starting weights); the run is jobs/train-run.ts. */
import type { Argv } from 'yargs';
import { resolveTrainSettings, type TrainSettings } from '../train/settings.ts';

/** Defaults are shown in --help but not filled in, so the run knows which flags the user gave. */
const show = (v: unknown) => (Array.isArray(v) ? (v.length ? v.join(' ') : 'none') : String(v));

export function trainFlags(y: Argv, defaults: Partial<TrainSettings>) {
  const d = resolveTrainSettings(defaults);
  return y
    .option('data', { type: 'string', describe: 'dataset config JSON (see datasets/*.json)' })
    .option('config', { type: 'string', describe: 'model config JSON for a model trained from scratch (default configs/yolov4-small.json)' })
    .option('weights', { type: 'string', describe: 'start from these weights: checkpoint directory or .pth' })
    .option('out', { type: 'string', describe: 'run directory: checkpoints last/best, results.csv, results.png, args.json (default runs/<verb>-<time>); a folder holding anything else is refused' })
    .option('force', { type: 'boolean', describe: 'start a new run in the --out folder of an earlier run (its checkpoints are replaced); never overwrites anything else' })
    .option('resume', { type: 'string', describe: 'continue a run from its directory with its settings, optimizer state and lr position (dataset included); only --epochs (to extend it), --skip-bad and --data may be given with it' })
    .option('epochs', { type: 'number', defaultDescription: show(d.epochs), describe: 'number of epochs' })
    .option('batch', { type: 'number', defaultDescription: show(d.batchSize), describe: 'images per batch' })
    .option('subdivisions', { type: 'number', defaultDescription: show(d.subdivisions), describe: 'split each batch into n micro-batches with averaged gradients (less memory; darknet\'s subdivisions)' })
    .option('img-size', { type: 'number', describe: 'square training input size, a multiple of 32 (default: the model config\'s)' })
    .option('optimizer', { choices: ['sgd', 'adam'] as const, defaultDescription: show(d.optimizer), describe: 'SGD with Nesterov momentum (reference) or Adam' })
    .option('lr0', { type: 'number', alias: 'lr', defaultDescription: show(d.lr0), describe: 'initial learning rate (before batch scaling)' })
    .option('lr-min', { type: 'number', defaultDescription: show(d.lrMin), describe: 'final learning rate' })
    .option('scale-lr', { type: 'boolean', defaultDescription: show(d.scaleLrByBatch), describe: 'scale lr by batch/64 with the reference\'s limits (--no-scale-lr to use lr0 as is)' })
    .option('momentum', { type: 'number', defaultDescription: show(d.momentum), describe: 'SGD momentum (Adam beta1)' })
    .option('weight-decay', { type: 'number', defaultDescription: show(d.weightDecay), describe: 'L2 weight decay on conv weights only' })
    .option('schedule', { choices: ['cosine', 'step', 'constant'] as const, defaultDescription: show(d.schedule), describe: 'lr schedule after warm-up' })
    .option('warmup-epochs', { type: 'number', defaultDescription: show(d.warmupEpochs), describe: 'linear lr warm-up epochs' })
    .option('flat-epochs', { type: 'number', defaultDescription: show(d.flatEpochs), describe: 'last epochs at the minimum lr (cosine)' })
    .option('milestones', { type: 'number', array: true, defaultDescription: show(d.milestones), describe: 'step schedule: epochs where lr is multiplied by --gamma' })
    .option('gamma', { type: 'number', defaultDescription: show(d.gamma), describe: 'step schedule factor' })
    .option('freeze-epochs', { type: 'number', defaultDescription: show(d.freezeEpochs), describe: 'first epochs with the backbone frozen' })
    .option('ema', { type: 'boolean', defaultDescription: show(d.ema), describe: 'keep an exponential moving average of the weights (used for validation and best)' })
    .option('clip-grad', { type: 'number', defaultDescription: show(d.clipGradNorm), describe: 'clip the gradients\' global L2 norm (0: off)' })
    .option('augment', { type: 'boolean', defaultDescription: show(d.augment), describe: 'augmentation (--no-augment: letterbox only)' })
    .option('mosaic', { type: 'number', defaultDescription: show(d.mosaic), describe: 'mosaic probability (--no-mosaic: 0)' })
    .option('mixup', { type: 'number', defaultDescription: show(d.mixup), describe: 'mixup probability after mosaic (--no-mixup: 0)' })
    .option('mosaic-fraction', { type: 'number', defaultDescription: show(d.mosaicEpochsFraction), describe: 'mosaic/mixup only in this first fraction of epochs' })
    .option('multi-scale', { type: 'boolean', defaultDescription: show(d.multiScale), describe: 'random input size per batch in 0.5-1.5x' })
    .option('label-smoothing', { type: 'number', defaultDescription: show(d.labelSmoothing), describe: 'class label smoothing (0: off)' })
    .option('focal', { type: 'boolean', defaultDescription: show(d.focalObj), describe: 'focal loss for objectness' })
    .option('box-gain', { type: 'number', defaultDescription: show(d.boxGain), describe: 'weight of the CIoU box loss (0: the reference\'s 0.05)' })
    .option('anchor-iou', { type: 'number', defaultDescription: show(d.anchorIouThreshold), describe: 'darknet\'s iou_thresh (0.213 in yolov4.cfg): a box is also a positive for every anchor with shape IoU above it (0: best anchor only)' })
    .option('cls-gain', { type: 'number', defaultDescription: show(d.clsGain), describe: 'weight of the class loss (0: the reference\'s classes/80, which is small for few classes)' })
    .option('val-every', { type: 'number', defaultDescription: show(d.valEvery), describe: 'validation mAP every n epochs (and at the end); val loss every epoch' })
    .option('val-limit', { type: 'number', defaultDescription: show(d.valLimit), describe: 'only the first n val images for mAP (0: all)' })
    .option('save-period', { type: 'number', defaultDescription: show(d.savePeriod), describe: 'also keep a checkpoint every n epochs (0: off)' })
    .option('max-batches', { type: 'number', defaultDescription: show(d.maxBatchesPerEpoch), describe: 'stop each epoch after n batches (0: all); for quick runs' })
    .option('seed', { type: 'number', defaultDescription: show(d.seed), describe: 'seed of shuffling and augmentation' })
    .option('skip-bad', { type: 'boolean', defaultDescription: show(d.skipBad), describe: 'skip unreadable images with a warning instead of stopping' });
}
