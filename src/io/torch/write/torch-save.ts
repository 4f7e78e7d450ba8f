/**
 * Files as torch.save (PyTorch >= 1.6, zip format) writes them: `<name>/data.pkl` (pickle protocol 2),
 * then `<name>/data/<key>` for every storage in sorted key order, then `<name>/version` ("3\n").
 * `<name>` is the file's base name without its extension, as PyTorch names the archive.
 */
import { Pickler } from './pickler.ts';
import { moduleValue, stateDictValue, type TorchModuleNode } from './modules.ts';
import { StorageTable } from './tensors.ts';
import { zipChunks, type ZipRecord } from './zip-writer.ts';

const FORMAT_VERSION = '3\n';

/** PyTorch's archive name for a path: the base name up to its last dot ("archive" if that is empty). */
export function archiveNameFor(path: string): string {
  const base = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  const name = dot >= 0 ? base.slice(0, dot) : base;
  return name || 'archive';
}

export type TorchSaveKind = 'state_dict' | 'module';

export interface TorchSaveResult {
  /** The file, in order; tensor data chunks are views of the caller's arrays. */
  chunks: Uint8Array[];
  /** The pickle alone (data.pkl). */
  pickle: Uint8Array;
}

/** torch.save(root.state_dict()) or torch.save(root), as the chunks of the file. */
export function torchSave(root: TorchModuleNode, kind: TorchSaveKind, archiveName: string): TorchSaveResult {
  const storages = new StorageTable();
  const value = kind === 'module' ? moduleValue(root, storages) : stateDictValue(root, storages);
  const pickle = Pickler.dumps(value);
  const sorted = [...storages.records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const records: ZipRecord[] = [
    { name: `${archiveName}/data.pkl`, data: pickle },
    ...sorted.map((s) => ({ name: `${archiveName}/data/${s.key}`, data: s.bytes })),
    { name: `${archiveName}/version`, data: new TextEncoder().encode(FORMAT_VERSION) },
  ];
  return { chunks: zipChunks(records), pickle };
}
