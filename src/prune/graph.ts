/**
 * Dependency graph: follows every channel of a tf.LayersModel from the layer that creates it to every
 * layer that uses it, reading only the model's declarative structure (layer classes, configs, inbound
 * nodes) and weight shapes. Nothing here is specific to YOLOv4.
 *
 * Each channel a producer (Conv*, Dense), a model input or a barrier creates is an "atom". Tensors are
 * arrays of atoms along the channel axis: pass-through layers copy the array, Concatenate joins arrays
 * (so offsets fall out by themselves), a depthwise conv repeats each input atom `depthMultiplier` times,
 * Flatten repeats the array once per spatial position, a channel split (darknet's [route] groups) takes
 * one of its G equal groups. Merges (Add, Multiply, ...), layers called more than once and channel
 * splits (channel j of every group) tie atoms (union-find): tied atoms form a class, removed together.
 * The atom bookkeeping is atoms.ts; this file walks the layers and says which atoms each one ties.
 */
import type * as tf from '@tensorflow/tfjs';
import { dimParams, isElementwiseActivation, layerKind, weightInfos } from './layers.ts';
import { functionalConfig, outputShapes, type Shape } from '../model/topology.ts';
import type { Barrier, ChannelSpace, DependencyGraph, Dim, GraphLayer, GraphMember, TensorKey, WeightInfo } from './types.ts';
import { AtomTable, repeatEach } from './atoms.ts';
import { findOutputProducers } from './output-producers.ts';
import { PruneGraphError } from './errors.ts';

export interface GraphOptions {
  /** Extra layer class names to treat as channel-wise pass-through (custom element-wise layers). */
  passThrough?: string[];
}

const key = (layer: string, node: number, tensor: number): TensorKey => `${layer}:${node}:${tensor}`;

export function buildDependencyGraph(model: tf.LayersModel, opts: GraphOptions = {}): DependencyGraph {
  const cfg = functionalConfig(model);
  const extra = new Set(opts.passThrough ?? []);

  const atomTable = new AtomTable();
  const union = (a: number, b: number) => atomTable.union(a, b);
  const unionArrays = (a: number[], b: number[], where: string) => atomTable.unionArrays(a, b, where);
  const newSpace = (layer: string, kind: ChannelSpace['kind'], width: number) => atomTable.newSpace(layer, kind, width);
  const fix = (a: readonly number[], reason: string) => atomTable.fix(a, reason);

  const tensors: Record<TensorKey, number[]> = {};
  /** Start positions of the concatenated pieces of each tensor (0 for a tensor made in one piece). */
  const segments: Record<TensorKey, number[]> = {};
  const shapes: Record<TensorKey, Shape> = {};
  const producedBy: Record<TensorKey, string> = {};
  const consumers: Record<TensorKey, string[]> = {};
  const layers: GraphLayer[] = [];
  const byName = new Map<string, GraphLayer>();
  const rawMembers: { layer: string; dim: Dim; atoms: number[]; segments: number[] }[] = [];
  const barriers: Barrier[] = [];
  const bnAfter: Record<string, string> = {};

  const liveLayer = (name: string): tf.layers.Layer | undefined => {
    try {
      return model.getLayer(name);
    } catch {
      return undefined;
    }
  };

  cfg.layers.forEach((entry, index) => {
    const { name, className, config } = entry;
    const live = liveLayer(name);
    const weights: WeightInfo[] = live ? weightInfos(live) : [];
    const info = layerKind(className, config, extra);
    const gl: GraphLayer = { name, className, kind: info.kind, index, inputs: [], outputs: [], weights };
    if (info.reason) gl.barrierReason = info.reason;
    const nodes = className === 'InputLayer' || entry.inboundNodes.length === 0 ? [[]] : entry.inboundNodes;

    nodes.forEach((node, nodeIndex) => {
      const inKeys = node.map(([l, n, t]) => {
        const k = key(l, n, t);
        if (!(k in tensors)) {
          throw new PruneGraphError(`layer '${name}' reads '${l}' (node ${n}, tensor ${t}), which is not defined before it`);
        }
        (consumers[k] ??= []).push(name);
        return k;
      });
      gl.inputs.push(inKeys);
      const ins = inKeys.map((k) => tensors[k]);
      const inSegs = inKeys.map((k) => segments[k]);
      const inShapes = inKeys.map((k) => shapes[k]);
      const outShapes = outputShapes(live, className, config, inShapes);
      const outKeys = outShapes.map((_, t) => key(name, nodeIndex, t));
      gl.outputs.push(outKeys);
      const first = nodeIndex === 0; // a layer called several times is described once
      const setOut = (arr: number[], t = 0, segs: number[] = [0]) => {
        tensors[outKeys[t]] = arr;
        segments[outKeys[t]] = segs;
        shapes[outKeys[t]] = outShapes[t];
        producedBy[outKeys[t]] = name;
      };
      const width = (s: Shape) => {
        const c = s[s.length - 1];
        if (typeof c !== 'number') throw new PruneGraphError(`layer '${name}' (${className}): unknown channel count in shape ${JSON.stringify(s)}`);
        return c;
      };

      let kind = gl.kind;
      // Checks that turn a known layer into a barrier for this particular use.
      if (kind === 'bn') {
        const rank = inShapes[0].length;
        const axis = config.axis as number | undefined;
        if (axis !== undefined && axis !== null && axis !== -1 && axis !== rank - 1) {
          kind = 'barrier';
          gl.kind = 'barrier';
          gl.barrierReason = `normalizes over axis ${axis}, not the channel axis`;
        }
      }
      if (kind === 'flatten' && inShapes[0].slice(1, -1).some((d) => typeof d !== 'number')) {
        kind = 'barrier';
        gl.kind = 'barrier';
        gl.barrierReason = 'Flatten of an input with unknown spatial size';
      }
      if (kind !== 'input' && kind !== 'merge' && kind !== 'concat' && ins.length !== 1 && kind !== 'barrier') {
        kind = 'barrier';
        gl.kind = 'barrier';
        gl.barrierReason = `expected one input, got ${ins.length}`;
      }

      switch (kind) {
        case 'input': {
          const shape = (config.batchInputShape as Shape | undefined) ?? outShapes[0];
          const atoms = newSpace(name, 'input', width(shape));
          fix(atoms, `come from model input '${name}'`);
          setOut(atoms);
          shapes[outKeys[0]] = shape;
          break;
        }
        case 'producer': {
          let out: number[];
          if (first) {
            out = newSpace(name, 'out', width(outShapes[0]));
            const act = config.activation;
            if (typeof act === 'string' && !isElementwiseActivation(act)) {
              fix(out, `go through the '${act}' activation of '${name}', which mixes channels`);
            }
            memberOf(name, 'out', out, [0]);
            memberOf(name, 'bias', out, [0]);
            if (className === 'SeparableConv2D') {
              const mult = Number(config.depthMultiplier ?? 1);
              memberOf(name, 'depthwise', ins[0], inSegs[0]);
              memberOf(name, 'in', repeatEach(ins[0], mult), inSegs[0].map((x) => x * mult));
            } else {
              memberOf(name, 'in', ins[0], inSegs[0]);
            }
          } else {
            out = tensors[key(name, 0, 0)];
            unionArrays(tensors[gl.inputs[0][0]], ins[0], `shared layer '${name}'`);
          }
          setOut(out);
          break;
        }
        case 'depthwise': {
          const mult = Number(config.depthMultiplier ?? 1);
          const out = repeatEach(ins[0], mult);
          const outSegs = inSegs[0].map((x) => x * mult);
          if (first) {
            memberOf(name, 'depthwise', ins[0], inSegs[0]);
            memberOf(name, 'bias', out, outSegs);
          } else {
            unionArrays(tensors[gl.inputs[0][0]], ins[0], `shared layer '${name}'`);
          }
          setOut(out, 0, outSegs);
          break;
        }
        case 'bn':
        case 'prelu': {
          if (first) {
            if (kind === 'bn') {
              memberOf(name, 'bn', ins[0], inSegs[0]);
              const src = producedBy[inKeys[0]];
              if (src && byName.get(src)?.kind === 'producer' && !(src in bnAfter)) bnAfter[src] = name;
            } else {
              const alpha = weights.find((w) => w.name === 'alpha');
              if (alpha && alpha.shape[alpha.shape.length - 1] === ins[0].length && ins[0].length > 1) memberOf(name, 'alpha', ins[0], inSegs[0]);
            }
          } else {
            unionArrays(tensors[gl.inputs[0][0]], ins[0], `shared layer '${name}'`);
          }
          setOut(ins[0], 0, inSegs[0]);
          break;
        }
        case 'passthrough':
          setOut(ins[0], 0, inSegs[0]);
          break;
        case 'merge': {
          const w = Math.max(...ins.map((a) => a.length));
          const full = ins.filter((a) => a.length === w);
          ins.forEach((a) => {
            if (a.length === w) return;
            if (a.length === 1) fix(a, `are broadcast over all channels by '${name}' (${className})`);
            else throw new PruneGraphError(`layer '${name}' (${className}): inputs have ${ins.map((x) => x.length).join(' vs ')} channels`);
          });
          for (const a of full.slice(1)) unionArrays(full[0], a, `layer '${name}' (${className})`);
          setOut(full[0], 0, inSegs[ins.indexOf(full[0])]);
          break;
        }
        case 'concat': {
          const rank = outShapes[0].length;
          const axis = Number(config.axis ?? -1);
          if (axis === -1 || axis === rank - 1) {
            const segs: number[] = [];
            let offset = 0;
            ins.forEach((a, i) => {
              segs.push(...inSegs[i].map((x) => x + offset));
              offset += a.length;
            });
            setOut(ins.flat(), 0, segs);
          } else {
            // Joined along another axis: every input shares the channel indices, like a merge.
            for (const a of ins.slice(1)) unionArrays(ins[0], a, `layer '${name}' (Concatenate on axis ${axis})`);
            setOut(ins[0], 0, inSegs[0]);
          }
          break;
        }
        case 'split': {
          // One of G equal channel groups (darknet [route] groups/group_id). Pruning cannot change G or
          // the group taken, so the groups must keep equal widths: channel j of every group is tied to
          // channel j of the others (like a residual add) and removed together with them.
          const groups = Number(config.groups ?? 1);
          const groupId = Number(config.groupId ?? 0);
          const a = ins[0];
          if (!(Number.isInteger(groups) && groups >= 1 && Number.isInteger(groupId) && groupId >= 0 && groupId < groups) || a.length % groups !== 0) {
            throw new PruneGraphError(`layer '${name}' (${className}): cannot take group ${groupId} of ${groups} from ${a.length} channels`);
          }
          const part = a.length / groups;
          for (let g = 1; g < groups; g++) for (let j = 0; j < part; j++) union(a[j], a[g * part + j]);
          const lo = groupId * part;
          const segs = inSegs[0].filter((x) => x > lo && x < lo + part).map((x) => x - lo);
          setOut(a.slice(lo, lo + part), 0, [0, ...segs]);
          break;
        }
        case 'flatten': {
          const spatial = inShapes[0].slice(1, -1).reduce<number>((p, d) => p * (d as number), 1);
          const out: number[] = [];
          for (let p = 0; p < spatial; p++) out.push(...ins[0]);
          setOut(out);
          break;
        }
        case 'barrier': {
          const reason = gl.barrierReason ?? 'not followed';
          if (first) barriers.push({ layer: name, className, reason });
          for (const a of ins) fix(a, `feed '${name}' (${className}), which the pruner does not see through: ${reason}`);
          outShapes.forEach((s, t) => {
            const atoms = first || !(key(name, 0, t) in tensors)
              ? newSpace(name, 'barrier', width(s))
              : tensors[key(name, 0, t)];
            fix(atoms, `come from '${name}' (${className}), which the pruner does not see through: ${reason}`);
            setOut(atoms, t);
          });
          break;
        }
      }
    });
    layers.push(gl);
    byName.set(name, gl);
  });

  function memberOf(layer: string, dim: Dim, atoms: number[], segs: number[]) {
    rawMembers.push({ layer, dim, atoms, segments: segs });
  }

  const outputs = cfg.outputLayers.map(([l, n, t]) => key(l, n, t));
  for (const k of outputs) fix(tensors[k], `reach model output '${k.split(':')[0]}' directly (its width is fixed)`);

  const { classOf, classCount, fixedReason } = atomTable.classes();

  const members: GraphMember[] = [];
  for (const m of rawMembers) {
    const gl = byName.get(m.layer)!;
    const params = dimParams(gl.className, m.dim, gl.weights);
    if (params.length === 0) continue; // e.g. a conv without bias
    members.push({ layer: m.layer, dim: m.dim, classes: m.atoms.map((a) => classOf[a]), segments: m.segments, params });
  }

  const outputProducers = findOutputProducers(layers, byName, consumers, outputs);

  return {
    modelName: cfg.name,
    layers,
    tensors,
    outputs,
    spaces: atomTable.spaces,
    classOf,
    classCount,
    fixedReason,
    members,
    outputProducers,
    bnAfter,
    barriers,
  };
}
