/**
 * The legacy torch.save format (`_use_new_zipfile_serialization=False`, and
 * every torch.save before 1.6): five pickles in a row
 *   1. the magic number 0x1950a86a20f9469cfc6c
 *   2. the protocol version 1001
 *   3. sys_info {'protocol_version', 'little_endian', 'type_sizes'}
 *   4. the object; storages are persistent ids
 *      ('storage', StorageClass, root_key, location, numel, view_metadata)
 *      and pickled nn.Module classes are ('module', cls, source_file, source)
 *   5. the list of storage keys (sorted as strings)
 * followed, for each key of that list, by an int64 element count and the raw
 * storage bytes.
 */
import { ELEMENT_SIZE, HOST_LITTLE_ENDIAN, type ParsedTorchFile, type StateDict, type TorchDType } from './types.ts';
import { TorchFormatError } from './errors.ts';
import { PyGlobal, StorageRef } from './objects.ts';
import { unpickle } from './pickle.ts';
import { PyDict, PyList, PyTuple, pyTypeName, type PyValue } from './pickle-values.ts';
import { TorchPicklePolicy } from './policy.ts';
import { findStateDict } from './state-dict.ts';
import { checkRepeatBudget, materialiseTensor, parseStoragePid, storageView } from './storage.ts';

export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
export const LEGACY_PROTOCOL = 1001;

export function readLegacyFormat(bytes: Uint8Array, source: string): ParsedTorchFile {
  const plain = (what: string) =>
    new TorchPicklePolicy({ source, where: `${source} (${what})`, allowGlobals: false });

  // 1. magic number
  const magic = unpickle(bytes, 0, plain('header'), `${source} (header)`);
  if (magic.value !== LEGACY_MAGIC) {
    throw new TorchFormatError(
      `${source} is a Python pickle but not a PyTorch checkpoint (it does not start with torch's magic ` +
        `number; its first pickle holds a value of type ${pyTypeName(magic.value)}). Only files written by torch.save are read.`,
    );
  }
  // 2. protocol version
  const proto = unpickle(bytes, magic.end, plain('header'), `${source} (header)`);
  if (proto.value !== LEGACY_PROTOCOL) {
    throw new TorchFormatError(
      `${source}: unsupported legacy torch.save protocol version ${String(proto.value)} (expected ${LEGACY_PROTOCOL}).`,
    );
  }
  // 3. sys_info
  const sysInfo = unpickle(bytes, proto.end, plain('sys_info'), `${source} (sys_info)`);
  let littleEndian = true;
  if (sysInfo.value instanceof PyDict) {
    const le = sysInfo.value.get('little_endian');
    if (typeof le === 'boolean') littleEndian = le;
  } else {
    throw new TorchFormatError(`${source}: the legacy header's sys_info is a ${pyTypeName(sysInfo.value)}, not a dict.`);
  }

  // 4. the object
  const where = `${source} (pickle)`;
  const dtypeOfKey = new Map<string, TorchDType>();
  const policy = new TorchPicklePolicy({
    source,
    where,
    persistentLoad: (pid: PyValue) => {
      if (pid instanceof PyTuple && pid.items[0] === 'module') {
        // A pickled nn.Module class with its source code: the class is read as a container, the source is ignored.
        const cls = pid.items[1];
        if (!(cls instanceof PyGlobal) || cls.role !== 'container') {
          throw new TorchFormatError(`${where}: malformed module persistent id (${pyTypeName(cls)}).`);
        }
        return cls;
      }
      const ref = parseStoragePid(pid, where);
      const known = dtypeOfKey.get(ref.key);
      if (known !== undefined && ELEMENT_SIZE[known] !== ELEMENT_SIZE[ref.dtype]) {
        throw new TorchFormatError(`${where}: storage "${ref.key}" is used with element types ${known} and ${ref.dtype}.`);
      }
      if (known === undefined) dtypeOfKey.set(ref.key, ref.dtype);
      return ref;
    },
  });
  const main = unpickle(bytes, sysInfo.end, policy, where);
  const found = findStateDict(main.value, source);

  // 5. storage keys
  const keyList = unpickle(bytes, main.end, plain('storage key list'), `${source} (storage key list)`);
  if (!(keyList.value instanceof PyList) || !keyList.value.items.every((k) => typeof k === 'string')) {
    throw new TorchFormatError(`${source}: the legacy storage key list is a ${pyTypeName(keyList.value)}, not a list of strings.`);
  }
  const keys = keyList.value.items as string[];

  // Storage records, in key-list order.
  const records = new Map<string, Uint8Array>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keyList.end;
  for (const key of keys) {
    const dtype = dtypeOfKey.get(key);
    if (dtype === undefined) {
      throw new TorchFormatError(`${source}: storage record "${key}" is not referenced by the pickle, so its element type is unknown.`);
    }
    if (pos + 8 > bytes.length) {
      throw new TorchFormatError(
        `${source}: the file is truncated: storage record "${key}" (${records.size + 1} of ${keys.length}) ` +
          `starts at byte ${pos} but the file has ${bytes.length} bytes.`,
      );
    }
    const count = view.getBigInt64(pos, littleEndian);
    const nbytes = count * BigInt(ELEMENT_SIZE[dtype]);
    if (count < 0n || nbytes > BigInt(bytes.length - pos - 8)) {
      throw new TorchFormatError(
        `${source}: the file is truncated or corrupt: storage record "${key}" (${records.size + 1} of ${keys.length}) ` +
          `declares ${count} ${dtype} elements but only ${bytes.length - pos - 8} bytes remain.`,
      );
    }
    records.set(key, bytes.subarray(pos + 8, pos + 8 + Number(nbytes)));
    pos += 8 + Number(nbytes);
  }

  let storageBytes = 0;
  for (const rec of records.values()) storageBytes += rec.length;
  checkRepeatBudget(found.tensors, storageBytes, source);

  const recordOf = (ref: StorageRef): Uint8Array => {
    const rec = records.get(ref.key);
    if (!rec) {
      throw new TorchFormatError(
        `${source}: storage "${ref.key}" is referenced by the pickle but has no record in the file ` +
          `(the file is incomplete or corrupt).`,
      );
    }
    return storageView(ref, rec, source, `"${ref.key}"`);
  };

  const swap = littleEndian !== HOST_LITTLE_ENDIAN;
  const stateDict: StateDict = new Map();
  for (const [key, t] of found.tensors) {
    stateDict.set(key, materialiseTensor(t, recordOf(t.storage), swap, source, key));
  }
  return { stateDict, format: 'legacy', kind: found.kind };
}
