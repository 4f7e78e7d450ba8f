/**
 * Tensors as torch.save pickles them: `_rebuild_tensor_v2(storage, offset, size, stride,
 * requires_grad, OrderedDict())`, the storage written out of band under the persistent id
 * `('storage', torch.<Type>Storage, key, 'cpu', numel)`. Keys are '0', '1', ... in the order the
 * pickler first meets each storage, as torch.save numbers them; each tensor has its own storage.
 */
import { HOST_LITTLE_ENDIAN, STORAGE_DTYPES, swapBytesInPlace, ELEMENT_SIZE, type TorchDType, type TorchTensor } from '../types.ts';
import { TorchExportError } from './errors.ts';
import { orderedDict, PyFreshStr, PyGlobal, PyPersistent, PyReduce, PyTuple, type PyValue } from './py-value.ts';

const REBUILD_TENSOR = new PyGlobal('torch._utils', '_rebuild_tensor_v2');
const REBUILD_PARAMETER = new PyGlobal('torch._utils', '_rebuild_parameter');

/** torch.<Name>Storage for a dtype (the inverse of the reader's table, without UntypedStorage). */
function storageClass(dtype: TorchDType): PyGlobal {
  const name = Object.keys(STORAGE_DTYPES).find((k) => STORAGE_DTYPES[k] === dtype && k !== 'UntypedStorage');
  if (!name) throw new TorchExportError(`no PyTorch storage type for dtype ${dtype}`);
  return new PyGlobal('torch', name);
}

function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Row-major strides: what a contiguous tensor of this shape reports. */
function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = step;
    step *= shape[i];
  }
  return strides;
}

/** The little-endian bytes of a tensor's elements (a view when the host is little-endian). */
function littleEndianBytes(t: TorchTensor): Uint8Array {
  const view = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (HOST_LITTLE_ENDIAN) return view;
  const copy = view.slice();
  swapBytesInPlace(copy, ELEMENT_SIZE[t.dtype]);
  return copy;
}

export interface StorageRecord {
  key: string;
  bytes: Uint8Array;
}

/** Numbers the storages as they are pickled and keeps their bytes for the archive. */
export class StorageTable {
  private readonly keys = new Map<TorchTensor, PyFreshStr>();
  readonly records: StorageRecord[] = [];

  /** `_rebuild_tensor_v2(...)` for a detached tensor (requires_grad False). */
  tensor(t: TorchTensor): PyReduce {
    const numel = numelOf(t.shape);
    if (t.data.length !== numel) {
      throw new TorchExportError(`tensor of shape [${t.shape}] holds ${t.data.length} elements, not ${numel}`);
    }
    const pid = new PyTuple(['storage', storageClass(t.dtype), this.keyOf(t), 'cpu', numel]);
    const args: PyValue[] = [
      new PyPersistent(pid), 0, new PyTuple(t.shape), new PyTuple(contiguousStrides(t.shape)), false, orderedDict(),
    ];
    return new PyReduce(REBUILD_TENSOR, new PyTuple(args));
  }

  /** `_rebuild_parameter(tensor, True, OrderedDict())`: an nn.Parameter as a pickled module holds it. */
  parameter(t: TorchTensor): PyReduce {
    return new PyReduce(REBUILD_PARAMETER, new PyTuple([this.tensor(t), true, orderedDict()]));
  }

  private keyOf(t: TorchTensor): PyFreshStr {
    let key = this.keys.get(t);
    if (!key) {
      key = new PyFreshStr(String(this.keys.size));
      this.keys.set(t, key);
      this.records.push({ key: key.value, bytes: littleEndianBytes(t) });
    }
    return key;
  }
}
