/**
 * An nn.Module tree and the two things torch.save makes of it:
 * - `stateDictValue`: what `model.state_dict()` is, an OrderedDict of detached tensors in
 *   state_dict() order (each module's parameters, then its buffers, then its children) with the
 *   `_metadata` attribute holding every module's `_version`;
 * - `moduleValue`: the module object itself (`torch.save(model)`), every module an instance whose
 *   `__dict__` has nn.Module's bookkeeping fields (as PyTorch 1.13 sets them) and then its own.
 */
import type { TorchTensor } from '../types.ts';
import { orderedDict, PyDict, PyFreshStr, PyGlobal, PyInstance, PyList, PyReduce, PyTuple, type PyValue } from './py-value.ts';
import type { StorageTable } from './tensors.ts';

export interface TorchModuleNode {
  /** The Python class, e.g. new PyGlobal('torch.nn.modules.conv', 'Conv2d'). */
  cls: PyGlobal;
  /** The class's `_version`, saved in the state dict's metadata (BatchNorm 2, most modules 1). */
  version: number;
  /** Parameters in registration order; null for a parameter set to None (a conv without bias). */
  params: [string, TorchTensor | null][];
  buffers: [string, TorchTensor][];
  children: [string, TorchModuleNode][];
  /** The module's own `__dict__` entries after `_modules`, in the order `__init__` sets them. */
  attrs: [string, PyValue][];
}

const SET = new PyGlobal('__builtin__', 'set');

/** A module name as Python holds it: identifiers are interned, `str(i)` of a container is not. */
function childName(name: string): PyValue {
  return /^\d+$/.test(name) ? new PyFreshStr(name) : name;
}

/** `prefix + name`: a string built at run time, its own object. */
const joined = (prefix: string, name: string) => new PyFreshStr(prefix + name);

export function stateDictValue(root: TorchModuleNode, storages: StorageTable): PyReduce {
  const items: [PyValue, PyValue][] = [];
  const metadata: [PyValue, PyValue][] = [];
  const walk = (node: TorchModuleNode, prefix: string) => {
    metadata.push([new PyFreshStr(prefix.slice(0, -1)), new PyDict([['version', node.version]])]);
    for (const [name, t] of node.params) if (t) items.push([joined(prefix, name), storages.tensor(t)]);
    for (const [name, t] of node.buffers) items.push([joined(prefix, name), storages.tensor(t)]);
    for (const [name, child] of node.children) walk(child, `${prefix}${name}.`);
  };
  walk(root, '');
  return orderedDict(items, new PyDict([['_metadata', orderedDict(metadata)]]));
}

export function moduleValue(node: TorchModuleNode, storages: StorageTable): PyInstance {
  const params = node.params.map(([name, t]): [PyValue, PyValue] => [name, t ? storages.parameter(t) : null]);
  const buffers = node.buffers.map(([name, t]): [PyValue, PyValue] => [name, storages.tensor(t)]);
  const state: [PyValue, PyValue][] = [
    ['training', false],
    ['_parameters', orderedDict(params)],
    ['_buffers', orderedDict(buffers)],
    ['_non_persistent_buffers_set', new PyReduce(SET, new PyTuple([new PyList([])]))],
    ['_backward_hooks', orderedDict()],
    ['_is_full_backward_hook', null],
    ['_forward_hooks', orderedDict()],
    ['_forward_pre_hooks', orderedDict()],
    ['_state_dict_hooks', orderedDict()],
    ['_load_state_dict_pre_hooks', orderedDict()],
    ['_load_state_dict_post_hooks', orderedDict()],
  ];
  // Storage keys are numbered as tensors are wrapped: wrap them in pickling order (own tensors, then children).
  state.push(['_modules', orderedDict(node.children.map(([name, child]) => [childName(name), moduleValue(child, storages)]))]);
  state.push(...node.attrs);
  return new PyInstance(node.cls, new PyDict(state));
}
