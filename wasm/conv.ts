// Entry of src/backend/conv-kernel.wasm: our convolution kernels on the tfjs wasm backend's heap.
export { filterTransform, gemm, inputTransform, outputTransform } from './winograd';
export { directConv, packFilter } from './direct-conv';
