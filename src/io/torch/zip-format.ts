/**
 * The torch.save zip format (PyTorch >= 1.6):
 *   <prefix>/data.pkl      the pickled object; storages are persistent ids
 *   <prefix>/data/<key>    raw storage bytes
 *   <prefix>/version       format version
 *   <prefix>/byteorder     'little' or 'big' (torch >= 2.1; little when absent)
 * The prefix is the file's base name or `archive`; data.pkl is found by suffix.
 */
import { ELEMENT_SIZE, HOST_LITTLE_ENDIAN, type ParsedTorchFile, type StateDict } from './types.ts';
import { TorchFormatError } from './errors.ts';
import type { StorageRef } from './objects.ts';
import { unpickle } from './pickle.ts';
import { TorchPicklePolicy } from './policy.ts';
import { findStateDict } from './state-dict.ts';
import { checkRecordSize, checkRepeatBudget, materialiseTensor, parseStoragePid, storageView } from './storage.ts';
import { ZipArchive } from './zip.ts';

/**
 * Largest data.pkl inflated. A state dict's pickle is a few hundred bytes per tensor and a whole
 * pickled YOLOv4 module well under a megabyte; the bytes of the tensors live in data/<key>.
 */
const MAX_PICKLE_BYTES = 64 * 2 ** 20;

function findDataPkl(zip: ZipArchive, source: string): string {
  const names = [...zip.entries.keys()];
  const candidates = names.filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (candidates.length === 0) {
    if (names.some((n) => n.endsWith('/constants.pkl') || n === 'constants.pkl' || /(^|\/)code\//.test(n))) {
      throw new TorchFormatError(
        `${source} is a TorchScript archive (torch.jit.save), which is not supported; ` +
          `save the model's weights with torch.save(model.state_dict(), path) instead.`,
      );
    }
    const sample = names.slice(0, 5).map((n) => `"${n}"`).join(', ');
    throw new TorchFormatError(
      `${source} is a zip archive without a data.pkl entry, so it was not written by torch.save ` +
        `(entries: ${sample || 'none'}${names.length > 5 ? ', ...' : ''}).`,
    );
  }
  // The shallowest one (torch writes exactly one, one folder deep).
  candidates.sort((a, b) => a.split('/').length - b.split('/').length);
  return candidates[0];
}

export function readZipFormat(bytes: Uint8Array, source: string): ParsedTorchFile {
  const zip = new ZipArchive(bytes, source);
  const pklName = findDataPkl(zip, source);
  const prefix = pklName.slice(0, pklName.length - 'data.pkl'.length);
  if (zip.has(`${prefix}constants.pkl`) || [...zip.entries.keys()].some((n) => n.startsWith(`${prefix}code/`))) {
    throw new TorchFormatError(
      `${source} is a TorchScript archive (torch.jit.save), which is not supported; ` +
        `save the model's weights with torch.save(model.state_dict(), path) instead.`,
    );
  }

  let fileLittleEndian = true;
  if (zip.has(`${prefix}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${prefix}byteorder`, 16, 'bytes a byte order name needs')).trim();
    if (order !== 'little' && order !== 'big') {
      throw new TorchFormatError(`${source}: unknown byte order "${order.slice(0, 20)}" in the archive.`);
    }
    fileLittleEndian = order === 'little';
  }

  const where = `${source} (${pklName})`;
  const policy = new TorchPicklePolicy({
    source,
    where,
    persistentLoad: (pid) => parseStoragePid(pid, where),
  });
  const pkl = zip.read(pklName, MAX_PICKLE_BYTES, 'bytes this reader accepts for a pickle');
  const { value } = unpickle(pkl, 0, policy, where);
  const found = findStateDict(value, source);

  // Sizes first, from the pickle and the central directory; nothing is inflated until they agree.
  const recordBytes = new Map<string, { ref: StorageRef; bytes: number }>();
  for (const t of found.tensors.values()) {
    const name = `${prefix}data/${t.storage.key}`;
    const bytes = t.storage.numel * ELEMENT_SIZE[t.storage.dtype];
    const known = recordBytes.get(name);
    if (!known || bytes > known.bytes) recordBytes.set(name, { ref: t.storage, bytes });
  }
  let storageBytes = 0;
  for (const [name, { ref, bytes }] of recordBytes) {
    const entry = zip.entries.get(name);
    if (!entry) {
      throw new TorchFormatError(
        `${source}: the storage record "${name}" referenced by the pickle is missing from the archive ` +
          `(the file is incomplete or corrupt).`,
      );
    }
    checkRecordSize(ref, entry.size, source, `"${name}"`);
    storageBytes += bytes;
  }
  checkRepeatBudget(found.tensors, storageBytes, source);

  const records = new Map<string, Uint8Array>();
  const recordOf = (ref: StorageRef): Uint8Array => {
    const name = `${prefix}data/${ref.key}`;
    let rec = records.get(name);
    if (!rec) {
      const { ref: largest, bytes } = recordBytes.get(name)!;
      rec = zip.read(name, bytes, `bytes its storage declares (${largest.numel} ${largest.dtype} elements)`);
      records.set(name, rec);
    }
    return storageView(ref, rec, source, `"${name}"`);
  };

  const swap = fileLittleEndian !== HOST_LITTLE_ENDIAN;
  const stateDict: StateDict = new Map();
  for (const [key, t] of found.tensors) {
    stateDict.set(key, materialiseTensor(t, recordOf(t.storage), swap, source, key));
  }
  return { stateDict, format: 'zip', kind: found.kind };
}
