/** Backend set-up shared by every job that computes: the backend, wasm threads, the faster kernels. */
import { selectBackend, type BackendChoice } from '../backend/select.ts';
import { installSpeedups } from '../speed/install.ts';
import { enableWasmThreads } from '../speed/wasm-threads.ts';

/** Selects the backend (with wasm threads if asked) and the faster gradient kernels for training. */
export async function useBackend(choice: string, threads = Number(process.env.YOLO4_THREADS ?? 1)): Promise<void> {
  if (threads > 1 && (choice === 'auto' || choice === 'wasm')) await enableWasmThreads({ threads });
  await selectBackend(choice as BackendChoice);
  installSpeedups({ mish: false });
}
