/**
 * Finding ffmpeg and reading a video's size, frame rate and duration from `ffmpeg -i` (no ffprobe needed).
 *
 * ffmpeg is found in this order: an explicit path, $FFMPEG_PATH, the npm package
 * `@ffmpeg-installer/ffmpeg` (if installed), `ffmpeg` on PATH.
 */
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Yolo4Error } from '../util/errors.ts';
import { VideoError } from './errors.ts';

export class FfmpegNotFoundError extends Yolo4Error {
  constructor(detail: string) {
    super(
      `ffmpeg not found (${detail}). Install the npm package (npm install @ffmpeg-installer/ffmpeg), `
      + 'put ffmpeg on PATH (e.g. apt install ffmpeg), or set FFMPEG_PATH.',
    );
    this.name = 'FfmpegNotFoundError';
  }
}

function runsOk(bin: string): Promise<boolean> {
  return new Promise((res) => {
    const p = spawn(bin, ['-hide_banner', '-version'], { stdio: 'ignore' });
    p.on('error', () => res(false));
    p.on('close', (code) => res(code === 0));
  });
}

let cachedFfmpeg: string | undefined;

/** The ffmpeg binary to use (see the module comment for the order); throws FfmpegNotFoundError. */
export async function findFfmpeg(explicit?: string): Promise<string> {
  if (explicit) {
    if (await runsOk(explicit)) return explicit;
    throw new FfmpegNotFoundError(`"${explicit}" does not run`);
  }
  if (cachedFfmpeg) return cachedFfmpeg;
  const tried: string[] = [];
  const env = process.env.FFMPEG_PATH;
  if (env) {
    if (await runsOk(env)) return (cachedFfmpeg = env);
    tried.push(`FFMPEG_PATH="${env}" does not run`);
  }
  try {
    const name = '@ffmpeg-installer/ffmpeg'; // optional: a variable keeps TypeScript from requiring it
    const mod = (await import(name)) as { path?: string; default?: { path?: string } };
    const p = mod.path ?? mod.default?.path;
    if (p && (await runsOk(p))) return (cachedFfmpeg = p);
    tried.push('@ffmpeg-installer/ffmpeg is installed but its binary does not run');
  } catch {
    tried.push('@ffmpeg-installer/ffmpeg is not installed');
  }
  if (await runsOk('ffmpeg')) return (cachedFfmpeg = 'ffmpeg');
  tried.push('no ffmpeg on PATH');
  throw new FfmpegNotFoundError(tried.join('; '));
}

export interface VideoInfo {
  /** Frame size after the rotation ffmpeg applies when decoding. */
  width: number;
  height: number;
  /** Frame rate as ffmpeg accepts it ("25", "30000/1001"). */
  fps: string;
  fpsValue: number;
  /** Seconds, if known. */
  duration?: number;
  /** Estimated from duration x fps, if known. */
  frames?: number;
  hasAudio: boolean;
}

/** The last `max` characters a child process writes to a stream. */
export function collect(stream: Readable | null, max = 16384): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (s: string) => { text = (text + s).slice(-max); });
  return () => text;
}

/** Reads size, frame rate and duration from `ffmpeg -i` (works without ffprobe). */
export async function probeVideo(file: string, ffmpeg?: string): Promise<VideoInfo> {
  try {
    await access(file);
  } catch {
    throw new VideoError(`video file not found: "${file}"`);
  }
  const bin = await findFfmpeg(ffmpeg);
  const p = spawn(bin, ['-hide_banner', '-nostdin', '-i', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  const err = collect(p.stderr, 65536);
  await new Promise<void>((res, rej) => { p.on('error', rej); p.on('close', () => res()); });
  const text = err();
  const stream = text.split('\n').find((l) => /Stream #\d+:\d+.*: Video:/.test(l));
  if (!stream && /Stream #\d+:\d+/.test(text)) {
    // A readable file without pictures (audio only, subtitles): say so rather than quote ffmpeg.
    const kinds = [...new Set([...text.matchAll(/Stream #\d+:\d+.*?: (\w+):/g)].map((m) => m[1].toLowerCase()))];
    throw new VideoError(`cannot read video "${file}": no video stream (it has ${kinds.join(', ')} only)`);
  }
  if (!stream) {
    const last = text.trim().split('\n').filter((l) => l.includes(file) || /error|invalid/i.test(l)).slice(-1)[0];
    throw new VideoError(`cannot read video "${file}": ${last ? last.trim() : 'no video stream'}`);
  }
  const size = /,\s*(\d{1,5})x(\d{1,5})[\s,[]/.exec(stream);
  if (!size) throw new VideoError(`cannot read video "${file}": no frame size in "${stream.trim()}"`);
  let width = Number(size[1]);
  let height = Number(size[2]);
  const rot = /rotation of (-?[\d.]+) degrees/.exec(text) ?? /rotate\s*:\s*(-?\d+)/.exec(text);
  if (rot && Math.abs(Math.round(Number(rot[1]))) % 180 === 90) [width, height] = [height, width];
  const fpsM = /([\d.]+)(k?) fps/.exec(stream) ?? /([\d.]+)(k?) tbr/.exec(stream);
  if (!fpsM) throw new VideoError(`cannot read video "${file}": no frame rate in "${stream.trim()}"`);
  const fpsValue = Number(fpsM[1]) * (fpsM[2] ? 1000 : 1);
  const fps = fpsString(fpsValue);
  const dur = /Duration: (\d+):(\d+):([\d.]+)/.exec(text);
  const duration = dur ? Number(dur[1]) * 3600 + Number(dur[2]) * 60 + Number(dur[3]) : undefined;
  return {
    width,
    height,
    fps,
    fpsValue: evalFps(fps),
    duration,
    frames: duration !== undefined ? Math.round(duration * evalFps(fps)) : undefined,
    hasAudio: /Stream #\d+:\d+.*: Audio:/.test(text),
  };
}

/** ffmpeg prints NTSC rates rounded (29.97); give them back exactly (30000/1001). */
function fpsString(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const ntsc = Math.round(v * 1.001);
  if (Math.abs(ntsc / 1.001 - v) < 0.006) return `${ntsc * 1000}/1001`;
  return String(v);
}

function evalFps(s: string): number {
  const [a, b] = s.split('/').map(Number);
  return b ? a / b : a;
}
