// --runtime onnx: the Detector runs the checkpoint exported to ONNX in memory with onnxruntime-node,
// with the tfjs path's pre- and post-processing, so its detections are the tfjs runtime's: boxes within
// 0.01 px, scores within 1e-4, same classes (and, for eval, the same mAP to 3 decimals).
import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { testIf } from './_needs.ts';
import { importDarknet } from '../src/io/darknet/index.ts';
import { importTorchYolov4 } from '../src/io/torch-yolov4.ts';
import { saveCheckpoint } from '../src/io/checkpoint.ts';
import { Detector } from '../src/predict/detector.ts';
import { OnnxPredictor, OnnxSessionError } from '../src/predict/onnx-predictor.ts';
import { loadOnnxRuntime, OnnxRuntimeMissingError } from '../src/predict/onnx-runtime.ts';
import type { Detection } from '../src/predict/nms.ts';
import { loadDatasetConfig, openDataset } from '../src/data/dataset-config.ts';
import { loadGroundTruth } from '../src/eval/coco-io.ts';
import { evaluateModelOnDataset, evalDetectorOptions } from '../src/eval/evaluate-model.ts';
import { Yolo4Error } from '../src/util/errors.ts';
import { findFfmpeg, predictVideo } from '../src/predict/video.ts';
import { measureFps } from '../src/predict/fps.ts';
import type { Yolov4Config } from '../src/model/config.ts';

let ortMissing = '';
const haveOrt = await loadOnnxRuntime().then(() => true, (e: Error) => {
  ortMissing = `${e.message}; run npm install`;
  return false;
});
const ort = (name: string, fn: () => Promise<void>) => testIf(haveOrt, name, fn, ortMissing, { requiredInCi: true });

const FASTEST = 'test/fixtures/darknet/yolo-fastest-1.1';
const IMAGES = ['dog.jpg', 'eagle.jpg', 'giraffe.jpg', 'horses.jpg', 'person.jpg', 'scream.jpg'].map((f) => `test/fixtures/images/${f}`);
const BOX_TOL = 0.01;
const SCORE_TOL = 1e-4;
const work = mkdtempSync(path.join(tmpdir(), 'yolo4-ort-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

const fastest = () => importDarknet(`${FASTEST}/yolo-fastest-1.1.cfg`, `${FASTEST}/yolo-fastest-1.1.weights`, { namesFile: `${FASTEST}/coco.names` });

interface Det { classId: number; score: number; box: number[] }

/**
 * The same detections: each tfjs one has its own onnx one of the same class, score within 1e-4 and box
 * corners within boxTol px, and the counts agree. Matched as sets, not by position: two boxes whose
 * scores differ by ~1e-7 (common with random weights) may come out of NMS in either order.
 */
function assertSameDetections(got: Det[], want: Det[], what: string, boxTol = BOX_TOL): void {
  assert.is(got.length, want.length, `${what}: ${got.length} detections with onnx, ${want.length} with tfjs`);
  const used = new Set<number>();
  want.forEach((w, i) => {
    let best = -1;
    let bestErr = Infinity;
    got.forEach((g, j) => {
      if (used.has(j) || g.classId !== w.classId || Math.abs(g.score - w.score) > SCORE_TOL) return;
      const err = Math.max(...g.box.map((v, k) => Math.abs(v - w.box[k])));
      if (err < bestErr) [best, bestErr] = [j, err];
    });
    assert.ok(best >= 0, `${what} #${i}: no onnx detection of class ${w.classId} with score ${w.score} +- ${SCORE_TOL}`);
    assert.ok(bestErr <= boxTol, `${what} #${i}: box ${w.box} is ${bestErr} px from the nearest onnx box ${got[best].box}`);
    used.add(best);
  });
}

const plain = (d: Detection): Det => ({ classId: d.classId, score: d.score, box: [...d.box] });

/** Detections of both runtimes on the sample images; returns how many were compared. */
async function compareRuntimes(loaded: { model: tf.LayersModel; config: Yolov4Config }, options: Parameters<typeof Detector.load>[1] = {}): Promise<number> {
  const tfjs = await Detector.load(loaded, options);
  const onnx = await Detector.load(loaded, { ...options, runtime: 'onnx' });
  try {
    assert.is(tfjs.runtime, 'tfjs');
    assert.is(onnx.runtime, 'onnx (cpu)', 'this machine has no CUDA provider: CPU only');
    const want = await tfjs.detect(IMAGES);
    const got = await onnx.detect(IMAGES);
    want.forEach((w, i) => assertSameDetections(got[i].map(plain), w.map(plain), IMAGES[i]));
    return want.reduce((n, w) => n + w.length, 0);
  } finally {
    tfjs.dispose();
    onnx.dispose();
  }
}

ort('Yolo-Fastest (darknet): onnx detections are the tfjs ones on the sample images', async () => {
  const loaded = await fastest();
  try {
    const n = await compareRuntimes(loaded);
    assert.ok(n >= 20, `some detections to compare: ${n}`);
  } finally {
    loaded.model.dispose();
  }
});

ort('small pruned YOLOv4 (PyTorch .pth): onnx detections are the tfjs ones, six images in one batch, at input 128', async () => {
  const loaded = await importTorchYolov4('test/fixtures/torch/yolov4_pruned_small.pth');
  try {
    // Random weights: scores near 0.4 and boxes up to the image size; ~100 detections at this threshold.
    // At 128 (the fixture's size) the worst box is 0.006 px off. At 160 and 416 boxes scaled x4.8 and x1.9
    // to the image are 0.013 and 0.022 px off, float32 noise of these random weights: tfjs' own cpu
    // and wasm backends differ by 0.011 and 0.027 px there.
    const n = await compareRuntimes(loaded, { inputSize: 128, conf: 0.4 });
    assert.ok(n >= 50, `some detections to compare: ${n}`);
  } finally {
    loaded.model.dispose();
  }
});

ort('the Detector releases the session on dispose() and leaves no tfjs tensors behind', async () => {
  const loaded = await fastest();
  const start = tf.memory().numTensors;
  const detector = await Detector.load(loaded, { runtime: 'onnx' });
  assert.ok(detector.model instanceof OnnxPredictor);
  await detector.detect(IMAGES.slice(0, 2));
  await detector.detect(IMAGES[0]);
  const predictor = detector.model;
  detector.dispose();
  assert.is(tf.memory().numTensors, start, 'no tensor of the detections, the export or the folded copy is left');
  assert.ok(predictor.isDisposed, 'the session is released');
  try {
    await detector.detect(IMAGES[0]);
    assert.unreachable('a released session does not run');
  } catch (e) {
    assert.instance(e, OnnxSessionError);
  }
  assert.is(tf.memory().numTensors, start);
  loaded.model.dispose();
});

ort('eval: the same mAP with either runtime (Yolo-Fastest on tinycoco)', async () => {
  const loaded = await fastest();
  const dc = await loadDatasetConfig('datasets/tinycoco.json');
  const dataset = await openDataset(dc, 'train');
  const groundTruth = await loadGroundTruth((dc.train as { annotations: string }).annotations);
  const stats: Record<string, number>[] = [];
  try {
    for (const runtime of ['tfjs', 'onnx'] as const) {
      const detector = await Detector.load(loaded, { ...evalDetectorOptions({}), runtime });
      try {
        const ev = await evaluateModelOnDataset(detector, loaded.config, dataset, { groundTruth, batchSize: 4, warn: () => undefined });
        stats.push(ev.result.stats as unknown as Record<string, number>);
      } finally {
        detector.dispose();
      }
    }
  } finally {
    loaded.model.dispose();
  }
  assert.ok(stats[0].AP50 > 0.01, `a real mAP to compare: ${stats[0].AP50}`);
  for (const key of ['AP', 'AP50', 'AP75']) assert.is(stats[1][key].toFixed(3), stats[0][key].toFixed(3), key);
});

const ffmpeg = await findFfmpeg().catch(() => null);
const haveBoth = haveOrt && Boolean(ffmpeg);
testIf(haveBoth, 'video and --fps: the onnx runtime gives the tfjs detections on every frame, and times its inference', async () => {
  const loaded = await fastest();
  const frames: Det[][][] = [];
  try {
    for (const runtime of ['tfjs', 'onnx'] as const) {
      const detector = await Detector.load(loaded, { runtime });
      const perFrame: Det[][] = [];
      try {
        await predictVideo(detector, loaded.config, 'test/fixtures/video/cockatoo_8frames.mp4', path.join(work, `clip-${runtime}.mp4`), {
          batch: 3, saveJson: false, onFrame: (_, dets) => perFrame.push(dets.map(plain)),
        });
        if (runtime === 'onnx') {
          const before = tf.memory().numTensors;
          const r = await measureFps(detector, loaded.config, IMAGES[0], { runs: 2, warmup: 1 });
          assert.is(r.runtime, 'onnx (cpu)');
          assert.ok(r.inferenceMs > 0 && r.detections > 0, JSON.stringify(r));
          assert.is(tf.memory().numTensors, before);
        }
      } finally {
        detector.dispose();
      }
      frames.push(perFrame);
    }
  } finally {
    loaded.model.dispose();
  }
  assert.is(frames[0].length, 8);
  assert.is(frames[1].length, 8);
  frames[0].forEach((want, i) => assertSameDetections(frames[1][i], want, `frame ${i}`));
  assert.ok(frames[0].flat().length > 0, 'some detections to compare');
}, haveOrt ? 'no ffmpeg (install @ffmpeg-installer/ffmpeg or put ffmpeg on PATH)' : ortMissing, { requiredInCi: true });

function yolo4(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/yolo4.js', ...args], { encoding: 'utf8', timeout: 180_000, env: { ...process.env, YOLO4_BACKEND: 'wasm' } },
      (e, out, err) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err }));
  });
}

ort('CLI: predict --runtime onnx writes the predictions.json of tfjs; eval --runtime onnx prints the same mAP', async () => {
  const loaded = await fastest();
  const ckpt = path.join(work, 'yolo-fastest');
  await saveCheckpoint(ckpt, loaded.model, loaded.config);
  loaded.model.dispose();
  type Prediction = { image: string; detections: { classId: number; score: number; box: number[] }[] };
  const runs: Prediction[][] = [];
  for (const runtime of ['tfjs', 'onnx']) {
    const out = path.join(work, `predict-${runtime}`);
    const r = await yolo4(['predict', '--weights', ckpt, '--source', 'test/fixtures/images', '--out', out, '--runtime', runtime]);
    assert.is(r.code, 0, r.err);
    runs.push(JSON.parse(readFileSync(path.join(out, 'predictions.json'), 'utf8')) as Prediction[]);
  }
  assert.equal(runs[1].map((p) => p.image), runs[0].map((p) => p.image));
  // The file rounds boxes to 0.01 px: values within 0.01 may round one step apart.
  runs[0].forEach((p, i) => assertSameDetections(runs[1][i].detections, p.detections, p.image, BOX_TOL + 1e-9));
  assert.ok(runs[0].reduce((n, p) => n + p.detections.length, 0) >= 20);

  const maps: string[] = [];
  for (const runtime of ['tfjs', 'onnx']) {
    const r = await yolo4(['eval', '--weights', ckpt, '--data', 'datasets/tinycoco.json', '--json', '--runtime', runtime]);
    assert.is(r.code, 0, r.err);
    const s = JSON.parse(r.out.trim().split('\n').pop()!) as Record<string, number>;
    maps.push(['AP', 'AP50', 'AP75'].map((k) => s[k].toFixed(3)).join(' '));
  }
  assert.is(maps[1], maps[0]);

  const bad = await yolo4(['predict', '--weights', ckpt, '--source', 'test/fixtures/images', '--out', path.join(work, 'x'), '--runtime', 'onnxx']);
  assert.is(bad.code, 2, 'a usage error: the runtime is not one of the choices');
  assert.match(bad.err, 'runtime');
});

test('without onnxruntime-node, --runtime onnx is a typed error (exit 1) that says how to install it', async () => {
  try {
    await loadOnnxRuntime('onnxruntime-node-not-installed');
    assert.unreachable('the import fails');
  } catch (e) {
    assert.instance(e, OnnxRuntimeMissingError);
    assert.instance(e, Yolo4Error);
    assert.is((e as Yolo4Error).exitCode, 1);
    assert.match((e as Error).message, 'npm install onnxruntime-node-not-installed');
    assert.match((e as Error).message, 'not installed');
  }
});

test.run();
