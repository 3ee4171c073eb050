/**
 * A standalone activation layer (Activation, ReLU, Softmax...) right after a layer that computes
 * sums (Dense, convolutions, Add) with no activation of its own, and read by nobody else, becomes
 * that layer's activation: one loop nest and one requantization instead of two. Both in float and
 * in fixed point the result is the same (the activation reads the value in the output format).
 */
import type { ImportedModel } from '../types';
import { consumersOf, removeLayer, rewire } from './graph';

const HOSTS = new Set(['dense', 'conv1d', 'conv2d', 'depthwise_conv2d', 'add']);

export function fuseActivation(model: ImportedModel): ImportedModel {
  for (const act of [...model.layers]) {
    if (act.type !== 'activation') continue;
    const prev = model.layers.find((l) => l.name === act.inputs[0])!;
    if (!HOSTS.has(prev.type) || prev.activation.kind !== 'linear') continue;
    if (consumersOf(model, prev.name).length !== 1 || model.outputs.includes(prev.name)) continue;
    prev.activation = { ...act.activation };
    rewire(model, act.name, prev.name);
    removeLayer(model, act.name);
  }
  return model;
}
