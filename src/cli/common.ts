/** What every verb shares: the backend flag and turning known errors into one clear line. */
import type { Argv } from 'yargs';
import type { BackendChoice } from '../backend/select.ts';

export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

export function withBackend<T>(y: Argv<T>) {
  return y.option('backend', {
    choices: BACKENDS,
    default: (process.env.YOLO4_BACKEND as BackendChoice | undefined) ?? 'auto',
    describe: 'compute backend: auto tries tfjs-node-gpu, tfjs-node, wasm, cpu in that order (env YOLO4_BACKEND)',
    global: true,
  }).option('threads', {
    type: 'number',
    default: process.env.YOLO4_THREADS ? Number(process.env.YOLO4_THREADS) : 1,
    describe: 'wasm backend threads, 1..8 (env YOLO4_THREADS), and ONNX Runtime\'s with --runtime onnx; more than the free cores makes it slower',
    global: true,
  });
}

export { useBackend } from '../jobs/use-backend.ts';
