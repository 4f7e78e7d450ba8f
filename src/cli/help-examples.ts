/**
 * Examples in `--help`, each command whole on its own line (issue 11, C14). yargs lays examples
 * out as a two-column table capped at half the width, so a long command was cut in two (a copied
 * example then fails); here the verbs' .example() calls are collected instead and printed after
 * yargs' help text without any wrapping.
 */
import type { Argv } from 'yargs';
import type { Verb } from './verb.ts';

export interface Example {
  command: string;
  description: string;
}

/** The examples of the verb whose builder ran (only the matched verb's builder runs). */
export const collectedExamples: Example[] = [];

/** `m` with its builder's .example() calls recorded in collectedExamples, not given to yargs. */
export function collectingExamples(m: Verb): Verb {
  const build = m.builder;
  return {
    ...m,
    builder: (y: Argv) => {
      const original = y.example;
      const record = (command: string | [string, string?][], description?: string) => {
        const list = Array.isArray(command) ? command : [[command, description] as [string, string?]];
        for (const [c, d] of list) collectedExamples.push({ command: c, description: d ?? '' });
        return y;
      };
      y.example = record as typeof y.example;
      try {
        return build(y);
      } finally {
        y.example = original;
      }
    },
  };
}

/** The "Examples:" block: description, then the command on one line, indented. */
export function formatExamples(examples: readonly Example[], scriptName: string): string {
  if (examples.length === 0) return '';
  const lines = ['Examples:'];
  for (const e of examples) {
    if (e.description) lines.push(`  ${e.description}:`);
    lines.push(`    ${e.command.replace(/\$0/g, scriptName)}`);
  }
  return lines.join('\n');
}

/**
 * yargs' help text with the collected examples appended, and a space put back where cliui glued an
 * option's "[boolean]"/"[number]"... to a description filling the line ("else[boolean]").
 */
export function withExamples(helpText: string, scriptName: string): string {
  const text = helpText.replace(/(\S)(\[(?:boolean|number|string|array|count|required|choices:|default:|deprecated))/g, '$1 $2');
  const block = formatExamples(collectedExamples, scriptName);
  return block ? `${text.replace(/\s*$/, '')}\n\n${block}` : text;
}
