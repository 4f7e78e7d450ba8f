import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { importTorchYolov4, TorchImportError, loadStateDictInto, yolov4FromStateDict } from '../src/io/torch-yolov4.ts';
import { readTorchFile } from '../src/io/torch/index.ts';
import { countTrainableParams, convWidthsOf, buildYolov4 } from '../src/model/yolov4.ts';

const dir = 'test/fixtures/torch';
const f32 = (name: string) => {
  const b = readFileSync(`${dir}/${name}`);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const widths = JSON.parse(readFileSync(`${dir}/widths.json`, 'utf8')) as Record<string, number[]>;

/** Runs the model on a PyTorch NCHW input and returns the three heads as NCHW arrays. */
function forwardNCHW(model: tf.LayersModel, input: Float32Array, size: number): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(input, [1, 3, size, size]).transpose([0, 2, 3, 1]);
    const outs = model.predict(x) as tf.Tensor[];
    return outs.map((o) => o.transpose([0, 3, 1, 2]).dataSync() as Float32Array);
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.is(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const file of ['yolov4_pruned_small.pth', 'yolov4_pruned_small_legacy.pth', 'yolov4_pruned_small_whole.pth']) {
  test(`${file}: imports with widths from tensor shapes and matches PyTorch outputs within 1e-3`, async () => {
    const { model, config } = await importTorchYolov4(`${dir}/${file}`);
    // 962,381 parameters per the fixture's README (Torch-Pruning at 0.88 of the 64,363,101 model).
    assert.is(countTrainableParams(model), 962381);
    assert.is(config.numClasses, 80);
    assert.equal(config.blocks, [1, 2, 8, 8, 4]);
    const got = convWidthsOf(model);
    for (const [torchName, [, out]] of Object.entries(widths)) {
      const name = torchName.endsWith('.conv') || torchName.startsWith('yolo_head') ? torchName : `${torchName}.conv`;
      assert.is(got[name], out, name);
    }
    const before = tf.memory().numTensors;
    for (const size of [128, 160]) {
      const outs = forwardNCHW(model, f32(`input_${size}.f32`), size);
      outs.forEach((o, i) => {
        const d = maxAbsDiff(o, f32(`out${i}_${size}.f32`));
        assert.ok(d < 1e-3, `${file} out${i} at ${size}: max |diff| ${d}`);
      });
    }
    assert.is(tf.memory().numTensors, before, 'forward leaked tensors');
    model.dispose();
  });
}

test('missing, extra and mis-shaped keys are clear errors', async () => {
  const { stateDict } = await readTorchFile(`${dir}/yolov4_pruned_small.pth`);
  const missing = new Map(stateDict);
  missing.delete('conv2.1.bn.running_var');
  assert.throws(() => yolov4FromStateDict(missing), (e: Error) => e instanceof TorchImportError && /missing.*conv2\.1\.bn\.running_var/.test(e.message));

  const extra = new Map(stateDict);
  extra.set('some.new.layer.weight', stateDict.get('yolo_head1.1.bias')!);
  assert.throws(() => yolov4FromStateDict(extra), /unexpected key.*some\.new\.layer\.weight/);

  // Same widths as the file, except one conv: the kernel's in-channels no longer fit.
  const { model } = yolov4FromStateDict(stateDict);
  const wrong = buildYolov4({ widthMultiplier: 0.25, depthMultiplier: 1 });
  assert.throws(() => loadStateDictInto(wrong, stateDict), /shape mismatch for "backbone\.conv1\.conv\.weight"/);
  wrong.dispose();
  model.dispose();
});

test('a file that is not YOLOv4 is refused by name', async () => {
  const { stateDict } = await readTorchFile(`${dir}/yolov4_pruned_small.pth`);
  const notYolo = new Map([...stateDict].filter(([k]) => !k.startsWith('backbone.conv1.')));
  assert.throws(() => yolov4FromStateDict(notYolo), /does not look like a YOLOv4 state dict/);
  let message = '';
  await importTorchYolov4(`${dir}/nope.pth`).catch((e: Error) => { message = e.message; });
  assert.match(message, /not found.*nope\.pth/);
});

test.run();
