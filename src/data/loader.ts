/**
 * The training/evaluation loader: batches of augmented, letterboxed (or, unaugmented, plain-resized) images as a tensor plus
 * normalized targets, with the next batches decoded and augmented (sharp, async) while the consumer
 * works on the current one.
 *
 * ```ts
 * const loader = createLoader(dataset, { batchSize: 8, inputSize: 416, augment: true, seed: 1 });
 * for (let epoch = 0; epoch < epochs; epoch++) {
 *   if (epoch === Math.floor(0.7 * epochs)) loader.setAugment({ mosaic: 0 }); // mosaic off at the end
 *   for await (const batch of loader.epoch(epoch)) {
 *     trainStep(batch.images, batch.targets);
 *     batch.images.dispose();            // the consumer owns (and must dispose) the images tensor
 *   }
 * }
 * ```
 *
 * Ownership: each yielded `images` tensor is the only tensor the loader creates; it belongs to the
 * consumer, which disposes it. Prefetched batches are plain typed arrays until they are yielded, so
 * stopping early (break) leaks no tensor.
 *
 * Determinism: the order of an epoch comes from (seed, epoch), each sample from (seed, epoch, position),
 * so the same seed gives the same batches whatever the decode timing. Changing augment options changes
 * batches prepared after the change (up to `prefetch` batches already in preparation keep the old ones).
 */
import * as tf from '@tensorflow/tfjs';
import type { ResizeMode } from '../image/geometry.ts';
import { resolveAugment, type AugmentOptions, type AugmentSetting } from './augment-options.ts';
import { boxesToTargets } from './box-ops.ts';
import { writeFloat } from './pixels.ts';
import { mapLimit } from './pool.ts';
import { Rng } from './prng.ts';
import { SamplePool } from './sample-pool.ts';
import { makeSample, SampleSourceError, type Sample, type SampleContext, type SampleInfo } from './sample.ts';
import type { Dataset, WarnFn } from './types.ts';
import { UsageError } from '../util/errors.ts';
import { DataError } from './errors.ts';

export interface LoaderOptions {
  batchSize: number;
  /** Square network input size (a multiple of 32 for YOLOv4). */
  inputSize: number;
  /** false/absent: no augmentation (see `resizeMode`); true: the reference augmentation; or some fields overridden. */
  augment?: AugmentSetting;
  /**
   * How an unaugmented image fills the input: 'letterbox' (default; aspect kept, gray padding) or
   * 'resize' (stretched to inputSize x inputSize, boxes scaled per axis), as the model is evaluated
   * (`inputResizeMode(config)`). Augmented samples always use the reference's letterbox-style random
   * placement and mosaic, whatever this says.
   */
  resizeMode?: ResizeMode;
  /** Shuffle every epoch (default true). */
  shuffle?: boolean;
  /** Seed of all randomness (default 0). */
  seed?: number;
  /** Skip images that fail to decode, with a warning, instead of throwing (default false). */
  skipBad?: boolean;
  warn?: WarnFn;
  /** Batches prepared ahead while the consumer holds one (default 2, at least 1). */
  prefetch?: number;
  /** Drop the last, smaller batch of an epoch (default false). */
  dropLast?: boolean;
  /** Samples of a batch prepared in parallel (default: the batch size, at most 16). */
  concurrency?: number;
  /**
   * Worker threads that decode and augment (default 0: in the main thread, between the consumer's
   * awaits). With a training step that blocks the main thread, workers keep preparing batches during
   * it. Same batches either way. Call `close()` when done to end them.
   */
  workers?: number;
}

export interface Batch {
  /** [B, S, S, 3] float32 RGB / 255. Owned by the consumer: dispose it. */
  images: tf.Tensor4D;
  /** Per image, rows of [cx, cy, w, h, classId] with coordinates normalized to the input (in [0, 1]). */
  targets: Float32Array[];
  ids: (string | number)[];
  infos: SampleInfo[];
  epoch: number;
  /** Batch number within the epoch. */
  index: number;
}

export interface Loader {
  readonly dataset: Dataset;
  readonly inputSize: number;
  readonly batchSize: number;
  /** Batches in one epoch (before any bad image is skipped). */
  readonly batchesPerEpoch: number;
  /** Current augmentation (null = none: `resizeMode` only). */
  readonly augment: AugmentOptions | null;
  readonly resizeMode: ResizeMode;
  /** Images skipped so far as unreadable (dataset indices). */
  readonly badIndices: ReadonlySet<number>;
  /** One epoch; `e` seeds its order and augmentation (default: the next epoch number). */
  epoch(e?: number): AsyncGenerator<Batch, void, undefined>;
  /** Same as `epoch()`. */
  [Symbol.asyncIterator](): AsyncGenerator<Batch, void, undefined>;
  /** `false` off, `true` defaults, or fields merged into the current options (e.g. `{ mosaic: 0 }`). */
  setAugment(a: AugmentSetting): void;
  /** Ends the worker threads (if any). The loader cannot be used afterwards. */
  close(): Promise<void>;
}

interface Prepared {
  samples: Sample[];
  index: number;
  epoch: number;
}

export function createLoader(dataset: Dataset, opts: LoaderOptions): Loader {
  const { batchSize, inputSize } = opts;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!(Number.isInteger(inputSize) && inputSize > 0)) throw new RangeError(`inputSize must be a positive integer, got ${inputSize}`);
  if (!dataset.items.length) throw new RangeError(`dataset "${dataset.name}" (${dataset.split}) has no images`);
  const seed = opts.seed ?? 0;
  const shuffle = opts.shuffle ?? true;
  const prefetch = Math.max(1, opts.prefetch ?? 2);
  const concurrency = Math.max(1, opts.concurrency ?? Math.min(16, batchSize));
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const resizeMode = opts.resizeMode ?? 'letterbox';
  if (resizeMode !== 'letterbox' && resizeMode !== 'resize') throw new UsageError(`resizeMode must be "letterbox" or "resize", got "${resizeMode as string}"`);
  let augment = resolveAugment(opts.augment);
  let nextEpoch = 0;
  const bad = new Set<number>();
  const n = dataset.items.length;

  const pick = (rng: Rng): number => {
    if (bad.size >= n) throw new DataError(`dataset "${dataset.name}": every image failed to decode`);
    let i = rng.int(n);
    while (bad.has(i)) i = (i + 1) % n;
    return i;
  };

  const pool = opts.workers && opts.workers > 0 ? new SamplePool(opts.workers, dataset.items, inputSize, resizeMode) : null;

  const markBad = (err: SampleSourceError) => {
    if (bad.has(err.index)) return;
    bad.add(err.index);
    pool?.markBad(err.index);
    warn(`skipping image: ${(err.cause as Error).message}`);
  };

  /** A sample, or null when its own image is bad (with skipBad). Bad partner images are replaced. */
  const sampleFor = async (ctx: SampleContext, index: number, e: number, pos: number): Promise<Sample | null> => {
    for (let attempt = 0; ; attempt++) {
      if (bad.has(index)) return null;
      try {
        const parts = [seed, e, pos, attempt];
        return await (pool ? pool.sample(index, ctx.augment, parts) : makeSample(ctx, index, Rng.derive(...parts)));
      } catch (err) {
        if (!(err instanceof SampleSourceError) || !opts.skipBad) throw err instanceof SampleSourceError ? err.cause : err;
        markBad(err);
        if (err.index === index) return null;
      }
    }
  };

  const prepare = async (indices: number[], e: number, batchIndex: number): Promise<Prepared> => {
    const ctx: SampleContext = { items: dataset.items, size: inputSize, augment, mode: resizeMode, pick };
    const base = batchIndex * batchSize;
    const samples = await mapLimit(indices, concurrency, (idx, k) => sampleFor(ctx, idx, e, base + k));
    return { samples: samples.filter((s): s is Sample => s !== null), index: batchIndex, epoch: e };
  };

  const toBatch = (p: Prepared): Batch => {
    const B = p.samples.length;
    const per = inputSize * inputSize * 3;
    const buf = new Float32Array(B * per);
    p.samples.forEach((s, k) => writeFloat(s.image, buf, k * per));
    return {
      images: tf.tensor4d(buf, [B, inputSize, inputSize, 3], 'float32'),
      targets: p.samples.map((s) => boxesToTargets(s.boxes, inputSize)),
      ids: p.samples.map((s) => s.info.id),
      infos: p.samples.map((s) => s.info),
      epoch: p.epoch,
      index: p.index,
    };
  };

  const batchesPerEpoch = opts.dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);

  async function* epoch(e?: number): AsyncGenerator<Batch, void, undefined> {
    const ep = e ?? nextEpoch;
    nextEpoch = ep + 1;
    const order = Array.from({ length: n }, (_, i) => i).filter((i) => !bad.has(i));
    if (shuffle) Rng.derive(seed, ep, 0x5eed5).shuffle(order);
    const chunks: number[][] = [];
    for (let i = 0; i < order.length; i += batchSize) {
      const c = order.slice(i, i + batchSize);
      if (c.length < batchSize && opts.dropLast) break;
      chunks.push(c);
    }
    const queue: Promise<Prepared>[] = [];
    let next = 0;
    const launch = () => {
      while (queue.length < prefetch && next < chunks.length) {
        const p = prepare(chunks[next], ep, next);
        p.catch(() => {}); // awaited below; this only keeps an abandoned prefetch from being "unhandled"
        queue.push(p);
        next++;
      }
    };
    while (queue.length || next < chunks.length) {
      launch();
      const prep = await queue.shift()!;
      launch(); // refill before handing the batch over, so decoding overlaps with the consumer
      if (!prep.samples.length) continue;
      const batch = toBatch(prep);
      // One event-loop turn: finished decodes get their callbacks and start their next steps, so the
      // thread pool has work queued while a synchronous training step blocks the main thread.
      await new Promise<void>((r) => setImmediate(r));
      yield batch;
    }
  }

  return {
    dataset,
    inputSize,
    batchSize,
    batchesPerEpoch,
    resizeMode,
    get augment() {
      return augment;
    },
    badIndices: bad,
    epoch,
    [Symbol.asyncIterator]: () => epoch(),
    setAugment(a: AugmentSetting) {
      augment = a === true || a === false || a === undefined ? resolveAugment(a) : resolveAugment(a, augment);
    },
    close: async () => {
      await pool?.close();
    },
  };
}
