/**
 * The security policy for torch pickles: which globals may appear, and what
 * REDUCE / NEWOBJ / BUILD mean for them. Nothing named by a pickle is ever
 * imported or called; allowed globals are interpreted by this file.
 *
 * Allowed:
 *  - collections.OrderedDict, builtins/__builtin__ set and frozenset,
 *  - torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter /
 *    _rebuild_parameter_with_state / _rebuild_from_type_v2,
 *  - torch.<X>Storage and torch.cuda.<X>Storage, torch.<dtype>, torch.Size,
 *    torch.device, torch.Tensor / torch.nn.parameter.Parameter (as types),
 *  - copyreg._reconstructor with builtins.object (protocol 0/1 object creation),
 *  - module containers: classes from torch.nn.* and from any module that is
 *    not in the standard library / known-dangerous list (e.g. `nets.yolo.YoloBody`,
 *    `__main__.Net`). A container is only ever created without arguments
 *    (NEWOBJ / REDUCE with `()`) and given its attributes by BUILD; using such
 *    a global in any other call is refused.
 * Everything else (os.system, builtins.eval, subprocess.*, codecs.encode,
 * numpy.*, torch.load, torch.storage._load_from_bytes, ...) is refused with an
 * error that names the global. The allow-list itself is policy-globals.ts.
 */
import { UNSUPPORTED_STORAGES } from './types.ts';
import { TorchFormatError } from './errors.ts';
import { PendingTensor, PyGlobal, PyInstance, StorageRef } from './objects.ts';
import type { PickleHooks } from './pickle-hooks.ts';
import { classifyGlobal } from './policy-globals.ts';
import { isPyInt, PyDict, PyList, PySet, PyTuple, pyTypeName, type PyValue } from './pickle-values.ts';

const WHAT_IS_READ = 'only tensors, storages, OrderedDict and module containers are read';

export interface PolicyOptions {
  /** The file as named in messages, e.g. `"model.pth"`. */
  source: string;
  /** Prefix for format errors, e.g. `"model.pth" (data.pkl)`. */
  where: string;
  /** Resolve a persistent id; when absent, persistent ids are refused. */
  persistentLoad?: (pid: PyValue) => PyValue;
  /** When false, every global is refused (for the plain-data pickles of the legacy header). */
  allowGlobals?: boolean;
}

/** The torch unpickling policy. Never executes anything. */
export class TorchPicklePolicy implements PickleHooks {
  constructor(private readonly opts: PolicyOptions) {}

  private fail(message: string): never {
    throw new TorchFormatError(`${this.opts.where}: ${message}.`);
  }

  private refuseGlobal(qualified: string): never {
    throw new TorchFormatError(
      `Refusing to load ${this.opts.source}: pickle references global "${qualified}", ` +
        `which is not an allowed type (${WHAT_IS_READ}).`,
    );
  }

  findGlobal(module: string, name: string): PyValue {
    const qualified = `${module}.${name}`;
    if (this.opts.allowGlobals === false) this.refuseGlobal(qualified);
    const g = classifyGlobal(module, name);
    if (g === null) {
      if ((module === 'torch' || module === 'torch.cuda') && UNSUPPORTED_STORAGES.has(name)) {
        throw new TorchFormatError(
          `${this.opts.where}: tensors stored as "${qualified}" are not supported ` +
            `(supported: float32/64/16, bfloat16, int64/32/16/8, uint8, bool).`,
        );
      }
      this.refuseGlobal(qualified);
    }
    return g;
  }

  call(fn: PyValue, args: PyValue[]): PyValue {
    if (!(fn instanceof PyGlobal)) {
      this.fail(`pickle calls a ${pyTypeName(fn)}, which is not callable`);
    }
    switch (fn.role) {
      case 'OrderedDict':
        return this.makeDict(fn, args);
      case 'set':
      case 'frozenset':
        return this.makeSet(fn, args);
      case 'rebuild_tensor_v2':
        return this.rebuildTensor(fn, args, 6, 7);
      case 'rebuild_tensor':
        return this.rebuildTensor(fn, args, 4, 4);
      case 'rebuild_parameter':
      case 'rebuild_parameter_with_state': {
        const want = fn.role === 'rebuild_parameter' ? 3 : 4;
        if (args.length !== want || !(args[0] instanceof PendingTensor)) {
          this.fail(`malformed ${fn.qualifiedName} call: expected (tensor, requires_grad, hooks${want === 4 ? ', state' : ''})`);
        }
        const t = args[0];
        t.isParameter = true;
        return t;
      }
      case 'rebuild_from_type_v2': {
        const [func, newType, inner, state] = args;
        if (
          args.length !== 4 ||
          !(func instanceof PyGlobal) ||
          !(newType instanceof PyGlobal) ||
          newType.role !== 'tensor_type' ||
          !(inner instanceof PyTuple) ||
          !(state === null || state instanceof PyDict)
        ) {
          this.fail(`malformed ${fn.qualifiedName} call: expected (rebuild function, torch.Tensor type, args, state)`);
        }
        const t = this.call(func, inner.items);
        if (!(t instanceof PendingTensor)) this.fail(`${fn.qualifiedName} did not rebuild a tensor`);
        if (newType.name === 'Parameter') t.isParameter = true;
        return t;
      }
      case 'size': {
        const dims = args[0];
        if (args.length !== 1 || !(dims instanceof PyTuple) || !dims.items.every(isPyInt)) {
          this.fail('malformed torch.Size call: expected a tuple of ints');
        }
        return new PyTuple(dims.items);
      }
      case 'device': {
        const [type, index] = args;
        if (args.length < 1 || args.length > 2 || typeof type !== 'string' || (args.length === 2 && !isPyInt(index))) {
          this.fail('malformed torch.device call');
        }
        return args.length === 2 ? `${type}:${String(index)}` : type;
      }
      case 'container':
        if (args.length !== 0) this.refuseCall(fn, args.length);
        return new PyInstance(fn);
      case 'reconstructor': {
        const [cls, base, state] = args;
        if (
          args.length !== 3 ||
          !(cls instanceof PyGlobal) ||
          cls.role !== 'container' ||
          !(base instanceof PyGlobal) ||
          base.role !== 'object' ||
          state !== null
        ) {
          this.refuseCall(fn, args.length);
        }
        return new PyInstance(cls);
      }
      default:
        return this.refuseCall(fn, args.length);
    }
  }

  newObject(cls: PyValue, args: PyValue[], kwargs: PyDict | null): PyValue {
    if (!(cls instanceof PyGlobal)) this.fail(`cannot create an instance of a ${pyTypeName(cls)}`);
    const noArgs = args.length === 0 && (kwargs === null || kwargs.entries.size === 0);
    if (cls.role === 'container' && noArgs) return new PyInstance(cls);
    if (cls.role === 'OrderedDict' && noArgs) return new PyDict(true);
    if ((cls.role === 'set' || cls.role === 'frozenset') && noArgs) return new PySet([], cls.role === 'frozenset');
    return this.refuseCall(cls, args.length + (kwargs?.entries.size ?? 0));
  }

  build(obj: PyValue, state: PyValue): void {
    // BUILD state is either a dict, or (dict | None, slot dict | None).
    const parts: PyValue[] = state instanceof PyTuple && state.items.length === 2 ? state.items : [state];
    const dicts: PyDict[] = [];
    for (const p of parts) {
      if (p === null) continue;
      if (!(p instanceof PyDict)) this.fail(`BUILD state for a ${pyTypeName(obj)} must be a dict, got ${pyTypeName(p)}`);
      dicts.push(p);
    }
    if (obj instanceof PyInstance) {
      obj.state ??= new PyDict();
      for (const d of dicts) for (const [k, v] of d.entries) obj.state.entries.set(k, v);
      return;
    }
    if (obj instanceof PyDict) {
      // e.g. the `_metadata` attribute PyTorch attaches to every state_dict.
      obj.attributes ??= new PyDict();
      for (const d of dicts) for (const [k, v] of d.entries) obj.attributes.entries.set(k, v);
      return;
    }
    if (obj instanceof PendingTensor) return; // Python attributes on a tensor: not needed.
    this.fail(`BUILD on a ${pyTypeName(obj)} is not supported`);
  }

  persistentLoad(pid: PyValue): PyValue {
    if (!this.opts.persistentLoad) this.fail('unexpected persistent id in this pickle');
    return this.opts.persistentLoad(pid);
  }

  // ------------------------------------------------------------ helpers

  private refuseCall(fn: PyGlobal, nargs: number): never {
    if (fn.role === 'container') {
      throw new TorchFormatError(
        `Refusing to load ${this.opts.source}: pickle calls "${fn.qualifiedName}" with ${nargs} argument(s); ` +
          `classes outside torch's allow-list are only read as plain containers (created without ` +
          `arguments and filled by BUILD), never called.`,
      );
    }
    throw new TorchFormatError(
      `Refusing to load ${this.opts.source}: pickle uses global "${fn.qualifiedName}" in an unsupported way ` +
        `(called with ${nargs} argument(s)); ${WHAT_IS_READ}.`,
    );
  }

  private makeDict(fn: PyGlobal, args: PyValue[]): PyDict {
    const d = new PyDict(true);
    if (args.length === 0) return d;
    const src = args[0];
    if (args.length === 1 && (src instanceof PyList || src instanceof PyTuple)) {
      for (const pair of src.items) {
        const kv = pair instanceof PyTuple || pair instanceof PyList ? pair.items : null;
        if (!kv || kv.length !== 2) this.fail(`${fn.qualifiedName} expects (key, value) pairs`);
        d.entries.set(kv[0], kv[1]);
      }
      return d;
    }
    if (args.length === 1 && src instanceof PyDict) {
      for (const [k, v] of src.entries) d.entries.set(k, v);
      return d;
    }
    return this.refuseCall(fn, args.length);
  }

  private makeSet(fn: PyGlobal, args: PyValue[]): PySet {
    const frozen = fn.role === 'frozenset';
    if (args.length === 0) return new PySet([], frozen);
    const src = args[0];
    if (args.length === 1 && (src instanceof PyList || src instanceof PyTuple || src instanceof PySet)) {
      return new PySet([...src.items], frozen);
    }
    return this.refuseCall(fn, args.length);
  }

  private rebuildTensor(fn: PyGlobal, args: PyValue[], minArgs: number, maxArgs: number): PendingTensor {
    const bad = (why: string): never => this.fail(`malformed ${fn.qualifiedName} call: ${why}`);
    if (args.length < minArgs || args.length > maxArgs) bad(`expected ${minArgs} arguments, got ${args.length}`);
    const [storage, offset, size, stride, requiresGrad] = args;
    if (!(storage instanceof StorageRef)) return bad(`the first argument is a ${pyTypeName(storage)}, not a storage`);
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) return bad('bad storage offset');
    const shape = this.intTuple(size, 'size', bad);
    const strides = this.intTuple(stride, 'stride', bad);
    if (shape.length !== strides.length) bad(`size has ${shape.length} dims but stride has ${strides.length}`);
    if (args.length >= 5 && typeof requiresGrad !== 'boolean') bad('requires_grad is not a bool');
    return new PendingTensor(storage, offset, shape, strides, requiresGrad === true);
  }

  private intTuple(v: PyValue, what: string, bad: (why: string) => never): number[] {
    // torch.Size arrives as a tuple (see 'size' above).
    if (!(v instanceof PyTuple)) return bad(`${what} is a ${pyTypeName(v)}, not a tuple`);
    return v.items.map((x) => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) bad(`${what} holds a non-integer or negative value`);
      return x as number;
    });
  }
}
