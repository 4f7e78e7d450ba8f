/**
 * Test helper (not a test), run in a child process by the io-hostile tests: loads each hostile file
 * given on the command line and prints, per file, the error it raised and how far the process's peak
 * RSS rose above its RSS just before the load. A separate process makes the peak measurable (the
 * parent's peak carries every earlier test) and keeps a runaway allocation away from the test runner.
 *
 *   node --import tsx test/_hostile-child.ts torch a.pth b.pth
 *   node --import tsx test/_hostile-child.ts darknet-cfg a.cfg
 */
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Peak RSS since the last reset, in bytes. On Linux the peak is reset before each file (writing 5 to
 * /proc/self/clear_refs resets VmHWM), so a peak reached earlier (module loading, a GC that had not
 * run yet on a loaded machine) is not counted against the file; elsewhere getrusage's lifetime peak.
 */
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function peakRss(reset: boolean): number {
  if (reset) {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  }
  return process.resourceUsage().maxRSS * 1024;
}

type Loader = (path: string) => unknown;

async function loaderFor(kind: string): Promise<Loader> {
  if (kind === 'torch') {
    const { parseTorchBytes } = await import('../src/io/torch/index.ts');
    return (p) => parseTorchBytes(new Uint8Array(readFileSync(p)), p);
  }
  if (kind === 'darknet-cfg') {
    const { importDarknetText } = await import('../src/io/darknet/index.ts');
    return (p) => importDarknetText(readFileSync(p, 'utf8'), undefined, { cfgSource: p }).model.dispose();
  }
  throw new Error(`unknown kind ${kind}`);
}

const [kind, ...files] = process.argv.slice(2);
const load = await loaderFor(kind);
for (const file of files) {
  const reset = resetPeak();
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  let error: { name: string; message: string } | null = null;
  try {
    load(file);
  } catch (e) {
    error = { name: (e as Error).name, message: (e as Error).message };
  }
  const ms = performance.now() - t0;
  const peakGrowthMB = (peakRss(reset) - rssBefore) / 2 ** 20;
  console.log(JSON.stringify({ file, error, ms, peakGrowthMB }));
}
