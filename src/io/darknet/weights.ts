/**
 * Darknet `.weights` files: a header (int32 major, minor, revision; then `seen`, the number of training
 * images, as uint64 when major * 10 + minor >= 2, else uint32), then float32 little-endian values of
 * every [convolutional] layer in cfg order:
 *
 *   biases[n]  (BN beta when batch_normalize=1)
 *   if batch_normalize: scales[n] (gamma), rolling_mean[n], rolling_variance[n]
 *   weights[n][c / groups][size][size]  (OIHW)
 *
 * tfjs keeps conv kernels as HWIO [kh, kw, in, out] and depthwise kernels as [kh, kw, in, multiplier]
 * (darknet filter o of a depthwise conv reads input channel floor(o / multiplier): the same order).
 */
import * as tf from '@tensorflow/tfjs';
import { DarknetYolo } from '../../model/darknet-layers.ts';
import { shortName } from '../../model/weight-name.ts';
import { convWeightFloats } from './param-counts.ts';
import type { ConvSpec, DarknetNetwork } from './layer-specs.ts';
import { mulberry32 } from '../../util/mulberry32.ts';
import { Yolo4Error } from '../../util/errors.ts';

export class DarknetWeightsError extends Yolo4Error {
  constructor(message: string) {
    super(message);
    this.name = 'DarknetWeightsError';
  }
}

export interface DarknetWeightsHeader {
  major: number;
  minor: number;
  revision: number;
  /** Images seen in training. */
  seen: number;
}

/** What AlexeyAB darknet writes today (0.2.5, 64-bit seen). */
export const DEFAULT_HEADER: DarknetWeightsHeader = { major: 0, minor: 2, revision: 5, seen: 0 };

export function headerBytes(h: Pick<DarknetWeightsHeader, 'major' | 'minor'>): number {
  return h.major * 10 + h.minor >= 2 ? 20 : 16;
}

export function readWeightsHeader(bytes: Uint8Array, source = 'weights'): { header: DarknetWeightsHeader; offset: number } {
  if (bytes.byteLength < 16) throw new DarknetWeightsError(`${source}: ${bytes.byteLength} bytes is too short for a darknet .weights header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = dv.getInt32(0, true);
  const minor = dv.getInt32(4, true);
  const revision = dv.getInt32(8, true);
  if (major < 0 || minor < 0 || major > 1000 || minor > 1000) {
    throw new DarknetWeightsError(`${source}: header version ${major}.${minor}.${revision} is not a darknet .weights file (or a transposed one, which is not supported)`);
  }
  const offset = headerBytes({ major, minor });
  if (bytes.byteLength < offset) throw new DarknetWeightsError(`${source}: ${bytes.byteLength} bytes is too short for a version ${major}.${minor} header (${offset} bytes)`);
  const seen = offset === 20 ? Number(dv.getBigUint64(12, true)) : dv.getUint32(12, true);
  return { header: { major, minor, revision, seen }, offset };
}

/** The tfjs layers that hold one darknet conv's values: the conv and, with batch_normalize, its BN. */
export interface ConvLayerNames {
  conv: string;
  bn?: string;
}

/** Which layers hold darknet conv `l`; by default those buildDarknetModel names conv_<index>, bn_<index>. */
export type ConvLayerNamer = (l: ConvSpec) => ConvLayerNames;

const genericNames: ConvLayerNamer = (l) => ({ conv: `conv_${l.index}`, bn: `bn_${l.index}` });

function layerOf(model: tf.LayersModel, name: string, why: string): tf.layers.Layer {
  try {
    return model.getLayer(name);
  } catch {
    throw new DarknetWeightsError(`the model has no layer ${name} (${why})`);
  }
}

function convs(network: DarknetNetwork): ConvSpec[] {
  return network.layers.filter((l): l is ConvSpec => l.type === 'convolutional');
}

const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * Reads a .weights file into a model built from the same cfg (buildDarknetModel). The float count must
 * match the cfg exactly; otherwise the error says how many were expected and found, and in which layer
 * the file ends. The header is recorded on the first DarknetYolo layer (for export) and returned.
 */
export function loadDarknetWeights(
  model: tf.LayersModel, network: DarknetNetwork, bytes: Uint8Array, source = 'weights', names: ConvLayerNamer = genericNames,
): DarknetWeightsHeader {
  const { header, offset } = readWeightsHeader(bytes, source);
  const list = convs(network);
  const expected = list.reduce((a, l) => a + convWeightFloats(l), 0);
  const body = bytes.byteLength - offset;
  if (body % 4 !== 0 || body / 4 !== expected) {
    let where = '';
    if (body / 4 < expected) {
      let acc = 0;
      for (const l of list) {
        acc += convWeightFloats(l);
        if (acc > body / 4) {
          where = `; the file ends inside conv_${l.index} (layer ${l.index}, ${network.cfg.source}:${l.line})`;
          break;
        }
      }
    }
    throw new DarknetWeightsError(
      `${source}: ${network.cfg.source} needs ${fmt(expected)} floats after the ${offset}-byte header ` +
      `(${list.length} conv layers), the file has ${body % 4 === 0 ? fmt(body / 4) : `${fmt(body)} bytes = ${(body / 4).toFixed(2)}`} floats` +
      `${where}; are the .cfg and .weights from the same model?`,
    );
  }
  // One aligned copy of the floats (a Buffer's byteOffset is not necessarily a multiple of 4).
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + bytes.byteLength));
  let p = 0;
  const take = (n: number) => {
    const v = floats.subarray(p, p + n);
    p += n;
    return v;
  };
  for (const l of list) {
    const n = l.filters;
    const biases = take(n);
    const bn = l.batchNormalize ? { gamma: take(n), mean: take(n), variance: take(n) } : null;
    const kernel = oihwToTf(take(n * (l.inChannels / l.groups) * l.size * l.size), l);
    const where = `darknet layer ${l.index}, ${network.cfg.source}:${l.line}`;
    const layer = names(l);
    const conv = layerOf(model, layer.conv, where);
    const convValues = [kernel];
    if (!bn) convValues.push(tf.tensor1d(biases));
    setLayerWeights(conv, convValues);
    if (bn) {
      setLayerWeights(layerOf(model, layer.bn ?? '(none)', `${where} has batch_normalize=1`), [
        tf.tensor1d(bn.gamma), tf.tensor1d(biases), tf.tensor1d(bn.mean), tf.tensor1d(bn.variance),
      ]);
    }
  }
  const first = model.layers.find((x) => x instanceof DarknetYolo) as DarknetYolo | undefined;
  if (first) first.weightsHeader = { ...header };
  return header;
}

function setLayerWeights(layer: tf.layers.Layer, values: tf.Tensor[]): void {
  try {
    layer.setWeights(values);
  } finally {
    for (const v of values) v.dispose();
  }
}

/** OIHW floats -> a tfjs kernel tensor (HWIO, or [kh, kw, in, mult] for depthwise). */
function oihwToTf(src: Float32Array, l: ConvSpec): tf.Tensor {
  const k = l.size;
  const kk = k * k;
  if (l.depthwise) {
    const c = l.inChannels;
    const m = l.filters / c;
    const out = new Float32Array(src.length);
    // src[o][0][y][x], o = ci * m + j -> dst[y][x][ci][j] = dst[(y * k + x) * n + o]
    for (let o = 0; o < l.filters; o++) for (let s = 0; s < kk; s++) out[s * l.filters + o] = src[o * kk + s];
    return tf.tensor4d(out, [k, k, c, m]);
  }
  const cin = l.inChannels;
  const n = l.filters;
  const out = new Float32Array(src.length);
  // src[o][i][s] -> dst[s][i][o]
  for (let o = 0; o < n; o++) {
    for (let i = 0; i < cin; i++) {
      const base = (o * cin + i) * kk;
      for (let s = 0; s < kk; s++) out[(s * cin + i) * n + o] = src[base + s];
    }
  }
  return tf.tensor4d(out, [k, k, cin, n]);
}

/** The inverse of oihwToTf, from a kernel's values and shape (also the PyTorch export's conv layout). */
export function tfToOihw(data: Float32Array, shape: number[], depthwise: boolean): Float32Array {
  const [k, k2, cin, last] = shape;
  const kk = k * k2;
  const out = new Float32Array(data.length);
  if (depthwise) {
    const n = cin * last;
    for (let o = 0; o < n; o++) for (let s = 0; s < kk; s++) out[o * kk + s] = data[s * n + o];
    return out;
  }
  const n = last;
  for (let o = 0; o < n; o++) {
    for (let i = 0; i < cin; i++) {
      const base = (o * cin + i) * kk;
      for (let s = 0; s < kk; s++) out[base + s] = data[(s * cin + i) * n + o];
    }
  }
  return out;
}

/** Values of a layer's weights by short name (kernel, bias, gamma, ...). */
function weightsByName(layer: tf.layers.Layer): Map<string, { data: Float32Array; shape: number[] }> {
  const m = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const w of layer.weights) {
    m.set(shortName(w.originalName ?? w.name), { data: w.read().dataSync() as Float32Array, shape: w.shape as number[] });
  }
  return m;
}

/**
 * The model's weights in darknet layout (header + floats), for the cfg the model was built from, with
 * widths as the model has them (so a pruned model writes its pruned widths). Conv layers are found by
 * name (conv_<index>, bn_<index>).
 */
export function exportDarknetWeights(
  model: tf.LayersModel, network: DarknetNetwork, header: DarknetWeightsHeader = DEFAULT_HEADER, names: ConvLayerNamer = genericNames,
): Uint8Array {
  const chunks: Float32Array[] = [];
  for (const l of convs(network)) {
    const layer = names(l);
    const conv = layerOf(model, layer.conv, `for ${network.cfg.source}:${l.line}`);
    const cw = weightsByName(conv);
    const kernel = cw.get(l.depthwise ? 'depthwise_kernel' : 'kernel');
    if (!kernel) throw new DarknetWeightsError(`${layer.conv} has no kernel`);
    const kshape = kernel.shape;
    const want = l.depthwise ? [l.size, l.size, l.inChannels, l.filters / l.inChannels] : [l.size, l.size, l.inChannels, l.filters];
    if (kshape.join(',') !== want.join(',')) {
      throw new DarknetWeightsError(`${layer.conv}: kernel shape [${kshape}] does not match the cfg's [${want}] (${network.cfg.source}:${l.line})`);
    }
    if (l.batchNormalize) {
      const bn = layerOf(model, layer.bn ?? '(none)', `${layer.conv} has batch_normalize=1`);
      const b = weightsByName(bn);
      for (const k of ['beta', 'gamma', 'moving_mean', 'moving_variance']) {
        if (!b.has(k)) throw new DarknetWeightsError(`${bn.name} has no ${k} (darknet needs center and scale)`);
      }
      chunks.push(b.get('beta')!.data, b.get('gamma')!.data, b.get('moving_mean')!.data, b.get('moving_variance')!.data);
    } else {
      const bias = cw.get('bias');
      chunks.push(bias ? bias.data : new Float32Array(l.filters));
    }
    chunks.push(tfToOihw(kernel.data, kshape, l.depthwise));
  }
  const n = chunks.reduce((a, c) => a + c.length, 0);
  const hb = headerBytes(header);
  const out = new Uint8Array(hb + 4 * n);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, header.major, true);
  dv.setInt32(4, header.minor, true);
  dv.setInt32(8, header.revision, true);
  if (hb === 20) dv.setBigUint64(12, BigInt(Math.max(0, Math.round(header.seen))), true);
  else dv.setUint32(12, Math.max(0, Math.round(header.seen)) >>> 0, true);
  const floats = new Float32Array(out.buffer, hb, n);
  let p = 0;
  for (const c of chunks) {
    floats.set(c, p);
    p += c.length;
  }
  return out;
}

/**
 * A .weights file of seeded random values in darknet layout for a network (for tests and demos): conv
 * weights uniform with variance 1/fan_in, biases and BN beta ~ U(-0.2, 0.2), BN gamma ~ U(0.5, 1.5),
 * running mean ~ U(-0.2, 0.2), running variance ~ U(0.5, 1.5).
 */
export function randomDarknetWeights(network: DarknetNetwork, seed = 1, header: DarknetWeightsHeader = DEFAULT_HEADER): Uint8Array {
  const list = convs(network);
  const total = list.reduce((a, l) => a + convWeightFloats(l), 0);
  const hb = headerBytes(header);
  const out = new Uint8Array(hb + 4 * total);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, header.major, true);
  dv.setInt32(4, header.minor, true);
  dv.setInt32(8, header.revision, true);
  if (hb === 20) dv.setBigUint64(12, BigInt(header.seen), true);
  else dv.setUint32(12, header.seen, true);
  const f = new Float32Array(out.buffer, hb, total);
  const rand = mulberry32(seed);
  let p = 0;
  const fill = (n: number, lo: number, hi: number) => {
    for (let i = 0; i < n; i++) f[p++] = lo + (hi - lo) * rand();
  };
  for (const l of list) {
    const n = l.filters;
    fill(n, -0.2, 0.2);
    if (l.batchNormalize) {
      fill(n, 0.5, 1.5);
      fill(n, -0.2, 0.2);
      fill(n, 0.5, 1.5);
    }
    const fanIn = (l.inChannels / l.groups) * l.size * l.size;
    const a = Math.sqrt(3 / fanIn);
    fill(n * fanIn, -a, a);
  }
  return out;
}
