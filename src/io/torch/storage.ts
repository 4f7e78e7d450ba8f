/**
 * Storages and tensor materialisation: parse the `('storage', ...)` persistent
 * ids and turn a tensor (storage, offset, size, stride) into a dense C-order
 * typed array, gathering when the strides are not contiguous.
 */
import { ELEMENT_SIZE, swapBytesInPlace, typedArrayFor, type TorchTensor } from './types.ts';
import { TorchFormatError } from './errors.ts';
import { PendingTensor, PyGlobal, StorageRef } from './objects.ts';
import { isPyInt, PyTuple, pyTypeName, type PyValue } from './pickle-values.ts';

/** Largest tensor this reader will allocate (4 GiB). */
const MAX_TENSOR_BYTES = 2 ** 32;

/**
 * Tensors may repeat storage bytes (shared storages, expanded stride-0 views), but all of them
 * together may hold at most twice the storage bytes the file has plus this much: a few hundred
 * hostile bytes must not turn into gigabytes.
 */
export const REPEAT_ALLOWANCE_BYTES = 64 * 2 ** 20;

/** What one tensor needs: its dense size and the storage elements it spans. */
export interface TensorNeed {
  numel: number;
  bytes: number;
  /** Storage elements from its offset to its last element (0 for an empty tensor). */
  span: number;
}

/**
 * Check a tensor's view against the element count its persistent id declares (no bytes are
 * read yet): it must fit, offset + extent, inside the storage.
 */
export function tensorNeed(t: PendingTensor, where: string, tensorName: string): TensorNeed {
  const es = ELEMENT_SIZE[t.storage.dtype];
  const { shape, stride, offset } = t;
  let numel = 1;
  for (const d of shape) numel *= d;
  if (numel * es > MAX_TENSOR_BYTES) {
    throw new TorchFormatError(`${where}: tensor "${tensorName}" of shape [${shape.join(', ')}] is too large to load.`);
  }
  if (numel === 0) return { numel, bytes: 0, span: 0 };
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * stride[d];
  const declared = t.storage.visibleNumel;
  if (last + 1 > declared) {
    throw new TorchFormatError(
      `${where}: tensor "${tensorName}" (shape [${shape.join(', ')}], offset ${offset}, stride [${stride.join(', ')}]) ` +
        `needs ${last + 1} elements of storage "${t.storage.key}" but the storage declares only ${declared}; ` +
        `the file is corrupt.`,
    );
  }
  return { numel, bytes: numel * es, span: last + 1 - offset };
}

/**
 * Refuse files whose tensors would multiply their storage: the dense tensors together may hold at
 * most 2 x `storageBytes` + REPEAT_ALLOWANCE_BYTES. Call before reading or allocating anything.
 */
export function checkRepeatBudget(tensors: Map<string, PendingTensor>, storageBytes: number, where: string): void {
  const allowed = 2 * storageBytes + REPEAT_ALLOWANCE_BYTES;
  let total = 0;
  let worst: { name: string; t: PendingTensor; need: TensorNeed } | null = null;
  for (const [name, t] of tensors) {
    const need = tensorNeed(t, where, name);
    total += need.bytes;
    const repeats = need.numel / Math.max(1, need.span);
    if (!worst || repeats > worst.need.numel / Math.max(1, worst.need.span)) worst = { name, t, need };
  }
  if (total <= allowed) return;
  const w = worst!;
  const view =
    w.need.numel > w.need.span
      ? `; tensor "${w.name}" (shape [${w.t.shape.join(', ')}], stride [${w.t.stride.join(', ')}]) is a stride-0 or ` +
        `overlapping view that repeats ${w.need.span} storage elements as ${w.need.numel}`
      : '';
  throw new TorchFormatError(
    `${where}: the tensors would take ${total} bytes but the file holds only ${storageBytes} bytes of storage ` +
      `(at most 2 x that + ${REPEAT_ALLOWANCE_BYTES} bytes are loaded)${view}; the file is corrupt or hostile.`,
  );
}

/**
 * Parse a storage persistent id:
 * `('storage', torch.FloatStorage, key, location, numel)` (zip format) or
 * `('storage', torch.FloatStorage, root_key, location, numel, view_metadata)` (legacy),
 * where view_metadata is None or `(view_key, offset, numel)` in elements.
 */
export function parseStoragePid(pid: PyValue, where: string): StorageRef {
  const bad = (why: string): never => {
    throw new TorchFormatError(`${where}: malformed storage persistent id: ${why}.`);
  };
  if (!(pid instanceof PyTuple)) return bad(`expected a tuple, got ${pyTypeName(pid)}`);
  const it = pid.items;
  if (it[0] !== 'storage') {
    return bad(`unsupported kind ${typeof it[0] === 'string' ? `"${it[0]}"` : pyTypeName(it[0])}`);
  }
  if (it.length !== 5 && it.length !== 6) return bad(`expected 5 or 6 fields, got ${it.length}`);
  const [, cls, key, location, numel, view] = it;
  if (!(cls instanceof PyGlobal) || cls.dtype === null || (cls.role !== 'storage' && cls.role !== 'dtype')) {
    return bad(`the storage type is a ${pyTypeName(cls)}`);
  }
  if (typeof key !== 'string' && !isPyInt(key)) return bad('the storage key is not a string');
  if (typeof location !== 'string') return bad('the location is not a string');
  if (typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0) return bad('bad element count');
  let viewInfo: { offset: number; numel: number } | null = null;
  if (view !== undefined && view !== null) {
    if (!(view instanceof PyTuple) || view.items.length !== 3) return bad('bad view metadata');
    const [, off, n] = view.items;
    if (typeof off !== 'number' || typeof n !== 'number' || !Number.isInteger(off) || !Number.isInteger(n) || off < 0 || n < 0) {
      return bad('bad view metadata');
    }
    if (off + n > numel) return bad(`view [${off}, ${off + n}) lies outside its storage of ${numel} elements`);
    viewInfo = { offset: off, numel: n };
  }
  return new StorageRef(cls.dtype, String(key), location, numel, viewInfo);
}

/** Bytes the persistent id declares for the root storage; throws when the record has fewer. */
export function checkRecordSize(ref: StorageRef, recordBytes: number, where: string, recordName: string): number {
  const want = ref.numel * ELEMENT_SIZE[ref.dtype];
  if (recordBytes < want) {
    throw new TorchFormatError(
      `${where}: storage record ${recordName} holds ${recordBytes} bytes but its persistent id declares ` +
        `${ref.numel} ${ref.dtype} elements (${want} bytes); the file is truncated or corrupt.`,
    );
  }
  return want;
}

/**
 * Bytes of the elements a storage reference can address (view applied),
 * given the bytes of its root storage record. Checks the record is long enough.
 */
export function storageView(ref: StorageRef, root: Uint8Array, where: string, recordName: string): Uint8Array {
  const es = ELEMENT_SIZE[ref.dtype];
  const want = checkRecordSize(ref, root.length, where, recordName);
  if (!ref.view) return root.subarray(0, want);
  return root.subarray(ref.view.offset * es, (ref.view.offset + ref.view.numel) * es);
}

/**
 * Copy a tensor out of its storage bytes into a dense C-order typed array.
 * `storage` holds the addressable elements of the tensor's storage reference;
 * `swap` reverses each element's bytes (file and host endianness differ).
 */
export function materialiseTensor(
  t: PendingTensor,
  storage: Uint8Array,
  swap: boolean,
  where: string,
  tensorName: string,
): TorchTensor {
  const dtype = t.storage.dtype;
  const es = ELEMENT_SIZE[dtype];
  const { shape, stride, offset } = t;
  const { numel, span } = tensorNeed(t, where, tensorName);

  if (numel > 0) {
    const available = Math.floor(storage.length / es);
    if (offset + span > available) {
      throw new TorchFormatError(
        `${where}: tensor "${tensorName}" (shape [${shape.join(', ')}], offset ${offset}, stride ` +
          `[${stride.join(', ')}]) needs ${offset + span} elements of storage "${t.storage.key}" but it holds ` +
          `only ${available}; the file is truncated or corrupt.`,
      );
    }
  }

  const out = new Uint8Array(numel * es);
  if (numel > 0) {
    let contiguous = true;
    let expected = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (shape[d] !== 1 && stride[d] !== expected) contiguous = false;
      expected *= shape[d];
    }
    if (contiguous) {
      out.set(storage.subarray(offset * es, (offset + numel) * es));
    } else {
      gather(out, storage, es, offset, shape, stride);
    }
  }
  if (swap) swapBytesInPlace(out, es);
  return { dtype, shape: [...shape], data: typedArrayFor(dtype, out, numel) };
}

/** Strided copy, innermost dimension in a tight loop. shape has at least one dim here. */
function gather(out: Uint8Array, src: Uint8Array, es: number, offset: number, shape: number[], stride: number[]): void {
  const nd = shape.length;
  const inner = shape[nd - 1];
  const innerStep = stride[nd - 1] * es;
  const idx = new Array<number>(Math.max(nd - 1, 0)).fill(0);
  let rows = 1;
  for (let d = 0; d < nd - 1; d++) rows *= shape[d];
  let o = 0;
  for (let r = 0; r < rows; r++) {
    let base = offset;
    for (let d = 0; d < nd - 1; d++) base += idx[d] * stride[d];
    let s = base * es;
    for (let i = 0; i < inner; i++, s += innerStep) {
      for (let b = 0; b < es; b++) out[o++] = src[s + b];
    }
    for (let d = nd - 2; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}
