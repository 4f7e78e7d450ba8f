/**
 * Kernels of tfjs-backend-webgpu 4.22 that the project replaces on the webgpu backend only.
 *
 * AddN: tfjs binds every input as its own storage buffer in one shader, while WebGPU allows 8 per
 * stage by default (tfjs asks for no more). With more than 7 inputs, Dawn rejects the pipeline with a
 * validation message on stderr and the result is garbage, not an error (clipByGlobalNorm sums one
 * scalar per weight). tfjs's own Concat splits its inputs by that limit; this does the same for AddN:
 * a running sum over chunks, each within the limit.
 */
import * as tf from '@tensorflow/tfjs';

type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };
interface WebgpuBackendLike {
  device: { limits: { maxStorageBuffersPerShaderStage: number } };
  disposeData(dataId: object): boolean;
}

let registered = false;

export function registerWebgpuKernels(): void {
  if (registered) return;
  const own = tf.getKernel('AddN', 'webgpu');
  if (!own) return;
  const ownAddN = own.kernelFunc;
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({
    kernelName: 'AddN',
    backendName: 'webgpu',
    kernelFunc: (args) => addNInChunks(args as unknown as { inputs: TensorInfo[]; backend: WebgpuBackendLike; attrs: tf.NamedAttrMap }, ownAddN),
  });
  registered = true;
}

function addNInChunks(
  args: { inputs: TensorInfo[]; backend: WebgpuBackendLike; attrs: tf.NamedAttrMap },
  ownAddN: tf.KernelFunc,
): TensorInfo {
  const { inputs, backend, attrs } = args;
  const run = (xs: TensorInfo[]) =>
    ownAddN({ inputs: xs as unknown as tf.NamedTensorInfoMap, backend: backend as unknown as tf.KernelBackend, attrs }) as TensorInfo;
  // One storage buffer is the output.
  const max = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
  if (inputs.length <= max) return run(inputs);
  let sum = run(inputs.slice(0, max));
  for (let i = max; i < inputs.length; i += max - 1) {
    const next = run([sum, ...inputs.slice(i, i + max - 1)]);
    backend.disposeData(sum.dataId);
    sum = next;
  }
  return sum;
}
