/**
 * The number formats of every layer, resolved exactly as the generated model.h resolves its macros:
 * a layer's own format (Layer.precision, e.g. from quantization-aware training) or else the class
 * knob (weights, biases, activations); accumulators are `accumulatorBits` wide or, when that is 0
 * ("auto"), just wide enough never to wrap (at most 64).
 *
 * `formatSource` and `accumulatorSource` say where each format comes from (the layer's own, or a class
 * knob / auto); `resolveFormats` evaluates them with the knobs, and the C writer (src/cgen/model.ts)
 * writes the same sources as model.h's macro defaults. The quantized-model view (src/qmodel/lower.ts),
 * which the TF.js integer reference, the RTL and the DSE cost model read, takes its formats from
 * resolveFormats, so their widths equal the C model's.
 */
import type { Layer, ModelIR } from '../ir/types';
import { isRecurrent } from '../ir/recurrent';
import { fracBits, type FixedFormat, type Overflow, type Rounding } from '../numerics/fixed';

export interface BitsInteger {
  bits: number;
  integer: number;
}

/** The knobs of model.h. */
export interface NumberKnobs {
  mode: 'float' | 'fixed';
  weights: BitsInteger;
  biases: BitsInteger;
  activations: BitsInteger;
  /** Accumulator width; 0 = auto (exact, at most 64). */
  accumulatorBits: number;
  rounding: Rounding;
  overflow: Overflow;
}

export const DEFAULT_KNOBS: NumberKnobs = {
  mode: 'float',
  weights: { bits: 16, integer: 6 },
  biases: { bits: 16, integer: 6 },
  activations: { bits: 16, integer: 6 },
  accumulatorBits: 0,
  rounding: 'half-even',
  overflow: 'saturate',
};

export interface LayerFormats {
  /** Format of the values this layer writes (for flatten/reshape: its input's). */
  output: FixedFormat;
  /** Fractional bits of each input (its producer's output frac). */
  inputFracs: number[];
  weights?: FixedFormat;
  biases?: FixedFormat;
  /** fw + fx: the frac of exact products and of the accumulator. */
  productFrac?: number;
  accumulatorBits?: number;
  /** Taps per output: the number of products summed. */
  fanIn?: number;
  /** Ternary layers: the format of the per-filter scale α (only a layer's own: Layer.precision.scale). */
  scale?: FixedFormat;
}

/** model.h's class knobs: DM_W_* (weights), DM_B_* (biases), DM_A_* (activations: every layer output and the model input). */
export type KnobClass = 'weights' | 'biases' | 'activations';

/** Where a layer's format comes from: its own (Layer.precision, fixed at convert time) or a class knob. */
export type FormatSource = { own: FixedFormat } | { knob: KnobClass };

/** The source of a layer's output, weight or bias format (output: of a layer that computes its values; Flatten/Reshape keep their input's). */
export function formatSource(l: Layer, slot: 'output' | 'weights' | 'biases'): FormatSource {
  const own = l.precision?.[slot];
  if (own) return { own };
  return { knob: slot === 'output' ? 'activations' : slot };
}

/**
 * The accumulator of a MAC or recurrent layer: its own width, or auto (model.h's DM_ACC_AUTO: the
 * accumulatorBits knob when it is > 0, else exactly wide enough) over `growth` bits of sum growth
 * (a recurrent gate also adds its state products and bias: fanIn + 2 terms).
 */
export type AccumulatorSource = { own: number } | { auto: { growth: number } };

export function accumulatorSource(l: Layer): AccumulatorSource {
  const own = l.precision?.accumulator?.bits;
  if (own !== undefined) return { own };
  return { auto: { growth: growthBits(isRecurrent(l) ? fanIn(l) + 2 : fanIn(l)) } };
}

/** Integer bits (sign included) that represent every value in [-m, m]: floor(log2(m)) + 2 (1 for m = 0). */
export function integerBitsFor(maxAbs: number): number {
  if (!(maxAbs > 0)) return 1;
  return Math.floor(Math.log2(maxAbs)) + 2;
}

/** The largest |value| of a tensor class over the model's MAC and recurrent layers (a recurrent kernel is a kernel). */
export function maxAbsWeight(model: ModelIR, slot: 'kernel' | 'bias'): number {
  let m = 0;
  for (const l of model.layers) {
    const tensors = isRecurrent(l) ? (slot === 'kernel' ? [l.weights.kernel, l.weights.recurrentKernel] : [l.weights.bias]) : MAC_TYPES.has(l.type) ? [l.weights[slot]] : [];
    for (const t of tensors) if (t) for (const v of t.data) m = Math.max(m, Math.abs(v));
  }
  return m;
}

export const MAC_TYPES = new Set(['dense', 'conv1d', 'conv2d', 'depthwise_conv2d']);

export function fanIn(layer: Layer): number {
  const x = layer.inputShapes[0];
  const cin = x[x.length - 1];
  switch (layer.type) {
    case 'dense':
      return cin;
    case 'conv1d':
      return layer.kernel![0] * cin;
    case 'conv2d':
      return layer.kernel![0] * layer.kernel![1] * cin;
    case 'depthwise_conv2d':
      return layer.kernel![0] * layer.kernel![1];
    case 'lstm':
    case 'gru':
    case 'simple_rnn':
      return cin + layer.units!;
  }
  return 0;
}

/** ceil(log2(n)) for n ≥ 1: the growth bits of a sum of n terms. */
export function growthBits(n: number): number {
  return n <= 1 ? 0 : Math.ceil(Math.log2(n));
}

/** Auto accumulator width (model.h's DM_ACC_AUTO): products need wb+ab-1 bits plus growth; the aligned bias bi+pf; one more for their sum and sign. */
export function autoAccumulatorBits(wBits: number, aBits: number, growth: number, bInt: number, productFrac: number): number {
  return Math.min(64, Math.max(wBits + aBits + growth, bInt + productFrac + 1) + 1);
}

/**
 * A recurrent gate sums input products (frac fw + fx) and state products (frac fw + fo) at the
 * larger frac P = fw + max(fx, fo): the input products shift left by sx, the state products by sh.
 */
export function recurrentShifts(fw: number, fx: number, fo: number): { productFrac: number; sx: number; sh: number } {
  const productFrac = fw + Math.max(fx, fo);
  return { productFrac, sx: productFrac - fw - fx, sh: productFrac - fw - fo };
}

function fmt(b: BitsInteger, k: NumberKnobs): FixedFormat {
  return { bits: b.bits, integer: b.integer, rounding: k.rounding, overflow: k.overflow };
}

export function resolveFormats(model: ModelIR, knobs: NumberKnobs): Map<string, LayerFormats> {
  const evaluate = (s: FormatSource): FixedFormat => ('own' in s ? s.own : fmt(knobs[s.knob], knobs));
  const accumulator = (l: Layer, autoBits: (growth: number) => number): number => {
    const a = accumulatorSource(l);
    return 'own' in a ? a.own : knobs.accumulatorBits > 0 ? knobs.accumulatorBits : autoBits(a.auto.growth);
  };
  const out = new Map<string, LayerFormats>();
  for (const l of model.layers) {
    const inputFracs = l.inputs.map((i) => fracBits(out.get(i)!.output));
    if (l.type === 'flatten' || l.type === 'reshape') {
      out.set(l.name, { output: out.get(l.inputs[0])!.output, inputFracs });
      continue;
    }
    const output = evaluate(formatSource(l, 'output'));
    const f: LayerFormats = { output, inputFracs };
    if (MAC_TYPES.has(l.type)) {
      const weights = evaluate(formatSource(l, 'weights'));
      const biases = evaluate(formatSource(l, 'biases'));
      const producer = out.get(l.inputs[0])!.output;
      const productFrac = fracBits(weights) + fracBits(producer);
      const accBits = accumulator(l, (growth) => autoAccumulatorBits(weights.bits, producer.bits, growth, biases.integer, productFrac));
      Object.assign(f, { weights, biases, productFrac, accumulatorBits: accBits, fanIn: fanIn(l) });
      if (l.precision?.scale) f.scale = l.precision.scale;
    } else if (isRecurrent(l)) {
      const weights = evaluate(formatSource(l, 'weights'));
      const biases = evaluate(formatSource(l, 'biases'));
      const producer = out.get(l.inputs[0])!.output;
      const fx = fracBits(producer), fo = fracBits(output);
      const r = recurrentShifts(fracBits(weights), fx, fo);
      const accBits = accumulator(l, (growth) => autoAccumulatorBits(weights.bits, Math.max(producer.bits + r.sx, output.bits + r.sh), growth, biases.integer, r.productFrac));
      Object.assign(f, { weights, biases, productFrac: r.productFrac, accumulatorBits: accBits, fanIn: fanIn(l) });
      // Ternary (FaCT-LSTM): the gate sums are code sums times scales, at the scale's frac (src/qmodel/lower.ts).
      if (l.precision?.scale) f.scale = l.precision.scale;
    }
    out.set(l.name, f);
  }
  return out;
}
