/**
 * BatchNormalization at inference is a per-channel affine map y = s·x + t with
 * s = gamma / sqrt(variance + epsilon), t = beta - mean·s. When it directly follows a Dense or
 * convolution whose output nobody else reads and that has no activation of its own, s scales that
 * layer's kernel (per output channel) and s·bias + t becomes its bias: the BN disappears.
 * Otherwise (after an Add, a pooling, the input...) it becomes a layer of its own that the back
 * ends already have: a 1x1 depthwise convolution for images, a diagonal 1x1 Conv1D for sequences,
 * a diagonal Dense for vectors.
 */
import type { ImportedLayer, ImportedModel, WeightTensor } from '../types';
import { DeepMakerError } from '../../util/errors';
import { consumersOf, removeLayer, rewire } from './graph';

const FOLDABLE = new Set(['dense', 'conv1d', 'conv2d', 'depthwise_conv2d']);

function affine(bn: ImportedLayer): { s: Float64Array; t: Float64Array } {
  const c = bn.weights.mean!.data.length;
  const s = new Float64Array(c), t = new Float64Array(c);
  const eps = bn.epsilon ?? 1e-3;
  for (let i = 0; i < c; i++) {
    const gamma = bn.weights.gamma ? bn.weights.gamma.data[i] : 1;
    const beta = bn.weights.beta ? bn.weights.beta.data[i] : 0;
    s[i] = gamma / Math.sqrt(bn.weights.variance!.data[i] + eps);
    t[i] = beta - bn.weights.mean!.data[i] * s[i];
  }
  return { s, t };
}

export function foldBatchNorm(model: ImportedModel): ImportedModel {
  for (const bn of [...model.layers]) {
    if (bn.type !== 'batchnorm') continue;
    const x = bn.inputShapes[0];
    const axis = bn.axis ?? -1;
    if (!(axis === -1 || axis === x.length)) {
      throw new DeepMakerError(`layer '${bn.name}' (BatchNormalization) normalises axis ${axis}, not the channel axis`, { file: model.source.file, where: bn.name }, 'only channels_last models are supported');
    }
    const { s, t } = affine(bn);
    const prev = model.layers.find((l) => l.name === bn.inputs[0])!;
    const foldable = FOLDABLE.has(prev.type) && prev.activation.kind === 'linear' && consumersOf(model, prev.name).length === 1 && !model.outputs.includes(prev.name);
    if (foldable) {
      scaleKernel(prev, s, t);
      rewire(model, bn.name, prev.name);
      removeLayer(model, bn.name);
    } else {
      Object.assign(bn, standaloneAffine(bn, s, t));
    }
  }
  return model;
}

function scaleKernel(prev: ImportedLayer, s: Float64Array, t: Float64Array): void {
  const k = prev.weights.kernel!;
  const cout = s.length;
  const kernel = new Float32Array(k.data.length);
  // Every kernel layout here has the output channel fastest-varying last (depthwise: cin·multiplier).
  for (let i = 0; i < k.data.length; i++) kernel[i] = k.data[i] * s[i % cout];
  const bias = new Float32Array(cout);
  for (let c = 0; c < cout; c++) bias[c] = (prev.weights.bias ? prev.weights.bias.data[c] : 0) * s[c] + t[c];
  prev.weights = { kernel: { shape: k.shape, data: kernel }, bias: { shape: [cout], data: bias } };
  prev.useBias = true;
}

function standaloneAffine(bn: ImportedLayer, s: Float64Array, t: Float64Array): Partial<ImportedLayer> {
  const x = bn.inputShapes[0];
  const c = s.length;
  const bias: WeightTensor = { shape: [c], data: Float32Array.from(t) };
  const common = { activation: { kind: 'linear' as const }, useBias: true, epsilon: undefined, axis: undefined };
  if (x.length === 3) {
    return { ...common, type: 'depthwise_conv2d', depthMultiplier: 1, kernel: [1, 1], strides: [1, 1], dilation: [1, 1], padding: 'valid', weights: { kernel: { shape: [1, 1, c, 1], data: Float32Array.from(s) }, bias } };
  }
  const diag = new Float32Array(c * c);
  for (let i = 0; i < c; i++) diag[i * c + i] = s[i];
  if (x.length === 2) {
    return { ...common, type: 'conv1d', filters: c, kernel: [1], strides: [1], dilation: [1], padding: 'valid', weights: { kernel: { shape: [1, c, c], data: diag }, bias } };
  }
  return { ...common, type: 'dense', units: c, weights: { kernel: { shape: [c, c], data: diag }, bias } };
}
