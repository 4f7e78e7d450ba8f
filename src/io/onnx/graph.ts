/**
 * Builds an ONNX graph node by node: unique value names, constants as initializers, and attribute
 * shorthands. Knows nothing about tfjs (layers.ts maps layers onto it).
 */
import type { OnnxAttribute, OnnxNode, OnnxTensor } from './proto.ts';

export const attr = {
  int: (name: string, value: number): OnnxAttribute => ({ name, kind: 'int', value }),
  float: (name: string, value: number): OnnxAttribute => ({ name, kind: 'float', value }),
  string: (name: string, value: string): OnnxAttribute => ({ name, kind: 'string', value }),
  ints: (name: string, value: number[]): OnnxAttribute => ({ name, kind: 'ints', value }),
};

export class OnnxGraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly taken = new Set<string>();

  /** `base`, or `base_2`, `base_3`... if taken; the name is then reserved. */
  unique(base: string): string {
    let name = base;
    for (let k = 2; this.taken.has(name); k++) name = `${base}_${k}`;
    this.taken.add(name);
    return name;
  }

  /** Adds a node with one output named after `output` (made unique) and returns that name. */
  node(opType: string, inputs: string[], output: string, attributes: OnnxAttribute[] = []): string {
    const out = this.unique(output);
    this.nodes.push({ opType, name: out, inputs, outputs: [out], attributes });
    return out;
  }

  floatConst(name: string, dims: number[], data: Float32Array): string {
    const unique = this.unique(name);
    this.initializers.push({ name: unique, dataType: 'float', dims, data });
    return unique;
  }

  int64Const(name: string, values: number[]): string {
    const unique = this.unique(name);
    this.initializers.push({ name: unique, dataType: 'int64', dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return unique;
  }

  /** Renames a node output (and every use of it), e.g. to a graph output's public name. */
  renameValue(from: string, to: string): void {
    this.taken.add(to);
    for (const n of this.nodes) {
      n.inputs = n.inputs.map((v) => (v === from ? to : v));
      n.outputs = n.outputs.map((v) => (v === from ? to : v));
    }
  }

  produces(value: string): boolean {
    return this.nodes.some((n) => n.outputs.includes(value));
  }
}
