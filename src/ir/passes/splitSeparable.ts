/**
 * SeparableConv2D = DepthwiseConv2D (no bias, linear) followed by a 1x1 Conv2D with the pointwise
 * kernel, the bias and the activation. The 1x1 conv keeps the layer's name so its readers are unchanged.
 */
import type { ImportedLayer, ImportedModel } from '../types';
import { inferOutputShape } from '../shapes';

export function splitSeparable(model: ImportedModel): ImportedModel {
  const out: ImportedLayer[] = [];
  for (const l of model.layers) {
    if (l.type !== 'separable_conv2d') {
      out.push(l);
      continue;
    }
    const dw: ImportedLayer = {
      name: `${l.name}_depthwise`,
      type: 'depthwise_conv2d',
      kerasClass: l.kerasClass,
      inputs: l.inputs,
      inputShapes: l.inputShapes,
      outputShape: [],
      activation: { kind: 'linear' },
      depthMultiplier: l.depthMultiplier ?? 1,
      kernel: l.kernel,
      strides: l.strides,
      dilation: l.dilation,
      padding: l.padding,
      useBias: false,
      weights: { kernel: l.weights.kernel },
    };
    dw.outputShape = inferOutputShape(dw, dw.inputShapes);
    const pw: ImportedLayer = {
      name: l.name,
      type: 'conv2d',
      kerasClass: l.kerasClass,
      inputs: [dw.name],
      inputShapes: [dw.outputShape],
      outputShape: l.outputShape,
      activation: l.activation,
      filters: l.filters,
      kernel: [1, 1],
      strides: [1, 1],
      dilation: [1, 1],
      padding: 'valid',
      useBias: l.useBias,
      weights: { kernel: l.weights.pointwise, ...(l.weights.bias ? { bias: l.weights.bias } : {}) },
    };
    out.push(dw, pw);
  }
  model.layers = out;
  return model;
}
