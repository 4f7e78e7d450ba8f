/**
 * The interface between the pickle VM and a policy: every opcode that would run code in Python is
 * handed to these hooks, which decide what is allowed and what value stands for the result.
 */
import type { PyDict, PyValue } from './pickle-values.ts';

/** The policy that gives meaning to the opcodes that would run code in Python. */
export interface PickleHooks {
  /** GLOBAL, STACK_GLOBAL, INST: return the value standing for `module.name`, or throw to refuse it. */
  findGlobal(module: string, name: string): PyValue;
  /** REDUCE, INST, OBJ: "call" `callable(*args)`. Must never execute anything. */
  call(callable: PyValue, args: PyValue[]): PyValue;
  /** NEWOBJ, NEWOBJ_EX: `cls.__new__(cls, *args, **kwargs)`. */
  newObject(cls: PyValue, args: PyValue[], kwargs: PyDict | null): PyValue;
  /** BUILD: `obj.__setstate__(state)` or `obj.__dict__.update(state)`. */
  build(obj: PyValue, state: PyValue): void;
  /** BINPERSID, PERSID. */
  persistentLoad(pid: PyValue): PyValue;
}
