/**
 * A test that needs something this machine may lack (a package, ffmpeg, root, a downloaded model)
 * must not pass silently without it (issue 12). testIf registers it:
 * - present: an ordinary test;
 * - absent: with uvu's test.skip (counted under "Skipped") and a line `skipped: <name>: <why>`;
 * - absent while CI always has it (`requiredInCi`) and CI=true: a FAILING test saying what is missing.
 */
import { test } from 'uvu';

type Handler = () => void | Promise<void>;

export function testIf(have: boolean, name: string, fn: Handler, why: string, opts: { requiredInCi?: boolean } = {}): void {
  if (have) {
    test(name, fn);
  } else if (opts.requiredInCi && process.env.CI === 'true') {
    test(name, () => {
      throw new Error(`${why}, and CI=true: CI must have it, so this is a failure, not a skip`);
    });
  } else {
    console.log(`skipped: ${name}: ${why}`);
    test.skip(name, fn);
  }
}
