/**
 * Output shapes of IR layers (channels_last, without the batch dimension) and the padding each
 * convolution or pooling window implies. The importers, the passes, the C generator and the
 * reference builder all use these, so "same" padding means one thing everywhere: the odd extra
 * row/column goes after (TensorFlow's rule), and causal padding is all before.
 */
import type { ImportedLayer, Layer, Shape } from './types';
import { recurrentOutputShape } from './recurrent';

export type AnyLayer = Layer | ImportedLayer;

export function sizeOf(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Output length of a window of `k` taps, dilation `d`, stride `s` over `n` positions. */
export function windowOutput(n: number, k: number, s: number, d: number, padding: 'valid' | 'same' | 'causal'): number {
  const span = (k - 1) * d + 1;
  if (padding === 'valid') return Math.floor((n - span) / s) + 1;
  return Math.ceil(n / s);
}

/** Padding before one axis: TensorFlow puts the odd extra element after; causal pads only before. */
export function padBefore(n: number, k: number, s: number, d: number, padding: 'valid' | 'same' | 'causal'): number {
  const span = (k - 1) * d + 1;
  if (padding === 'valid') return 0;
  if (padding === 'causal') return span - 1;
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + span - n, 0);
  return Math.floor(total / 2);
}

/** The number of spatial axes a layer works on (1 or 2), from its type. */
export function spatialRank(type: string): 1 | 2 {
  return /1d$/.test(type) ? 1 : 2;
}

/** Computes a layer's output shape from its input shapes; throws a plain Error describing a mismatch. */
export function inferOutputShape(layer: AnyLayer, inputShapes: Shape[]): Shape {
  const x = inputShapes[0];
  const need = (rank: number) => {
    if (x.length !== rank) throw new Error(`expects an input of rank ${rank} (without batch), got shape [${x.join(',')}]`);
  };
  switch (layer.type) {
    case 'input':
      return layer.outputShape;
    case 'dense':
      return [...x.slice(0, -1), layer.units!];
    case 'conv1d': {
      need(2);
      const [k] = layer.kernel!, [s] = layer.strides!, [d] = layer.dilation!;
      return [windowOutput(x[0], k, s, d, layer.padding!), layer.filters!];
    }
    case 'conv2d':
    case 'depthwise_conv2d':
    case 'separable_conv2d': {
      need(3);
      const [kh, kw] = layer.kernel!, [sh, sw] = layer.strides!, [dh, dw] = layer.dilation!;
      const oh = windowOutput(x[0], kh, sh, dh, layer.padding!);
      const ow = windowOutput(x[1], kw, sw, dw, layer.padding!);
      const c = layer.type === 'depthwise_conv2d' ? x[2] * (layer.depthMultiplier ?? 1) : layer.filters!;
      return [oh, ow, c];
    }
    case 'maxpool1d':
    case 'avgpool1d': {
      need(2);
      return [windowOutput(x[0], layer.pool![0], layer.strides![0], 1, layer.padding!), x[1]];
    }
    case 'maxpool2d':
    case 'avgpool2d': {
      need(3);
      return [windowOutput(x[0], layer.pool![0], layer.strides![0], 1, layer.padding!), windowOutput(x[1], layer.pool![1], layer.strides![1], 1, layer.padding!), x[2]];
    }
    case 'global_avgpool1d':
    case 'global_maxpool1d':
      need(2);
      return layer.targetShape ?? [x[1]];
    case 'global_avgpool2d':
    case 'global_maxpool2d':
      need(3);
      return layer.targetShape ?? [x[2]];
    case 'flatten':
      return [sizeOf(x)];
    case 'reshape': {
      const t = layer.targetShape!;
      const known = t.filter((v) => v !== -1).reduce((a, b) => a * b, 1);
      const out = t.map((v) => (v === -1 ? sizeOf(x) / known : v));
      if (sizeOf(out) !== sizeOf(x) || out.some((v) => !Number.isInteger(v))) throw new Error(`cannot reshape [${x.join(',')}] to [${t.join(',')}]`);
      return out;
    }
    case 'zeropad1d':
      need(2);
      return [x[0] + layer.pads![0][0] + layer.pads![0][1], x[1]];
    case 'zeropad2d':
      need(3);
      return [x[0] + layer.pads![0][0] + layer.pads![0][1], x[1] + layer.pads![1][0] + layer.pads![1][1], x[2]];
    case 'add':
    case 'average':
    case 'multiply': {
      const verb = layer.type === 'add' ? 'adds' : layer.type === 'average' ? 'averages' : 'multiplies';
      for (const s of inputShapes) if (s.join(',') !== x.join(',')) throw new Error(`${verb} tensors of different shapes [${inputShapes.map((s) => s.join(',')).join('], [')}] (broadcasting is not supported)`);
      return x;
    }
    case 'concatenate': {
      const rank = x.length;
      const axis = concatAxis(layer.axis ?? -1, rank);
      for (const s of inputShapes) {
        if (s.length !== rank || s.some((v, i) => i !== axis && v !== x[i])) {
          throw new Error(`concatenates shapes [${inputShapes.map((s) => s.join(',')).join('], [')}] that differ outside axis ${layer.axis ?? -1}`);
        }
      }
      const out = [...x];
      out[axis] = inputShapes.reduce((a, s) => a + s[axis], 0);
      return out;
    }
    case 'activation':
    case 'batchnorm':
    case 'dropout':
      return x;
    case 'lstm':
    case 'gru':
    case 'simple_rnn':
      return recurrentOutputShape(layer.units!, layer.recurrent!, x);
  }
  throw new Error(`has no shape rule for type '${(layer as AnyLayer).type}'`);
}

/** A Concatenate axis as a 0-based index into a shape without batch (Keras counts the batch axis as 0). */
export function concatAxis(axis: number, rank: number): number {
  const a = axis < 0 ? rank + axis : axis - 1;
  if (a < 0 || a >= rank) throw new Error(`concatenation axis ${axis} is out of range for rank ${rank}`);
  return a;
}
