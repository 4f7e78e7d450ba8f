/**
 * A Predictor that runs the model with ONNX Runtime (onnxruntime-node) instead of tfjs: the model is
 * exported to ONNX in memory (io/onnx encodeOnnx, BN folded, input size fixed), and each batch goes
 * NHWC tfjs tensor -> NCHW float32 -> session.run -> NCHW heads -> NHWC tfjs tensors, so decode and NMS
 * are the tfjs path's. Both transposes are tf ops: on wasm at 416 they took 0.7-1.0 ms (input) and
 * 1.7-2.0 ms (three 80-class heads), against 10-13 ms and 2.4 ms for loops in JS.
 *
 * Execution providers: CUDA first when onnxruntime-node's CUDA provider library is installed (its
 * install script downloads it; our .npmrc skips that), then CPU; a failing CUDA start falls back to CPU.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { InferenceSession } from 'onnxruntime-node';
import type { Yolov4Config } from '../model/config.ts';
import { encodeOnnx, joinChunks } from '../io/onnx/export.ts';
import { Yolo4Error } from '../util/errors.ts';
import type { AsyncPredictor } from './detect.ts';
import { loadOnnxRuntime, type Ort } from './onnx-runtime.ts';

/** An ONNX Runtime session could not start, or was used after dispose(): exit 1. */
export class OnnxSessionError extends Yolo4Error {}

export interface OnnxPredictorOptions {
  /** The input side the session is built for (the Detector's input size). */
  inputSize: number;
  /** intraOpNumThreads (default 1, as --threads). */
  threads?: number;
}

/** Whether onnxruntime-node's CUDA provider library sits beside its binding (where its installer puts it). */
function hasCudaProvider(ort: Ort): boolean {
  if (!ort.listSupportedBackends().some((b) => b.name === 'cuda')) return false;
  try {
    const main = createRequire(import.meta.url).resolve('onnxruntime-node');
    const dir = join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
    return existsSync(join(dir, process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

/** The execution providers to ask for, best first: ['cuda', 'cpu'] where CUDA's provider is installed, else ['cpu']. */
export function executionProviders(ort: Ort): string[] {
  return hasCudaProvider(ort) ? ['cuda', 'cpu'] : ['cpu'];
}

export class OnnxPredictor implements AsyncPredictor {
  private disposed = false;

  private constructor(
    private readonly ort: Ort,
    private readonly session: InferenceSession,
    /** The providers the session was created with, best first. */
    readonly providers: string[],
  ) {}

  /** Exports the model (not disposed; stays the caller's) and starts a session on it. */
  static async create(model: tf.LayersModel, config: Yolov4Config, o: OnnxPredictorOptions): Promise<OnnxPredictor> {
    const ort = await loadOnnxRuntime();
    // The bytes are handed over; the encoded chunks are garbage once joined.
    const bytes = joinChunks(encodeOnnx(model, config, { imageSize: o.inputSize }));
    const options = (executionProviders: string[]): InferenceSession.SessionOptions => ({ executionProviders, intraOpNumThreads: o.threads ?? 1 });
    let providers = executionProviders(ort);
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, options(providers));
    } catch (e) {
      if (providers[0] !== 'cuda') throw new OnnxSessionError(`onnxruntime could not start a session: ${(e as Error).message}`, { cause: e });
      providers = ['cpu'];
      try {
        session = await ort.InferenceSession.create(bytes, options(providers));
      } catch (e2) {
        throw new OnnxSessionError(`onnxruntime could not start a session: ${(e2 as Error).message}`, { cause: e2 });
      }
    }
    return new OnnxPredictor(ort, session, providers);
  }

  /** The heads of a [B, H, W, C] batch (not disposed), NHWC as the tfjs model returns them. */
  async predictAsync(x: tf.Tensor4D): Promise<tf.Tensor4D[]> {
    if (this.disposed) throw new OnnxSessionError('the ONNX Runtime session was disposed');
    const [b, h, w, c] = x.shape;
    const nchw = tf.transpose(x, [0, 3, 1, 2]);
    let input: Float32Array;
    try {
      input = (await nchw.data()) as Float32Array;
    } finally {
      nchw.dispose();
    }
    const feed = new this.ort.Tensor('float32', input, [b, c, h, w]);
    const out = await this.session.run({ [this.session.inputNames[0]]: feed });
    feed.dispose();
    try {
      return tf.tidy(() => this.session.outputNames.map((name) => {
        const [n, ch, oh, ow] = out[name].dims;
        return tf.transpose(tf.tensor4d(out[name].data as Float32Array, [n, ch, oh, ow]), [0, 2, 3, 1]);
      }));
    } finally {
      for (const t of Object.values(out)) t.dispose();
    }
  }

  /** Releases the session (onnxruntime frees its memory asynchronously); later calls throw. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.session.release().catch(() => undefined);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }
}
