/**
 * Public types (tensor, state dict, parse result) and the dtype tables:
 * PyTorch storage class names, element sizes and the typed array of each dtype.
 */

export type TorchDType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

export type TorchTensorData =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array;

/** A dense tensor in C (row-major) order. float16/bfloat16 hold raw bits in a Uint16Array. */
export interface TorchTensor {
  dtype: TorchDType;
  shape: number[];
  data: TorchTensorData;
}

/** Keys like 'backbone.conv1.conv.weight', in the order PyTorch's state_dict() gives. */
export type StateDict = Map<string, TorchTensor>;

export interface ParsedTorchFile {
  stateDict: StateDict;
  /** 'zip' for torch >= 1.6 torch.save, 'legacy' for _use_new_zipfile_serialization=False. */
  format: 'zip' | 'legacy';
  /** 'state_dict' for a saved state dict, 'module' for a pickled nn.Module (torch.save(model)). */
  kind: 'state_dict' | 'module';
}

export const ELEMENT_SIZE: Readonly<Record<TorchDType, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** `torch.<Name>Storage` class names (also `torch.cuda.<Name>Storage`) to dtypes. */
export const STORAGE_DTYPES: Readonly<Record<string, TorchDType>> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  // A raw byte storage (torch >= 1.13 can pickle one when an UntypedStorage is saved directly).
  UntypedStorage: 'uint8',
};

/** Storage classes that exist in PyTorch but that this reader cannot represent. */
export const UNSUPPORTED_STORAGES: ReadonlySet<string> = new Set([
  'ComplexFloatStorage',
  'ComplexDoubleStorage',
  'ComplexHalfStorage',
  'QInt8Storage',
  'QUInt8Storage',
  'QInt32Storage',
  'QUInt4x2Storage',
  'QUInt2x4Storage',
]);

/** `torch.float32`-style dtype globals (values only; used by newer pickles next to storages). */
export const TORCH_DTYPE_NAMES: Readonly<Record<string, TorchDType>> = {
  float32: 'float32',
  float: 'float32',
  float64: 'float64',
  double: 'float64',
  float16: 'float16',
  half: 'float16',
  bfloat16: 'bfloat16',
  int64: 'int64',
  long: 'int64',
  int32: 'int32',
  int: 'int32',
  int16: 'int16',
  short: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

/**
 * Wrap little-endian element bytes (a fresh, 0-offset buffer of exactly
 * `numel * ELEMENT_SIZE[dtype]` bytes) as the typed array for `dtype`.
 */
export function typedArrayFor(dtype: TorchDType, bytes: Uint8Array, numel: number): TorchTensorData {
  const buf = bytes.buffer as ArrayBuffer;
  const off = bytes.byteOffset;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, off, numel);
    case 'float64':
      return new Float64Array(buf, off, numel);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buf, off, numel);
    case 'int64':
      return new BigInt64Array(buf, off, numel);
    case 'int32':
      return new Int32Array(buf, off, numel);
    case 'int16':
      return new Int16Array(buf, off, numel);
    case 'int8':
      return new Int8Array(buf, off, numel);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf, off, numel);
  }
}

/** True when this machine stores numbers little-endian (every platform Node supports in practice). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverse the byte order of every `elementSize`-byte element, in place. */
export function swapBytesInPlace(bytes: Uint8Array, elementSize: number): void {
  if (elementSize === 1) return;
  for (let i = 0; i + elementSize <= bytes.length; i += elementSize) {
    for (let a = i, b = i + elementSize - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}
