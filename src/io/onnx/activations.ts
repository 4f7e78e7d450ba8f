/**
 * Element-wise activations as ONNX nodes. Mish is an ONNX operator only from opset 18; below that it
 * is written by its definition, x * tanh(softplus(x)), which every runtime has.
 */
import { attr, type OnnxGraphBuilder } from './graph.ts';
import { OnnxExportError } from './errors.ts';

/** The activations the exporter writes: tfjs `activation` names plus 'leaky' (LeakyReLU). */
export const EXPORTED_ACTIVATIONS = ['linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'softplus', 'swish', 'mish', 'elu', 'selu', 'leaky'];

export function isExportedActivation(name: string): boolean {
  return EXPORTED_ACTIVATIONS.includes(name);
}

/**
 * Applies `kind` to `x` and returns the output's name (x itself for 'linear'); the last node's output
 * is named `name`. `alpha` is LeakyReLU's slope.
 */
export function emitActivation(g: OnnxGraphBuilder, kind: string, x: string, name: string, opset: number, alpha = 0.3): string {
  switch (kind) {
    case 'linear': return x;
    case 'relu': return g.node('Relu', [x], name);
    case 'relu6': return g.node('Clip', [x, g.floatConst(`${name}/min`, [], Float32Array.of(0)), g.floatConst(`${name}/max`, [], Float32Array.of(6))], name);
    case 'sigmoid': return g.node('Sigmoid', [x], name);
    case 'tanh': return g.node('Tanh', [x], name);
    case 'softplus': return g.node('Softplus', [x], name);
    case 'swish': return g.node('Mul', [x, g.node('Sigmoid', [x], `${name}/sigmoid`)], name);
    case 'elu': return g.node('Elu', [x], name, [attr.float('alpha', 1)]);
    case 'selu': return g.node('Selu', [x], name); // ONNX's default alpha and gamma are tfjs's constants
    case 'leaky': return g.node('LeakyRelu', [x], name, [attr.float('alpha', alpha)]);
    case 'mish': {
      if (opset >= 18) return g.node('Mish', [x], name);
      const softplus = g.node('Softplus', [x], `${name}/softplus`);
      return g.node('Mul', [x, g.node('Tanh', [softplus], `${name}/tanh`)], name);
    }
    default: throw new OnnxExportError(`activation '${kind}' (layer '${name}') has no ONNX export: supported are ${EXPORTED_ACTIVATIONS.join(', ')}`);
  }
}
