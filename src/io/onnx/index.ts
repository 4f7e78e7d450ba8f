/** ONNX export (see export.ts). */
export { exportOnnx, encodeOnnx, joinChunks, ONNX_PRODUCER_NAME, DEFAULT_ONNX_OPSET, MAX_ONNX_OPSET } from './export.ts';
export type { ExportOnnxOptions, ExportedOnnx, EncodedOnnx } from './export.ts';
export { ONNX_INPUT_NAME } from './build-graph.ts';
export type { OnnxOutputInfo } from './build-graph.ts';
export { OnnxExportError } from './errors.ts';
export { EXPORTED_LAYER_KINDS } from './layers.ts';
