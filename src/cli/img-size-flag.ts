import type { Argv } from 'yargs';

/**
 * `--img-size` is the input size of every verb (issue 12: one word for one thing). `--input-size`,
 * its old name on prune/info/import/import-darknet, still works but is not shown in --help: yargs
 * prints every alias, so it is a hidden option of its own (INPUT_SIZE_ALIAS), copied to --img-size
 * after validation (both are checked by the same rule in cli/validate-flags.ts). Giving both is a
 * usage error. A verb declares `.option('img-size', ...)` and `.option('input-size', INPUT_SIZE_ALIAS)`
 * and wraps its builder's yargs in withImgSizeAlias.
 */
export const INPUT_SIZE_ALIAS = { type: 'number', hidden: true } as const;

export function withImgSizeAlias<T>(y: Argv<T>): Argv<T> {
  return y
    .conflicts('img-size', 'input-size')
    .middleware((argv) => {
      const a = argv as Record<string, unknown>;
      if (a['img-size'] === undefined && a['input-size'] !== undefined) {
        a['img-size'] = a['input-size'];
        a.imgSize = a['input-size'];
      }
    });
}
