/**
 * The allow-list of pickle globals for torch files: which `module.name` pairs may appear, and the
 * role each plays (OrderedDict, set, tensor rebuild function, storage type, dtype, container class).
 * Anything classifyGlobal returns null for is refused by the policy.
 */
import { DENIED_TOP_LEVEL_MODULES } from './denied-modules.ts';
import { PyGlobal, type GlobalRole } from './objects.ts';
import { STORAGE_DTYPES, TORCH_DTYPE_NAMES } from './types.ts';

const EXACT_GLOBALS: Readonly<Record<string, GlobalRole>> = {
  'collections.OrderedDict': 'OrderedDict',
  'builtins.set': 'set',
  '__builtin__.set': 'set',
  'builtins.frozenset': 'frozenset',
  '__builtin__.frozenset': 'frozenset',
  'builtins.object': 'object',
  '__builtin__.object': 'object',
  'copyreg._reconstructor': 'reconstructor',
  'copy_reg._reconstructor': 'reconstructor',
  'torch._utils._rebuild_tensor_v2': 'rebuild_tensor_v2',
  'torch._utils._rebuild_tensor': 'rebuild_tensor',
  'torch._utils._rebuild_parameter': 'rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state': 'rebuild_parameter_with_state',
  'torch._utils._rebuild_from_type_v2': 'rebuild_from_type_v2',
  'torch.Tensor': 'tensor_type',
  'torch._tensor.Tensor': 'tensor_type',
  'torch.nn.parameter.Parameter': 'tensor_type',
  'torch.Size': 'size',
  'torch.device': 'device',
};

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** torch.nn submodules that hold functions, not classes. */
const TORCH_NN_FUNCTION_MODULES = new Set(['torch.nn.functional', 'torch.nn.init']);

/**
 * Classify `module.name`. Returns null when the global must be refused.
 * Exported for tests and for callers that want to explain the policy.
 */
export function classifyGlobal(module: string, name: string): PyGlobal | null {
  const qualified = `${module}.${name}`;
  const exact = EXACT_GLOBALS[qualified];
  if (exact) return new PyGlobal(module, name, exact);

  if ((module === 'torch' || module === 'torch.cuda') && Object.hasOwn(STORAGE_DTYPES, name)) {
    return new PyGlobal(module, name, 'storage', STORAGE_DTYPES[name]);
  }
  if (module === 'torch' && Object.hasOwn(TORCH_DTYPE_NAMES, name)) {
    return new PyGlobal(module, name, 'dtype', TORCH_DTYPE_NAMES[name]);
  }

  // Everything below may only become a container class.
  const moduleParts = module.split('.');
  const nameParts = name.split('.');
  if (!moduleParts.every((p) => IDENTIFIER.test(p))) return null;
  // Dotted names are nested classes (protocol 4 qualnames); dunder parts reach into internals.
  if (!nameParts.every((p) => IDENTIFIER.test(p) && !p.startsWith('__'))) return null;

  if (module === 'torch.nn' || module.startsWith('torch.nn.')) {
    if (TORCH_NN_FUNCTION_MODULES.has(module)) return null;
    return new PyGlobal(module, name, 'container');
  }
  const top = moduleParts[0];
  if (top === 'torch' || DENIED_TOP_LEVEL_MODULES.has(top)) return null;
  if (top.startsWith('_') && top !== '__main__') return null;
  return new PyGlobal(module, name, 'container');
}
