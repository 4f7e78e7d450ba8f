/**
 * `yolo4 prune --sensitivity`: every group pruned alone at each ratio and evaluated (sensitivity.ts),
 * with a progress bar; writes the table and plots to `out` and prints the most sensitive groups.
 */
import * as path from 'node:path';
import cliProgress from 'cli-progress';
import { checkOutputFolder, SENSITIVITY_FOLDER } from '../io/output-folder.ts';
import { openModel } from './open-model.ts';
import { elapsed, openPruneData, parseRatios, rankingOptions, type PruneJobOptions } from './prune-options.ts';
import { analyzeSensitivity } from './sensitivity.ts';
import { formatSensitivityTop, rankSensitivity, writeSensitivity } from './sensitivity-report.ts';

export async function runSensitivityJob(o: PruneJobOptions): Promise<void> {
  await checkOutputFolder(o.out!, SENSITIVITY_FOLDER, { force: o.force }); // before any work
  const { model, config } = await openModel(o);
  try {
    const data = o.data ? await openPruneData(o.data, false, config) : undefined;
    if (!data && !o.json) console.error('no --data: using the proxy metric (relative change of the head outputs on seeded random inputs), not mAP');
    const layers = o.layer !== undefined ? [o.layer] : o.layers;
    const bar = new cliProgress.SingleBar({
      format: 'sensitivity |{bar}| {value}/{total} {group} @ {ratio} | {duration_formatted} ETA {eta_formatted}',
      hideCursor: true, etaBuffer: 20,
    }, cliProgress.Presets.shades_classic);
    let started = false;
    const r = await analyzeSensitivity(model, config, {
      ...rankingOptions(o), dataset: data?.val, groundTruth: data?.gt, ratios: o.ratios !== undefined ? parseRatios(o.ratios) : undefined,
      layers, limit: o.limit, inputSize: o.imgSize, proxy: o.proxy, proxyImages: o.proxyImages,
      onProgress: (done, total, info) => {
        if (!started) {
          bar.start(total, 0, { group: '', ratio: '' });
          started = true;
        }
        bar.update(done, { group: info.group, ratio: info.ratio });
      },
    });
    bar.stop();
    const files = await writeSensitivity(r, o.out!);
    if (o.json) {
      console.log(JSON.stringify({ metric: r.metric, images: r.images, seconds: r.seconds, baseline: r.baseline, ranking: rankSensitivity(r), files }));
      return;
    }
    console.log(`${r.groups.length} group${r.groups.length === 1 ? '' : 's'} x ${r.ratios.length} ratio${r.ratios.length === 1 ? '' : 's'} on ${r.images} ${r.metric === 'map' ? 'val images (mAP@0.5)' : 'inputs (proxy: relative change of the head outputs)'} in ${elapsed(r.seconds)}`);
    console.log(`most sensitive (of ${r.groups.length}):\n${formatSensitivityTop(r, o.top)}`);
    console.log(`wrote ${files.csv}, ${files.json}, ${files.plots.map((p) => path.basename(p)).join(', ')}`);
  } finally {
    model.dispose();
  }
}
