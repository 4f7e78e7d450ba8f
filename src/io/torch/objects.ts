/**
 * The non-plain values that the torch unpickling policy puts on the pickle
 * stack: allowed globals, module containers, storage references and tensors
 * waiting for their storage bytes.
 */
import type { TorchDType } from './types.ts';
import { PyDict, PyHostObject } from './pickle-values.ts';

/** What an allowed global stands for. Nothing here is ever executed; the policy interprets it. */
export type GlobalRole =
  | 'OrderedDict' // collections.OrderedDict
  | 'set' // builtins.set
  | 'frozenset' // builtins.frozenset
  | 'object' // builtins.object: only as the base argument of copyreg._reconstructor
  | 'reconstructor' // copyreg._reconstructor(cls, object, None): protocol 0/1 object creation
  | 'rebuild_tensor_v2' // torch._utils._rebuild_tensor_v2
  | 'rebuild_tensor' // torch._utils._rebuild_tensor (old)
  | 'rebuild_parameter' // torch._utils._rebuild_parameter
  | 'rebuild_parameter_with_state' // torch._utils._rebuild_parameter_with_state
  | 'rebuild_from_type_v2' // torch._utils._rebuild_from_type_v2 (torch >= 2 for tensor subclasses)
  | 'tensor_type' // torch.Tensor / torch._tensor.Tensor / torch.nn.parameter.Parameter
  | 'storage' // torch.FloatStorage, ... (dtype set)
  | 'dtype' // torch.float32, ... (dtype set)
  | 'size' // torch.Size
  | 'device' // torch.device
  | 'container'; // an nn.Module (or other model) class, read as a plain attribute container

export class PyGlobal extends PyHostObject {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly role: GlobalRole,
    readonly dtype: TorchDType | null = null,
  ) {
    super();
  }
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
  get pyType(): string {
    return `global ${this.qualifiedName}`;
  }
}

/** An instance of a container class: records the state BUILD gave it, nothing else. */
export class PyInstance extends PyHostObject {
  /** The instance `__dict__` (from BUILD); null until built. */
  state: PyDict | null = null;
  constructor(readonly cls: PyGlobal) {
    super();
  }
  get pyType(): string {
    return `${this.cls.qualifiedName} object`;
  }
}

/** A storage named by a persistent id. Its bytes come from the file's storage records. */
export class StorageRef extends PyHostObject {
  constructor(
    readonly dtype: TorchDType,
    /** Record key: `data/<key>` in a zip, a storage record key in the legacy format. */
    readonly key: string,
    readonly location: string,
    /** Number of elements the persistent id declares for the root storage. */
    readonly numel: number,
    /** Legacy view into the root storage, in elements. */
    readonly view: { offset: number; numel: number } | null = null,
  ) {
    super();
  }
  /** Number of elements this reference can address. */
  get visibleNumel(): number {
    return this.view ? this.view.numel : this.numel;
  }
  get pyType(): string {
    return 'storage';
  }
}

/** A tensor read from the pickle whose bytes are gathered once the storages are available. */
export class PendingTensor extends PyHostObject {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
    readonly requiresGrad: boolean,
    public isParameter = false,
  ) {
    super();
  }
  get pyType(): string {
    return this.isParameter ? 'Parameter' : 'Tensor';
  }
}
