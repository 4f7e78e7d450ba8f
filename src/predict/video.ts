/**
 * Prediction on video: ffmpeg decodes to raw RGB frames on a pipe, each frame is letterboxed, detected
 * and drawn, and a second ffmpeg encodes the annotated frames (same size and frame rate; audio copied
 * when the container allows). Frames stream through fixed-size buffers, so memory stays flat.
 * The detections of every frame go to `<out>.json` (video-json.ts); how ffmpeg is found: ffmpeg.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, realpath } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Yolov4Config } from '../model/config.ts';
import type { Predictor } from './detect.ts';
import { Detector, type DetectorConfig, type DetectorOptions } from './detector.ts';
import type { DrawOptions } from './draw.ts';
import { Detections } from './detections.ts';
import { collect, findFfmpeg, probeVideo, type VideoInfo } from './ffmpeg.ts';
import type { LetterboxResult } from '../image/letterbox.ts';
import type { RawImage } from '../image/rgb.ts';
import type { Detection } from './nms.ts';
import { VideoJsonWriter } from './video-json.ts';
import { InternalError, UsageError } from '../util/errors.ts';
import { VideoError } from './errors.ts';

export { FfmpegNotFoundError, findFfmpeg, probeVideo, type VideoInfo } from './ffmpeg.ts';

export interface VideoProgress {
  frames: number;
  /** Estimated total (from the duration), if known. */
  totalFrames?: number;
  /** Processing speed in frames per second. */
  fps: number;
  elapsedSeconds: number;
}

/** The detector options (conf, iou, mode...) apply when a bare model is given; a Detector brings its own. */
export interface PredictVideoOptions extends DetectorOptions {
  classNames?: string[];
  /** Frames per forward pass (default 1). */
  batch?: number;
  /** Stop after this many frames. */
  maxFrames?: number;
  /** Copy the audio track (default true). */
  audio?: boolean;
  /** x264 CRF (default 20). */
  crf?: number;
  ffmpegPath?: string;
  draw?: Omit<DrawOptions, 'classNames'>;
  onProgress?: (p: VideoProgress) => void;
  /** Called with each frame's detections (original pixels), e.g. to write JSON lines. */
  onFrame?: (frame: number, detections: Detection[]) => void;
  /** Write the detections of every frame to `<output>.json` (default true; see video-json.ts). */
  saveJson?: boolean;
}

export interface PredictVideoResult {
  frames: number;
  width: number;
  height: number;
  fps: string;
  /** Detections over all frames. */
  detections: number;
  /** The detections file, when written. */
  json?: string;
  seconds: number;
}

/** The path with symlinks resolved; for a file yet to be written, its folder's resolved path. */
async function canonicalPath(file: string): Promise<string> {
  const abs = resolve(file);
  try {
    return await realpath(abs);
  } catch {
    const dir = await realpath(dirname(abs)).catch(() => dirname(abs));
    return join(dir, basename(abs));
  }
}

/** Writing over the input would destroy it while ffmpeg still reads it. */
async function refuseOverwritingInput(input: string, outputs: string[]): Promise<void> {
  const src = await canonicalPath(input);
  for (const out of outputs) {
    if ((await canonicalPath(out)) === src) throw new UsageError(`--out "${out}" is the input video "${input}": choose another output file`);
  }
}

/** Yields exactly frameBytes-sized frames from a stream (one reusable buffer per frame in flight). */
async function* readFrames(stream: Readable, frameBytes: number): AsyncGenerator<Buffer> {
  let frame = Buffer.allocUnsafe(frameBytes);
  let filled = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, frameBytes - filled);
      chunk.copy(frame, filled, off, off + n);
      filled += n;
      off += n;
      if (filled === frameBytes) {
        yield frame;
        frame = Buffer.allocUnsafe(frameBytes);
        filled = 0;
      }
    }
  }
  if (filled > 0) throw new VideoError(`video ended inside a frame (${filled} of ${frameBytes} bytes)`);
}

/** Resolves when the chunk has been handed to the pipe (that is the backpressure). */
function writeAsync(stream: Writable, data: Buffer): Promise<void> {
  return new Promise((res, rej) => {
    stream.write(data, (e) => (e ? rej(e) : res()));
  });
}

function exited(p: ChildProcess): Promise<number | null> {
  return new Promise((res, rej) => {
    if (p.exitCode !== null) return res(p.exitCode);
    p.once('error', rej);
    p.once('close', (code) => res(code));
  });
}

function encoderArgs(out: string, info: VideoInfo, input: string, opts: PredictVideoOptions): string[] {
  const ext = extname(out).toLowerCase();
  const args = ['-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${info.width}x${info.height}`, '-framerate', info.fps, '-i', 'pipe:0'];
  const audio = (opts.audio ?? true) && info.hasAudio && ext !== '.gif';
  if (audio) args.push('-i', input, '-map', '0:v:0', '-map', '1:a:0?', '-shortest');
  const even = info.width % 2 === 0 && info.height % 2 === 0;
  if (ext === '.webm') {
    args.push('-c:v', 'libvpx-vp9', '-crf', String(opts.crf ?? 32), '-b:v', '0', '-pix_fmt', 'yuv420p');
    if (audio) args.push('-c:a', 'libopus');
  } else if (ext === '.gif') {
    args.push('-c:v', 'gif');
  } else {
    // yuv420p needs even sizes: pad one pixel (black) if needed rather than fail.
    if (!even) args.push('-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2');
    args.push('-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(opts.crf ?? 20), '-pix_fmt', 'yuv420p');
    if (ext === '.mp4' || ext === '.mov' || ext === '.m4v') args.push('-movflags', '+faststart');
    if (audio) args.push('-c:a', 'aac', '-b:a', '128k');
  }
  args.push(out);
  return args;
}

/**
 * Detects objects in every frame of a video and writes an annotated video (same size and frame rate).
 * The output format follows the extension (.mp4/.mkv/.mov: H.264; .webm: VP9; .gif).
 */
export async function predictVideo(
  model: Predictor | Detector,
  config: DetectorConfig & Pick<Yolov4Config, 'classNames'>,
  input: string,
  output: string,
  opts: PredictVideoOptions = {},
): Promise<PredictVideoResult> {
  const jsonFile = (opts.saveJson ?? true) ? `${output}.json` : undefined;
  await refuseOverwritingInput(input, jsonFile ? [output, jsonFile] : [output]);
  const ffmpeg = await findFfmpeg(opts.ffmpegPath);
  const info = await probeVideo(input, ffmpeg);
  const detector = model instanceof Detector ? model : Detector.wrap(model, config, opts);
  const classNames = opts.classNames ?? config.classNames;
  const batch = Math.max(1, Math.floor(opts.batch ?? 1));
  const { width, height } = info;
  const frameBytes = width * height * 3;
  await mkdir(dirname(output), { recursive: true });
  const json = jsonFile ? await VideoJsonWriter.create(jsonFile, { source: input, fps: info.fpsValue, width, height }, classNames) : undefined;

  const dec = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', input, '-map', '0:v:0', '-an', '-sn', '-dn',
    '-vf', `scale=${width}:${height}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const decErr = collect(dec.stderr);
  const enc = spawn(ffmpeg, encoderArgs(output, info, input, opts), { stdio: ['pipe', 'ignore', 'pipe'] });
  const encErr = collect(enc.stderr);
  const decExit = exited(dec);
  const encExit = exited(enc);
  // Failures are reported below with ffmpeg's own message; keep these from becoming unhandled.
  decExit.catch(() => undefined);
  encExit.catch(() => undefined);
  enc.stdin!.on('error', () => undefined);

  const t0 = performance.now();
  let frames = 0;
  let detections = 0;
  const flush = async (raws: Buffer[]) => {
    const images: RawImage[] = raws.map((data) => ({ data, width, height, channels: 3 }));
    const lbs: LetterboxResult[] = await Promise.all(images.map((im) => detector.prepare(im)));
    const dets = await detector.detectPrepared(lbs);
    for (let i = 0; i < images.length; i++) {
      opts.onFrame?.(frames, dets[i]);
      await json?.addFrame(frames, dets[i]);
      detections += dets[i].length;
      const drawn = await (await Detections.create(dets[i], { width, height }, classNames).render(images[i], opts.draw)).raw().toBuffer();
      if (drawn.length !== frameBytes) throw new InternalError(`internal: drawn frame has ${drawn.length} bytes, expected ${frameBytes}`);
      await writeAsync(enc.stdin!, drawn);
      frames++;
      const elapsed = (performance.now() - t0) / 1000;
      opts.onProgress?.({ frames, totalFrames: info.frames, fps: frames / Math.max(elapsed, 1e-9), elapsedSeconds: elapsed });
    }
  };

  try {
    let pending: Buffer[] = [];
    for await (const frame of readFrames(dec.stdout!, frameBytes)) {
      pending.push(frame);
      if (pending.length === batch) {
        await flush(pending);
        pending = [];
      }
      if (opts.maxFrames !== undefined && frames + pending.length >= opts.maxFrames) break;
    }
    if (pending.length) await flush(pending);
    if (opts.maxFrames !== undefined) dec.kill('SIGTERM');
    const decCode = await decExit;
    if (decCode !== 0 && opts.maxFrames === undefined) {
      throw new VideoError(`ffmpeg could not decode "${input}" (exit ${decCode}): ${decErr().trim().split('\n').slice(-3).join(' ')}`);
    }
    enc.stdin!.end();
    const encCode = await encExit;
    if (encCode !== 0) throw new VideoError(`ffmpeg could not encode "${output}" (exit ${encCode}): ${encErr().trim().split('\n').slice(-3).join(' ')}`);
    await json?.close();
  } catch (e) {
    await json?.abort();
    // Stop the processes this call started.
    if (dec.exitCode === null) dec.kill('SIGKILL');
    if (enc.exitCode === null) enc.kill('SIGKILL');
    const msg = (e as Error).message;
    if (/EPIPE|write after end/.test(msg)) {
      throw new VideoError(`ffmpeg encoder for "${output}" stopped: ${encErr().trim().split('\n').slice(-3).join(' ')}`);
    }
    throw e;
  }
  return { frames, width, height, fps: info.fps, detections, json: jsonFile, seconds: (performance.now() - t0) / 1000 };
}
