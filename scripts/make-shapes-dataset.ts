/**
 * Generates the synthetic shapes dataset (COCO format) and its dataset config.
 *
 *   npx tsx scripts/make-shapes-dataset.ts --out datasets/shapes --train 200 --val 50 --size 256
 *     [--seed 0] [--format jpg|png] [--config datasets/shapes.json] [--name shapes]
 *
 * Writes <out>/images/{train,val}/*.jpg, <out>/annotations/instances_{train,val}.json and the config
 * (default <out>.json, paths relative to it). See src/data/shapes.ts.
 */
import { generateShapesDataset } from '../src/data/shapes.ts';

const args = process.argv.slice(2);
const value = (name: string, dflt?: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
if (args.includes('--help') || args.includes('-h')) {
  console.log('usage: npx tsx scripts/make-shapes-dataset.ts --out DIR [--train 200] [--val 50] [--size 256] [--seed 0] [--format jpg|png] [--config FILE] [--name NAME]');
  process.exit(0);
}
const int = (name: string, dflt: string, min: number): number => {
  const v = Number(value(name, dflt));
  if (!Number.isInteger(v) || v < min) {
    console.error(`--${name} must be an integer >= ${min}`);
    process.exit(2);
  }
  return v;
};
const out = value('out');
if (!out) {
  console.error('--out DIR is required (e.g. --out datasets/shapes)');
  process.exit(2);
}
const format = value('format', 'jpg');
if (format !== 'jpg' && format !== 'png') {
  console.error('--format must be jpg or png');
  process.exit(2);
}
const t0 = Date.now();
const r = await generateShapesDataset({
  outDir: out,
  train: int('train', '200', 0),
  val: int('val', '50', 0),
  size: int('size', '256', 32),
  seed: int('seed', '0', 0),
  format,
  configPath: value('config'),
  name: value('name'),
  onProgress: (done, total) => {
    if (done % 100 === 0 || done === total) process.stderr.write(`\r${done}/${total} images`);
  },
});
process.stderr.write('\n');
console.log(`wrote ${r.annotations.train}, ${r.annotations.val}`);
console.log(`config ${r.configPath} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
