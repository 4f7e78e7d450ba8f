/**
 * "did you mean --weights?" for yargs' "Unknown argument(s): ..." (issue 11, C14). yargs'
 * recommendCommands() covers a misspelt verb; for flags the closest declared option is found
 * by edit distance here.
 */
import { editDistance } from '../prune/match.ts';

/** The closest of `known` to `word`, if close enough to be a typo (about a third of its letters). */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/**
 * Suggestions for yargs' unknown-argument message: `unknown` as yargs lists them (flags without
 * dashes, stray positionals too), `flags` the options the verb declares, `verbs` the verb names.
 * Returns lines like `--weigths: did you mean --weights?`.
 */
export function suggestFor(unknown: readonly string[], flags: readonly string[], verbs: readonly string[], raw: readonly string[]): string[] {
  const typedFlags = new Set(raw.filter((a) => a.startsWith('-')).map((a) => a.replace(/^-+/, '').replace(/=.*$/, '')));
  const lines: string[] = [];
  for (const u of unknown) {
    if (typedFlags.has(u)) {
      const c = closest(u, flags);
      if (c) lines.push(`--${u}: did you mean --${c}?`);
    } else {
      const c = closest(u, verbs);
      if (c) lines.push(`${u}: did you mean ${c}?`);
    }
  }
  return lines;
}

/** The names in yargs' "Unknown argument: x" / "Unknown arguments: x, y" message, else []. */
export function unknownArguments(msg: string): string[] {
  const m = /^Unknown arguments?: (.*)$/m.exec(msg);
  return m ? m[1].split(',').map((s) => s.trim()).filter(Boolean) : [];
}
