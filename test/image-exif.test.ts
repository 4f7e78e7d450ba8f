// EXIF orientation: an encoded photo is decoded upright (as a viewer shows it), in size and pixels.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import { imageSize, readRgb } from '../src/image/decode.ts';
import { letterboxImage } from '../src/image/letterbox.ts';

// A 40x20 image stored as is: left half red, right half blue. Orientation 6 means "rotate 90 degrees
// clockwise to display": shown upright it is 20 wide and 40 tall, red on top, blue at the bottom.
const W = 40;
const H = 20;
const raw = new Uint8Array(W * H * 3);
for (let y = 0; y < H; y++) {
  for (let x = 0; x < W; x++) raw.set(x < W / 2 ? [255, 0, 0] : [0, 0, 255], (y * W + x) * 3);
}

async function jpeg(orientation?: number): Promise<Buffer> {
  const s = sharp(raw, { raw: { width: W, height: H, channels: 3 } });
  return (orientation ? s.withMetadata({ orientation }) : s).jpeg({ quality: 95 }).toBuffer();
}

const near = (got: ArrayLike<number>, want: number[]) => want.every((v, i) => Math.abs(got[i] - v) < 40);

test('orientation 6: size and pixels come out upright (20x40, red on top)', async () => {
  const buf = await jpeg(6);
  assert.is((await sharp(buf).metadata()).orientation, 6, 'the fixture carries the tag');
  assert.equal(await imageSize(buf), { width: 20, height: 40, hasAlpha: false });
  const img = await readRgb(buf);
  assert.equal([img.width, img.height], [20, 40]);
  const px = (x: number, y: number) => img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3);
  assert.ok(near(px(10, 5), [255, 0, 0]), `top ${Array.from(px(10, 5))}`);
  assert.ok(near(px(10, 34), [0, 0, 255]), `bottom ${Array.from(px(10, 34))}`);
  const lb = await letterboxImage(buf, 64);
  assert.equal([lb.info.origW, lb.info.origH], [20, 40]);
});

test('no orientation tag: stored as is (40x20, red on the left)', async () => {
  const buf = await jpeg();
  assert.equal(await imageSize(buf), { width: 40, height: 20, hasAlpha: false });
  const img = await readRgb(buf, { expect: { width: 40, height: 20 } });
  assert.ok(near(img.data.subarray((10 * 40 + 5) * 3), [255, 0, 0]));
});

test.run();
