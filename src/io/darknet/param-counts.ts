/** Parameter and .weights float counts of a resolved darknet network (darknet's own arithmetic). */
import type { ConvSpec, DarknetNetwork } from './layer-specs.ts';

/** Floats a layer stores in a .weights file: biases/BN beta, then BN gamma, mean, variance, then kernels. */
export function convWeightFloats(l: Pick<ConvSpec, 'filters' | 'inChannels' | 'groups' | 'size' | 'batchNormalize'>): number {
  return l.filters * (l.batchNormalize ? 4 : 1) + l.filters * (l.inChannels / l.groups) * l.size * l.size;
}

export interface DarknetCounts {
  /** Parameters a framework would train: kernels, biases, BN gamma and beta. */
  trainable: number;
  /** Floats in the .weights file after the header (trainable + BN running mean and variance). */
  weightFloats: number;
  convs: number;
}

export function countDarknetParams(network: DarknetNetwork): DarknetCounts {
  let trainable = 0;
  let weightFloats = 0;
  let convs = 0;
  for (const l of network.layers) {
    if (l.type !== 'convolutional') continue;
    convs++;
    const kernel = l.filters * (l.inChannels / l.groups) * l.size * l.size;
    trainable += kernel + l.filters * (l.batchNormalize ? 2 : 1);
    weightFloats += convWeightFloats(l);
  }
  return { trainable, weightFloats, convs };
}
