/**
 * The pickle VM's data stack, MARK positions and memo, with the checked push/pop and container
 * updates every opcode uses; underflow and bad memo references fail through the reader's fail().
 */
import { PickleReader } from './pickle-reader.ts';
import { PyDict, PyList, PyTuple, pyTypeName, type PyValue } from './pickle-values.ts';

export class PickleStack extends PickleReader {
  protected stack: PyValue[] = [];
  protected readonly marks: number[] = [];
  protected readonly memo = new Map<number, PyValue>();

  protected push(v: PyValue): void {
    this.stack.push(v);
  }
  protected pop(): PyValue {
    const floor = this.marks.length ? this.marks[this.marks.length - 1] : 0;
    if (this.stack.length <= floor) this.fail('stack underflow');
    return this.stack.pop() as PyValue;
  }
  protected top(): PyValue {
    const floor = this.marks.length ? this.marks[this.marks.length - 1] : 0;
    if (this.stack.length <= floor) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }
  protected popMark(): PyValue[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail('no MARK on the stack');
    const items = this.stack.splice(mark);
    return items;
  }
  protected memoGet(index: number): PyValue {
    const v = this.memo.get(index);
    if (v === undefined) this.fail(`memo entry ${index} was never stored`);
    return v;
  }
  protected memoPut(index: number): void {
    this.memo.set(index, this.top());
  }
  protected asTuple(v: PyValue, what: string): PyValue[] {
    if (!(v instanceof PyTuple)) this.fail(`${what} must be a tuple, got ${pyTypeName(v)}`);
    return v.items;
  }

  protected setItems(dict: PyValue, items: PyValue[]): void {
    if (!(dict instanceof PyDict)) this.fail(`cannot set items on a ${pyTypeName(dict)}`);
    if (items.length % 2 !== 0) this.fail('odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) dict.entries.set(items[i], items[i + 1]);
  }

  protected appendItems(list: PyValue, items: PyValue[]): void {
    if (!(list instanceof PyList)) this.fail(`cannot append to a ${pyTypeName(list)}`);
    for (const it of items) list.items.push(it);
  }
}
