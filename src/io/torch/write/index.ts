/**
 * A PyTorch `.pth` writer: describe a model as an nn.Module tree (modules.ts), and torchSave turns it
 * into the bytes torch.save writes for its state dict or for the whole module.
 */
export { TorchExportError } from './errors.ts';
export { archiveNameFor, torchSave, type TorchSaveKind, type TorchSaveResult } from './torch-save.ts';
export type { TorchModuleNode } from './modules.ts';
export { PyFloat, PyGlobal, PyList, PyTuple, type PyValue } from './py-value.ts';
