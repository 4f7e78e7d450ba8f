/**
 * Output folders of tables, plots and step checkpoints (prune --sensitivity / --iterative run dirs,
 * export --format tfjs directories), under the same rule as checkpoints (checkOutputTarget): never
 * delete or overwrite anything this tool did not write. A folder may be absent or empty; one that holds
 * only names this verb writes (an earlier run) is reused with --force, and then only those names are
 * written again; a folder holding anything else, or a file, is refused.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { OutputExistsError } from './checkpoint.ts';

export interface OutputFolderRule {
  /** What the verb writes there, for messages: "a sensitivity analysis". */
  what: string;
  /** Every top-level name the verb writes (an entry matching none of them is someone else's). */
  ownNames: RegExp[];
  /** For names others use too (model.json, README.md): proof that this folder is ours. */
  vouch?: (dir: string) => Promise<boolean>;
}

export const SENSITIVITY_FOLDER: OutputFolderRule = {
  what: 'a sensitivity analysis',
  ownNames: [/^sensitivity\.(csv|json)$/, /^sensitivity(-all-\d+)?\.png$/],
};

export const ITERATIVE_FOLDER: OutputFolderRule = {
  what: 'an iterative pruning run',
  ownNames: [/^steps\.(csv|json|png)$/, /^steps-size\.png$/, /^step-\d+$/, /^best$/, /^best\.(tmp|old)-\d+-\d+$/],
};

export const TFJS_EXPORT_FOLDER: OutputFolderRule = {
  what: 'a tfjs export',
  ownNames: [/^model\.json$/, /^weights\.bin$/, /^group\d+-shard\d+of\d+\.bin$/, /^config\.json$/, /^README\.md$/],
  vouch: async (dir) => (await fs.readFile(path.join(dir, 'README.md'), 'utf8').catch(() => '')).includes(TFJS_EXPORT_STAMP),
};

/** A line of the README that `yolo4 export --format tfjs` writes (src/jobs/export.ts). */
export const TFJS_EXPORT_STAMP = 'Written by `yolo4 export --format tfjs`.';

/** `yolo4 demo --out`: the pruned checkpoint, the fine-tuning run and the drawn predictions. */
export const DEMO_FOLDER: OutputFolderRule = {
  what: 'a demo run',
  ownNames: [/^pruned$/, /^pruned\.(tmp|old)-\d+-\d+$/, /^finetune$/, /^predict$/],
};

/** `yolo4 train|finetune --out`: checkpoints, results and the arguments of the run. */
export const TRAIN_RUN_FOLDER: OutputFolderRule = {
  what: 'a training run',
  ownNames: [/^(last|best|epoch-\d+)$/, /^(last|best|epoch-\d+)\.(tmp|old)-\d+-\d+$/, /^args\.json$/, /^results\.(csv|png)$/, /^results\.csv\.tmp(-\d+)?$/],
};

/** Returns 'new' | 'empty' | 'earlier-run' or throws OutputExistsError naming the folder. */
export async function checkOutputFolder(dir: string, rule: OutputFolderRule, opts: { force?: boolean } = {}): Promise<'new' | 'empty' | 'earlier-run'> {
  const abs = path.resolve(dir);
  const shown = dir === abs ? `"${dir}"` : `"${dir}" (${abs})`;
  const st = await fs.lstat(abs).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (st === null) return 'new';
  if (!st.isDirectory()) throw new OutputExistsError(`${shown} exists and is not a directory: give a new or empty directory for ${rule.what}`);
  const entries = await fs.readdir(abs);
  if (entries.length === 0) return 'empty';
  const foreign = entries.filter((e) => !rule.ownNames.some((re) => re.test(e)));
  if (foreign.length > 0) {
    const list = foreign.slice(0, 5).map((e) => JSON.stringify(e)).join(', ') + (foreign.length > 5 ? `, ... (${foreign.length})` : '');
    throw new OutputExistsError(`${shown} holds files that are not from ${rule.what} (${list}): refusing to write into it; give a new or empty directory`);
  }
  if (rule.vouch && !(await rule.vouch(abs))) {
    throw new OutputExistsError(`${shown} is not from ${rule.what} (its files are not ours): refusing to write into it; give a new or empty directory`);
  }
  if (!opts.force) throw new OutputExistsError(`${shown} holds an earlier ${rule.what.replace(/^an? /, '')}: add --force to overwrite it, or give another --out`);
  return 'earlier-run';
}
