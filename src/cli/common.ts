/** What every verb shares: the backend flag and turning known errors into one clear line. */
import type { Argv } from 'yargs';
import type { BackendChoice } from '../backend/select.ts';
import { defaultThreads } from '../speed/wasm-threads.ts';

export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu', 'webgpu'] as const;

export function withBackend<T>(y: Argv<T>) {
  return y.option('backend', {
    choices: BACKENDS,
    default: (process.env.YOLO4_BACKEND as BackendChoice | undefined) ?? 'auto',
    describe: 'compute backend: auto tries tfjs-node-gpu, webgpu (a real GPU only), tfjs-node, wasm, cpu in that order; webgpu runs tfjs on Dawn/Vulkan, SwiftShader too when named (env YOLO4_BACKEND)',
    global: true,
  }).option('threads', {
    type: 'number',
    default: defaultThreads(),
    defaultDescription: 'every core, at most 8',
    describe: 'wasm backend threads, 1..8 (env YOLO4_THREADS), and ONNX Runtime\'s with --runtime onnx; on a machine busy with other work, fewer threads than cores can be faster',
    global: true,
  });
}

export { useBackend } from '../jobs/use-backend.ts';
