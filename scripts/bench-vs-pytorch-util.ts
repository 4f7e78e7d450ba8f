/** Shared helpers for the speed benchmarks (scripts/bench-vs-pytorch*.ts, bench-pruned-speed.ts). */
import * as fs from 'node:fs';
import { selectBackend, type BackendChoice } from '../src/backend/select.ts';
import { enableWasmThreads, wasmThreadsCount } from '../src/speed/wasm-threads.ts';

export const args = process.argv.slice(2);
export const flag = (name: string) => args.includes(`--${name}`);
export const value = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const loadavg = () => {
  try {
    return fs.readFileSync('/proc/loadavg', 'utf8').trim().split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
};

/** Starts a backend; for wasm with threads > 1 first enables the threaded build. Returns a label. */
export async function startBackend(choice: BackendChoice, threads: number): Promise<{ name: string; threads: number; label: string }> {
  if (choice === 'wasm' && threads > 1) await enableWasmThreads({ threads });
  const r = await selectBackend(choice, { quiet: true });
  const t = r.name === 'wasm' ? ((await wasmThreadsCount()) ?? 1) : r.name === 'cpu' ? 1 : threads;
  return { name: r.name, threads: t, label: `tfjs ${r.name} (${r.detail.replace(/\d+ threads?/, `${t} thread${t === 1 ? '' : 's'}`)})` };
}

/** Runs f once to warm up, then `runs` times; returns milliseconds per run. */
export async function timeRuns(f: () => Promise<void> | void, runs: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await f();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    out.push(performance.now() - t0);
  }
  return out;
}

export function markdownTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export const fmtS = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
