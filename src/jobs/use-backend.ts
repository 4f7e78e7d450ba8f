/** Backend set-up shared by every job that computes: the backend, wasm threads, the faster kernels. */
import { selectBackend, type BackendChoice } from '../backend/select.ts';
import { installSpeedups } from '../speed/install.ts';
import { defaultThreads, enableWasmThreads, wasmThreadsUnavailable } from '../speed/wasm-threads.ts';

/**
 * Selects the backend (the wasm one with `threads` threads, by default every core) and the faster
 * gradient kernels for training. Where the threaded build cannot start, it runs on one thread and
 * says why in one line.
 */
export async function useBackend(choice: string, threads = defaultThreads()): Promise<void> {
  if (threads > 1 && (choice === 'auto' || choice === 'wasm')) {
    const why = wasmThreadsUnavailable();
    if (why) console.error(`wasm: ${threads} threads asked, running on 1 thread: ${why}`);
    else await enableWasmThreads({ threads });
  }
  await selectBackend(choice as BackendChoice);
  installSpeedups({ mish: false });
}
