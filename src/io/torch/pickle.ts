/**
 * A Python pickle virtual machine (protocols 0 to 5) that never executes code.
 *
 * The VM only handles the data opcodes itself (numbers, strings, tuples, lists,
 * dicts, sets, memo, marks). Everything with a meaning beyond plain data
 * (GLOBAL/STACK_GLOBAL/INST, REDUCE/OBJ, NEWOBJ(_EX), BUILD, persistent ids)
 * is handed to a {@link PickleHooks} policy, which decides what is allowed and
 * what value stands for the result. Nothing is ever imported or called.
 *
 * The plain values (numbers, strings, bytes) are read by pickle-scalars.ts; this file runs the
 * stack, the memo, the containers and the hand-off to the policy.
 *
 * Malformed input (unknown opcode, truncated stream, stack underflow, bad memo
 * reference, ...) raises a TorchFormatError naming the opcode and byte offset.
 */
import { TorchFormatError } from './errors.ts';
import type { PickleHooks } from './pickle-hooks.ts';
import { OPCODE_NAMES } from './pickle-opcodes.ts';
import { SCALAR_OPCODES } from './pickle-scalars.ts';
import { PickleStack } from './pickle-stack.ts';
import { PyDict, PyList, PySet, PyTuple, pyTypeName, type PyValue } from './pickle-values.ts';

export interface UnpickleResult {
  value: PyValue;
  /** Offset just past the STOP opcode. */
  end: number;
}

/**
 * Run one pickle starting at `start` in `bytes` and return the object it
 * builds plus the offset after its STOP opcode. `where` names the stream in
 * error messages (e.g. `"model.pth" (data.pkl)`).
 */
export function unpickle(bytes: Uint8Array, start: number, hooks: PickleHooks, where: string): UnpickleResult {
  return new Unpickler(bytes, start, hooks, where).run();
}

class Unpickler extends PickleStack {
  constructor(
    bytes: Uint8Array,
    start: number,
    private readonly hooks: PickleHooks,
    where: string,
  ) {
    super(bytes, start, where);
  }

  run(): UnpickleResult {
    const hooks = this.hooks;
    for (;;) {
      this.opStart = this.pos;
      if (this.pos >= this.bytes.length) {
        this.opName = 'STOP';
        throw new TorchFormatError(
          `${this.where}: pickle data is truncated: the stream ends at byte ${this.pos} before its STOP opcode ` +
            `(the file is incomplete or corrupt).`,
        );
      }
      const op = this.bytes[this.pos++];
      const name = OPCODE_NAMES[op];
      if (name === undefined) {
        const ch = op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : '';
        throw new TorchFormatError(
          `${this.where}: unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}${ch} at byte ${this.opStart} ` +
            `(the data is corrupt or not a pickle).`,
        );
      }
      this.opName = name;
      const readScalar = SCALAR_OPCODES[op];
      if (readScalar) {
        this.push(readScalar(this));
        continue;
      }
      switch (op) {
        // --- framing and protocol
        case 0x80: { // PROTO
          const proto = this.u8();
          if (proto > 5) this.fail(`unsupported pickle protocol ${proto}`);
          break;
        }
        case 0x95: // FRAME
          this.u64();
          break;
        case 0x2e: { // STOP
          const value = this.pop();
          return { value, end: this.pos };
        }

        // --- stack manipulation
        case 0x28: // MARK
          this.marks.push(this.stack.length);
          break;
        case 0x30: { // POP
          const floor = this.marks.length ? this.marks[this.marks.length - 1] : 0;
          if (this.stack.length > floor) this.stack.pop();
          else if (this.marks.length) this.marks.pop();
          else this.fail('stack underflow');
          break;
        }
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.push(this.top());
          break;

        // --- memo
        case 0x71: // BINPUT
          this.memoPut(this.u8());
          break;
        case 0x72: // LONG_BINPUT
          this.memoPut(this.u32());
          break;
        case 0x70: // PUT
          this.memoPut(this.decimal(this.line()));
          break;
        case 0x94: // MEMOIZE
          this.memoPut(this.memo.size);
          break;
        case 0x68: // BINGET
          this.push(this.memoGet(this.u8()));
          break;
        case 0x6a: // LONG_BINGET
          this.push(this.memoGet(this.u32()));
          break;
        case 0x67: // GET
          this.push(this.memoGet(this.decimal(this.line())));
          break;

        // --- containers
        case 0x29: // EMPTY_TUPLE
          this.push(new PyTuple([]));
          break;
        case 0x85: // TUPLE1
          this.push(new PyTuple([this.pop()]));
          break;
        case 0x86: { // TUPLE2
          const b = this.pop();
          const a = this.pop();
          this.push(new PyTuple([a, b]));
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.push(new PyTuple([a, b, c]));
          break;
        }
        case 0x74: // TUPLE
          this.push(new PyTuple(this.popMark()));
          break;
        case 0x5d: // EMPTY_LIST
          this.push(new PyList());
          break;
        case 0x6c: // LIST
          this.push(new PyList(this.popMark()));
          break;
        case 0x61: { // APPEND
          const v = this.pop();
          this.appendItems(this.top(), [v]);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          this.appendItems(this.top(), items);
          break;
        }
        case 0x7d: // EMPTY_DICT
          this.push(new PyDict());
          break;
        case 0x64: { // DICT
          const d = new PyDict();
          this.setItems(d, this.popMark());
          this.push(d);
          break;
        }
        case 0x73: { // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x8f: // EMPTY_SET
          this.push(new PySet([], false));
          break;
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const s = this.top();
          if (!(s instanceof PySet) || s.frozen) this.fail(`cannot add items to a ${pyTypeName(s)}`);
          for (const it of items) s.items.push(it);
          break;
        }
        case 0x91: // FROZENSET
          this.push(new PySet(this.popMark(), true));
          break;

        // --- everything below is delegated to the policy
        case 0x63: { // GLOBAL
          const module = this.utf8Line();
          const gname = this.utf8Line();
          this.push(hooks.findGlobal(module, gname));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const gname = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof gname !== 'string') {
            this.fail('STACK_GLOBAL needs two strings');
          }
          this.push(hooks.findGlobal(module, gname));
          break;
        }
        case 0x69: { // INST
          const module = this.utf8Line();
          const gname = this.utf8Line();
          const cls = hooks.findGlobal(module, gname);
          const args = this.popMark();
          this.push(hooks.call(cls, args));
          break;
        }
        case 0x6f: { // OBJ
          const items = this.popMark();
          if (items.length === 0) this.fail('OBJ without a class');
          this.push(hooks.call(items[0], items.slice(1)));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.asTuple(this.pop(), 'REDUCE arguments');
          const fn = this.pop();
          this.push(hooks.call(fn, args));
          break;
        }
        case 0x81: { // NEWOBJ
          const args = this.asTuple(this.pop(), 'NEWOBJ arguments');
          const cls = this.pop();
          this.push(hooks.newObject(cls, args, null));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.asTuple(this.pop(), 'NEWOBJ_EX arguments');
          const cls = this.pop();
          if (!(kwargs instanceof PyDict)) this.fail('NEWOBJ_EX keyword arguments must be a dict');
          this.push(hooks.newObject(cls, args, kwargs));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          hooks.build(this.top(), state);
          break;
        }
        case 0x51: // BINPERSID
          this.push(hooks.persistentLoad(this.pop()));
          break;
        case 0x50: // PERSID
          this.push(hooks.persistentLoad(this.line()));
          break;

        // --- refused features
        case 0x82: // EXT1
        case 0x83: // EXT2
        case 0x84: // EXT4
          this.fail('copyreg extension codes are not supported');
        case 0x97: // NEXT_BUFFER
        case 0x98: // READONLY_BUFFER
          this.fail('out-of-band pickle buffers (protocol 5) are not supported');
      }
    }
  }
}
