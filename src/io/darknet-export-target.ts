/**
 * `yolo4 export --format darknet` output under the --out rule (checkpoint.ts): `<prefix>.cfg`,
 * `.weights` and `.names` are written only when none of them exists, or with --force when they are an
 * earlier export of ours: the .cfg starts with EXPORT_MARKER (a comment darknet and OpenCV skip).
 * A user's own yolov4.cfg / .weights next to the prefix is therefore never overwritten.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { Yolov4Config } from '../model/config.ts';
import { OutputExistsError } from './checkpoint.ts';
import { exportDarknetFiles } from './darknet/index.ts';
import { writeFileAtomic } from '../util/atomic-file.ts';
import { existingOutputHead } from './existing-output.ts';

export interface ExportedDarknet {
  cfgPath: string;
  weightsPath: string;
  namesPath: string;
}

export const EXPORT_MARKER = '# written by yolo4-prune export';

/** The prefix of the three files: `out` itself, or `<out>/<model name>` for a directory or a path ending in "/". */
export async function darknetExportPrefix(out: string, name: string): Promise<string> {
  const isDir = /[\\/]$/.test(out) || (await fs.stat(out).then((s) => s.isDirectory(), () => false));
  return isDir ? path.join(out, name) : out;
}

export async function writeDarknetExport(
  model: tf.LayersModel, config: Yolov4Config, out: string, opts: { force?: boolean } = {},
): Promise<ExportedDarknet> {
  const prefix = await darknetExportPrefix(out, config.name || model.name);
  const files = { cfgPath: `${prefix}.cfg`, weightsPath: `${prefix}.weights`, namesPath: `${prefix}.names` };
  await checkDarknetTarget(files, Boolean(opts.force));
  const { cfgText, weights } = exportDarknetFiles(model, config);
  // .cfg last: its marker vouches for the other two. Each file is written whole, then renamed over.
  await writeFileAtomic(files.weightsPath, [weights]);
  await writeFileAtomic(files.namesPath, [Buffer.from(`${config.classNames.join('\n')}\n`)]);
  await writeFileAtomic(files.cfgPath, [Buffer.from(`${EXPORT_MARKER}\n${cfgText}`)]);
  return files;
}

async function checkDarknetTarget(files: ExportedDarknet, force: boolean): Promise<void> {
  const existing: string[] = [];
  for (const f of [files.cfgPath, files.weightsPath, files.namesPath]) {
    if (await existingOutputHead(f, 0, 'give another --out')) existing.push(f);
  }
  if (existing.length === 0) return;
  const list = existing.map((f) => `"${f}"`).join(', ');
  if (!(await isOurExport(files.cfgPath))) {
    throw new OutputExistsError(`${list} already exist${existing.length === 1 ? 's' : ''} and ${files.cfgPath} was not written by yolo4 export: refusing to overwrite; give another --out`);
  }
  if (!force) throw new OutputExistsError(`${list} hold an earlier export: add --force to overwrite it, or give another --out`);
}

async function isOurExport(cfgPath: string): Promise<boolean> {
  const fh = await fs.open(cfgPath, 'r').catch(() => null);
  if (fh === null) return false;
  try {
    const buf = Buffer.alloc(EXPORT_MARKER.length);
    await fh.read(buf, 0, buf.length, 0);
    return buf.toString('utf8') === EXPORT_MARKER;
  } finally {
    await fh.close();
  }
}
