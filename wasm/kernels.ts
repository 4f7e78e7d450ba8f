// Entry of src/backend/kernels.wasm: our kernels on the tfjs wasm backend's heap, one module so that
// one set of threads runs them all (src/backend/heap-engine.ts).
export { filterTransform, gemm, inputTransform, outputTransform } from './winograd';
export { directConv, packFilter } from './direct-conv';
export { leakyRelu, mishBackward, mishForward } from './elementwise';
