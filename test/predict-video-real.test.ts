import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { findFfmpeg, predictVideo, probeVideo } from '../src/predict/video.ts';
import { buildYolov4 } from '../src/model/yolov4.ts';
import { resolveConfig } from '../src/model/config.ts';
import { saveCheckpoint } from '../src/io/checkpoint.ts';
import { testIf } from './_needs.ts';

// The first 8 frames of the shared cockatoo clip (H.264 1280x720, 20 fps), cut with `ffmpeg -c copy`.
const CLIP = 'test/fixtures/video/cockatoo_8frames.mp4';
const ffmpeg = await findFfmpeg().catch(() => null);

const name = 'a real H.264 clip: same frame count, size and fps after detection and re-encoding; <out>.json lists every frame';
// Without ffmpeg the tests are reported as skipped, by name; under CI=true (CI always has the npm package) they fail.
const NO_FFMPEG = 'no ffmpeg (install @ffmpeg-installer/ffmpeg or put ffmpeg on PATH)';
testIf(Boolean(ffmpeg), name, async () => {
  const config = resolveConfig({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 2, inputSize: 64, classNames: ['a', 'b'] });
  const model = buildYolov4(config);
  const dir = mkdtempSync(join(tmpdir(), 'video-real-'));
  try {
    const input = await probeVideo(CLIP);
    assert.equal([input.width, input.height], [1280, 720]);
    const before = tf.memory().numTensors;
    const out = join(dir, 'out.mp4');
    const r = await predictVideo(model, config, CLIP, out, { conf: 0.5, batch: 2 });
    assert.is(tf.memory().numTensors, before);
    assert.is(r.frames, 8);
    const written = await probeVideo(out);
    assert.equal([written.width, written.height], [1280, 720]);
    assert.is(written.fps, input.fps);
    const frames = (await import('node:child_process')).spawnSync(ffmpeg!, ['-v', 'error', '-i', out, '-f', 'null', '-', '-progress', 'pipe:1'], { encoding: 'utf8' });
    const counted = [...frames.stdout.matchAll(/frame=(\d+)/g)].map((m) => Number(m[1])).pop();
    assert.is(counted, 8);
    const json = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { width: number; height: number; frames: { frame: number; detections: unknown[] }[] };
    assert.equal([json.width, json.height, json.frames.length], [1280, 720, 8]);
    assert.is(json.frames.reduce((a, f) => a + f.detections.length, 0), r.detections);
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}, NO_FFMPEG, { requiredInCi: true });

const cliName = 'yolo4 predict --video: prints frame and detection counts, writes <out>.json, refuses --out = the input (exit 2)';
testIf(Boolean(ffmpeg), cliName, async () => {
  const config = resolveConfig({ widthMultiplier: 1 / 16, depthMultiplier: 0.2, numClasses: 2, inputSize: 64, classNames: ['a', 'b'] });
  const model = buildYolov4(config);
  const dir = mkdtempSync(join(tmpdir(), 'video-cli-'));
  try {
    await saveCheckpoint(join(dir, 'ckpt'), model, config);
    const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/yolo4.js', 'predict', '--weights', join(dir, 'ckpt'), '--video', CLIP, '--max-frames', '2', '--conf', '0.01', ...args],
      { encoding: 'utf8', env: { ...process.env, YOLO4_BACKEND: 'wasm' } });
    const out = join(dir, 'out.mp4');
    const r = cli('--out', out);
    assert.is(r.status, 0, r.stderr);
    const json = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { frames: { detections: unknown[] }[] };
    const n = json.frames.reduce((a, f) => a + f.detections.length, 0);
    assert.is(json.frames.length, 2);
    assert.match(r.stdout, `2 frames (1280x720 at 20 fps), ${n} detections`);
    assert.match(r.stdout, `${out}.json`);

    symlinkSync(join(process.cwd(), CLIP), join(dir, 'link.mp4'));
    const size = readFileSync(CLIP).length;
    const same = cli('--out', join(dir, 'link.mp4'));
    assert.is(same.status, 2, same.stderr);
    assert.match(same.stderr, 'is the input video');
    assert.is(readFileSync(CLIP).length, size);
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}, NO_FFMPEG, { requiredInCi: true });

test.run();
