/**
 * Find the state dict in an unpickled object: either a state_dict
 * (OrderedDict name -> tensor) or a whole nn.Module, whose module tree is
 * walked to produce the same flat keys as PyTorch's `model.state_dict()`.
 * A training checkpoint dict holding one of these under a usual key
 * (`state_dict`, `model_state_dict`, `model`, `net`, `module`) is unwrapped.
 */
import { TorchFormatError } from './errors.ts';
import { PendingTensor, PyInstance } from './objects.ts';
import { PyDict, PySet, pyTypeName, type PyValue } from './pickle-values.ts';

export interface FoundStateDict {
  kind: 'state_dict' | 'module';
  /** Tensors by state-dict key, in state_dict() order. */
  tensors: Map<string, PendingTensor>;
}

/** Python itself cannot pickle deeper trees (recursion limit ~1000). */
const MAX_MODULE_DEPTH = 2000;

/**
 * Modules walked, counting a shared submodule once per path to it (as state_dict() does). YOLOv4 has
 * ~500; a pickle whose modules share children level after level would otherwise expand exponentially.
 */
const MAX_MODULE_VISITS = 200_000;

const CHECKPOINT_KEYS = ['state_dict', 'model_state_dict', 'model', 'net', 'module'];

/** A module container: an instance whose state has the nn.Module bookkeeping dicts. */
function isModule(v: PyValue): v is PyInstance & { state: PyDict } {
  return (
    v instanceof PyInstance &&
    v.state !== null &&
    (v.state.entries.has('_parameters') || v.state.entries.has('_modules') || v.state.entries.has('_buffers'))
  );
}

function isStateDict(v: PyValue): boolean {
  if (!(v instanceof PyDict)) return false;
  let tensors = 0;
  for (const [k, x] of v.entries) {
    if (typeof k !== 'string') return false;
    if (x instanceof PendingTensor) tensors++;
    else if (!k.endsWith('_extra_state')) return false;
  }
  return tensors > 0 || v.entries.size === 0;
}

function describe(v: PyValue): string {
  if (v instanceof PyDict) {
    const keys = [...v.entries.keys()].slice(0, 8).map((k) => (typeof k === 'string' ? `"${k}"` : pyTypeName(k)));
    const more = v.entries.size > 8 ? `, ... (${v.entries.size} keys)` : '';
    return `a ${pyTypeName(v)} with keys ${keys.join(', ')}${more}`;
  }
  return `a ${pyTypeName(v)}`;
}

export function findStateDict(root: PyValue, where: string): FoundStateDict {
  const candidates: PyValue[] = [root];
  if (root instanceof PyDict && !isStateDict(root)) {
    for (const k of CHECKPOINT_KEYS) {
      const v = root.get(k);
      if (v !== undefined) candidates.push(v);
    }
  }
  for (const c of candidates) {
    if (isModule(c)) {
      const tensors = new Map<string, PendingTensor>();
      walkModule(c, '', tensors, new Set(), where, { visits: 0 });
      return { kind: 'module', tensors };
    }
    if (c instanceof PyDict && isStateDict(c)) {
      const tensors = new Map<string, PendingTensor>();
      for (const [k, v] of c.entries) if (v instanceof PendingTensor) tensors.set(k as string, v);
      return { kind: 'state_dict', tensors };
    }
  }
  throw new TorchFormatError(
    `${where}: the file holds ${describe(root)}, which is neither a state_dict (names -> tensors) nor a ` +
      `pickled nn.Module.`,
  );
}

function dictAttr(state: PyDict, name: string, owner: string, where: string): PyDict | null {
  const v = state.get(name);
  if (v === undefined || v === null) return null;
  if (!(v instanceof PyDict)) {
    throw new TorchFormatError(`${where}: ${owner}.${name} is a ${pyTypeName(v)}, expected an OrderedDict.`);
  }
  return v;
}

function walkModule(
  mod: PyInstance & { state: PyDict },
  prefix: string,
  out: Map<string, PendingTensor>,
  path: Set<PyInstance>,
  where: string,
  count: { visits: number },
): void {
  const owner = prefix === '' ? mod.cls.qualifiedName : prefix.slice(0, -1);
  if (path.has(mod)) throw new TorchFormatError(`${where}: the module tree has a cycle at "${owner}".`);
  if (++count.visits > MAX_MODULE_VISITS) {
    throw new TorchFormatError(
      `${where}: the module tree has more than ${MAX_MODULE_VISITS} modules (counting shared submodules once per ` +
        `path, as state_dict() does), at "${owner}"; the file is corrupt or hostile.`,
    );
  }
  if (path.size >= MAX_MODULE_DEPTH) {
    throw new TorchFormatError(`${where}: the module tree is nested more than ${MAX_MODULE_DEPTH} levels deep at "${owner}".`);
  }
  path.add(mod);

  const nonPersistent = new Set<PyValue>();
  const np = mod.state.get('_non_persistent_buffers_set');
  if (np instanceof PySet) for (const n of np.items) nonPersistent.add(n);

  const add = (dict: PyDict | null, what: string, skip: Set<PyValue>) => {
    if (!dict) return;
    for (const [name, value] of dict.entries) {
      if (value === null || skip.has(name)) continue;
      if (typeof name !== 'string') {
        throw new TorchFormatError(`${where}: ${owner}.${what} has a non-string key (${pyTypeName(name)}).`);
      }
      if (!(value instanceof PendingTensor)) {
        throw new TorchFormatError(`${where}: ${owner}.${what}["${name}"] is a ${pyTypeName(value)}, not a tensor.`);
      }
      out.set(prefix + name, value);
    }
  };
  add(dictAttr(mod.state, '_parameters', owner, where), '_parameters', new Set());
  add(dictAttr(mod.state, '_buffers', owner, where), '_buffers', nonPersistent);

  const children = dictAttr(mod.state, '_modules', owner, where);
  if (children) {
    for (const [name, child] of children.entries) {
      if (child === null) continue;
      if (typeof name !== 'string') {
        throw new TorchFormatError(`${where}: ${owner}._modules has a non-string key (${pyTypeName(name)}).`);
      }
      if (!isModule(child)) {
        throw new TorchFormatError(`${where}: ${owner}._modules["${name}"] is a ${pyTypeName(child)}, not a module.`);
      }
      walkModule(child, `${prefix}${name}.`, out, path, where, count);
    }
  }
  path.delete(mod);
}
