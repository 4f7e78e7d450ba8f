/**
 * A verb's module, typed: `defineVerb` infers the argv from the builder's flags and checks that the
 * handler reads only what the builder declared, then erases that type so all verbs fit in one list.
 */
import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs';

/** The global flags (common.ts withBackend, declared on the root), present in every verb's argv. */
export interface GlobalFlags { backend: string; threads: number }

/** A verb as yargs takes it, its own flags' types erased. */
export interface Verb extends CommandModule {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv;
}

export interface VerbDefinition<Flags> {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv<Flags>;
  handler: (argv: ArgumentsCamelCase<Flags> & GlobalFlags) => Promise<void>;
}

export function defineVerb<Flags>(v: VerbDefinition<Flags>): Verb {
  return {
    command: v.command,
    describe: v.describe,
    builder: (y) => v.builder(y),
    // yargs hands the handler what the builder (and the root's global flags) declared.
    handler: (argv) => v.handler(argv as ArgumentsCamelCase<Flags> & GlobalFlags),
  };
}
