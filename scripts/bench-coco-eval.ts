/**
 * Benchmark of evaluateCoco on a synthetic COCO-val-sized set:
 * 5,000 images x ~7 GT boxes (1..13) x 100 detections per image, 80 categories, seeded PRNG.
 * About 60% of the detections are jittered copies of GT boxes (mostly with the right class),
 * the rest random boxes; ~1% of the GT boxes are crowds.
 *
 *   npx tsx scripts/bench-coco-eval.ts [--images 5000] [--runs 3]
 *
 * For reference, pycocotools' COCOeval takes on the order of a minute (or more) for COCO val.
 */
import { evaluateCoco, formatStatsTable, type CocoDetection, type CocoGroundTruth } from '../src/eval/coco.ts';
import { validateDetections, validateGroundTruth } from '../src/eval/coco.ts';
import { mulberry32 } from '../src/util/mulberry32.ts';


function argValue(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

export function makeSyntheticCoco(
  nImages: number, detsPerImage: number, nCats: number, seed = 1234,
): { gt: CocoGroundTruth; dets: CocoDetection[] } {
  const rnd = mulberry32(seed);
  const gauss = () => {
    const u = 1 - rnd();
    const v = rnd();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const W = 640;
  const H = 480;
  const images = Array.from({ length: nImages }, (_, i) => ({ id: i + 1, width: W, height: H }));
  const categories = Array.from({ length: nCats }, (_, i) => ({ id: i + 1, name: `class${i + 1}` }));
  const annotations: CocoGroundTruth['annotations'] = [];
  const dets: CocoDetection[] = [];
  let annId = 1;
  for (const im of images) {
    const nGt = 1 + Math.floor(rnd() * 13); // mean 7
    const mine: { bbox: number[]; cat: number }[] = [];
    for (let g = 0; g < nGt; g++) {
      // log-uniform sizes so that small/medium/large all occur
      const w = Math.exp(Math.log(8) + rnd() * (Math.log(400) - Math.log(8)));
      const h = w * (0.5 + rnd());
      const x = rnd() * (W - Math.min(w, W - 1));
      const y = rnd() * (H - Math.min(h, H - 1));
      const cat = 1 + Math.floor(rnd() * nCats);
      const bbox = [x, y, w, h];
      annotations.push({
        id: annId++, image_id: im.id, category_id: cat, bbox, area: w * h * (0.6 + 0.3 * rnd()),
        iscrowd: rnd() < 0.01 ? 1 : 0,
      });
      mine.push({ bbox, cat });
    }
    for (let d = 0; d < detsPerImage; d++) {
      let bbox: number[];
      let cat: number;
      let score: number;
      if (rnd() < 0.6) {
        const g = mine[Math.floor(rnd() * mine.length)];
        const j = 0.02 + 0.25 * rnd();
        const [x, y, w, h] = g.bbox;
        bbox = [x + gauss() * j * w, y + gauss() * j * h, Math.max(1, w * (1 + gauss() * j)), Math.max(1, h * (1 + gauss() * j))];
        cat = rnd() < 0.85 ? g.cat : 1 + Math.floor(rnd() * nCats);
        score = Math.min(1, Math.max(0, 0.9 - j * 2 + 0.2 * gauss()));
      } else {
        const w = 5 + rnd() * 300;
        const h = 5 + rnd() * 300;
        bbox = [rnd() * W, rnd() * H, w, h];
        cat = 1 + Math.floor(rnd() * nCats);
        score = rnd() * 0.6;
      }
      dets.push({ image_id: im.id, category_id: cat, bbox, score: Math.round(score * 1000) / 1000 });
    }
  }
  return { gt: { images, annotations, categories }, dets };
}

async function main(): Promise<void> {
  const nImages = argValue('--images', 5000);
  const runs = argValue('--runs', 3);
  const t0 = performance.now();
  const { gt, dets } = makeSyntheticCoco(nImages, 100, 80);
  console.log(
    `synthetic set: ${gt.images.length} images, ${gt.annotations.length} GT boxes, ${dets.length} detections, ` +
      `${gt.categories.length} categories (generated in ${(performance.now() - t0).toFixed(0)} ms)`,
  );

  const tv = performance.now();
  validateGroundTruth(gt);
  validateDetections(gt, dets);
  console.log(`validation alone: ${(performance.now() - tv).toFixed(0)} ms`);

  const times: number[] = [];
  const cpuTimes: number[] = [];
  let result: ReturnType<typeof evaluateCoco> | undefined;
  for (let i = 0; i < runs; i++) {
    const ts = performance.now();
    const cpu0 = process.cpuUsage();
    result = evaluateCoco(gt, dets);
    const cpu = process.cpuUsage(cpu0);
    times.push(performance.now() - ts);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
    console.log(`run ${i + 1}: ${(times[i] / 1000).toFixed(3)} s wall, ${(cpuTimes[i] / 1000).toFixed(3)} s cpu`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(formatStatsTable(result!.stats));
  console.log(
    `evaluateCoco (validate + evaluate + accumulate + summarize): median of ${runs} = ` +
      `${(median(times) / 1000).toFixed(3)} s wall (${(median(cpuTimes) / 1000).toFixed(3)} s cpu)`,
  );
  const mem = process.memoryUsage();
  console.log(`rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
}
