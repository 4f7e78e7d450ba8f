/**
 * The detections file of a video prediction, `<out>.json`:
 * `{ source, fps, width, height, frames: [{ frame, detections: [{ class, classId, score, box }] }] }`,
 * with the same detection objects as the images' `predictions.json`. Frames are appended as they come
 * (memory stays flat on long videos) to a `.partial` file that is renamed only when the video is done,
 * so a failed run never leaves a truncated JSON that looks complete.
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { Detections } from './detections.ts';
import type { Detection } from './nms.ts';

export interface VideoJsonHeader {
  source: string;
  fps: number;
  width: number;
  height: number;
}

export class VideoJsonWriter {
  private frames = 0;
  private constructor(private readonly file: string, private readonly fh: FileHandle, private readonly classNames: string[]) {}

  static async create(file: string, header: VideoJsonHeader, classNames: string[]): Promise<VideoJsonWriter> {
    const fh = await open(`${file}.partial`, 'w');
    const head = JSON.stringify(header, null, 2);
    await fh.write(`${head.slice(0, -2)},\n  "frames": [`);
    return new VideoJsonWriter(file, fh, classNames);
  }

  async addFrame(frame: number, detections: Detection[]): Promise<void> {
    const entry = JSON.stringify({ frame, detections: Detections.create(detections, { width: 0, height: 0 }, this.classNames) });
    await this.fh.write(`${this.frames++ ? ',' : ''}\n    ${entry}`);
  }

  /** Finishes the file and moves it into place. */
  async close(): Promise<void> {
    await this.fh.write(`${this.frames ? '\n  ' : ''}]\n}\n`);
    await this.fh.close();
    await rename(`${this.file}.partial`, this.file);
  }

  /** Drops the unfinished file (after a failure). */
  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await rm(`${this.file}.partial`, { force: true });
  }
}
