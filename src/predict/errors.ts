/** Errors of the predict code (also in this folder: InputSizeError in detector.ts, FfmpegNotFoundError in ffmpeg.ts). */
import { Yolo4Error } from '../util/errors.ts';

/** A video cannot be read, decoded or encoded (a missing file, no video stream, ffmpeg failed): exit 1. */
export class VideoError extends Yolo4Error {}

/** The images to predict on cannot be found (no such file, a folder or pattern without images): exit 1. */
export class ImageInputError extends Yolo4Error {}

/**
 * Tensors, model outputs or options handed to detection do not fit each other (a batch of mixed input
 * sizes, head outputs that do not match the anchors and class count): exit 1.
 */
export class PredictInputError extends Yolo4Error {}
