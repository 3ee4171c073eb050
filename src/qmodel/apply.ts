/**
 * Carrying quantization-aware training into the IR (the convert stage calls these when the trained
 * model has a quantization.json beside it):
 *
 *  - annotateImportedModel, BEFORE the normalizing passes: a layer whose output training ternarized
 *    gets the activation `ternary` with its per-channel thresholds Δ. fuseActivation then carries it
 *    into the convolution it follows (Conv -> BatchNormalization -> Activation becomes one layer).
 *  - applyQuantization, AFTER them (BatchNormalization folded): every layer gets its formats
 *    (Layer.precision), and ternary layers their codes and scales (Layer.ternary):
 *      * ternary kernels are recovered exactly from the folded kernel: within a filter every
 *        non-zero value is ±s (α·|BN scale|), so t = sign(k) and α = s (a negative BN scale flips
 *        the filter's codes);
 *      * weights: fixed mode, the trained format; ternary, t held as fixed<2,2> (frac 0: the
 *        integers -1, 0, 1, so products keep the input's frac);
 *      * outputs: the activations format, or fixed<2,2> for a ternarized output; layers that only
 *        move values (max pooling, flatten, padding, concatenation of equal formats) keep their
 *        input's; average pooling rounds to the activations format (as training does);
 *      * biases: `biasBits` wide, with as many fractional bits as the largest bias allows but no more
 *        than the accumulator they are added to has (so aligning them is an exact left shift);
 *      * recurrent layers (LSTM, GRU, SimpleRNN; fixed mode): kernel and recurrent kernel in the
 *        trained format, every stored value of the cell in the activations format, biases as above
 *        on the gate sums' frac P = fw + max(fx, fo);
 *      * recurrent layers in ternary mode (FaCT-LSTM; LSTM and SimpleRNN): codes of the kernel and
 *        the recurrent kernel, per-column scales α·β (applyTernaryRecurrent), the operands'
 *        thresholds; biases on the scale's grid;
 *      * ternary scales: `scaleBits` wide, integer bits fitted to the largest |α|;
 *      * ternary accumulators: exactly wide enough never to wrap (input bits + ceil(log2 fanIn)).
 *
 * The integer arithmetic of a ternary layer (the C, src/quant/reference.ts and the RTL follow it):
 *    acc = wrap(Σ t·x, ACC_BITS)                      frac = frac(x): adds, subtracts or skips
 *    y   = acc·α_q + align(b_q, frac(b) -> F)         F = frac(x) + frac(α), exact in 64 bits
 *    out = ternary output: 1 if y ≥ θ_c, -1 if y ≤ -θ_c, else 0, with θ_c = max(1, ceil(Δ_c·2^F))
 *          (exactly |y·2^-F| ≥ Δ_c, and 0 stays 0 as sign(0) does);
 *          otherwise: requantize(y, F, output format), then the activation (ReLU: max(0, ·)).
 */
import { isRecurrent } from '../ir/recurrent';
import type { ImportedModel, Layer, ModelIR } from '../ir/types';
import { fracBits, maxInt, roundReal, type FixedFormat } from '../numerics/fixed';
import { DeepMakerError } from '../util/errors';
import type { LayerQuantization, QuantizationFile } from './file';

export const TERNARY_FORMAT = { bits: 2, integer: 2 } as const;

const MAC_TYPES = new Set(['dense', 'conv1d', 'conv2d', 'depthwise_conv2d']);
/** Layers whose output values are (a selection or rearrangement of) their input values. */
const MOVERS = new Set(['maxpool1d', 'maxpool2d', 'global_maxpool1d', 'global_maxpool2d', 'flatten', 'reshape', 'zeropad1d', 'zeropad2d', 'concatenate']);

export function annotateImportedModel(model: ImportedModel, q: QuantizationFile): ImportedModel {
  for (const [name, entry] of Object.entries(q.layers)) {
    if (entry.output?.kind !== 'ternary') continue;
    const l = model.layers.find((x) => x.name === name);
    if (!l) throw new DeepMakerError(`quantization.json names layer '${name}', which the model does not have`, { file: model.source.file, where: name }, 'the quantization file belongs to another model: rerun the train stage');
    const channels = l.outputShape[l.outputShape.length - 1];
    if (entry.output.thresholds.length !== channels) {
      throw new DeepMakerError(`layer '${name}' has ${channels} channels but ${entry.output.thresholds.length} ternary thresholds`, { file: model.source.file, where: name }, 'rerun the train stage');
    }
    l.activation = { kind: 'ternary', thresholds: [...entry.output.thresholds] };
  }
  return model;
}

/** The smallest `integer` for which a `bits`-wide format holds ±maxAbs without saturating (the most fractional bits). */
export function fitInteger(maxAbs: number, bits: number, rounding: FixedFormat['rounding']): number {
  if (!(maxAbs > 0)) return 1;
  const fits = (i: number) => roundReal(maxAbs * 2 ** (bits - i), rounding) <= maxInt(bits);
  let integer = Math.ceil(Math.log2(maxAbs)) + 1;
  while (!fits(integer)) integer++;
  while (fits(integer - 1)) integer--;
  return integer;
}

/** Products summed per output value. */
function fanIn(l: Layer): number {
  const x = l.inputShapes[0];
  const cin = x[x.length - 1];
  const k = l.kernel ?? [];
  return l.type === 'dense' ? cin : l.type === 'depthwise_conv2d' ? k[0] * k[1] : k.reduce((a, b) => a * b, 1) * cin;
}

function maxAbsOf(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Output channels of a MAC layer's kernel and the channel of flat kernel index i (Keras layouts: the channel is the fastest axis). */
function outputChannels(l: Layer): number {
  const k = l.weights.kernel!;
  return l.type === 'depthwise_conv2d' ? k.shape[2] * k.shape[3] : k.shape[k.shape.length - 1];
}

/** Splits a ternary-trained kernel into t ∈ {-1,0,1} and the per-filter magnitude; throws if a filter is not ternary. */
export function recoverTernary(l: Layer, file: string): { codes: Float32Array; scale: Float32Array } {
  return splitTernary(l, l.weights.kernel!.data, outputChannels(l), file, 'filter');
}

/** t ∈ {-1,0,1} and the magnitude per channel (the fastest axis, `c` of them) of a kernel holding ±s per channel. */
function splitTernary(l: Layer, k: Float32Array, c: number, file: string, what: string): { codes: Float32Array; scale: Float32Array } {
  const scale = new Float32Array(c);
  for (let i = 0; i < k.length; i++) if (k[i] !== 0 && scale[i % c] === 0) scale[i % c] = Math.abs(k[i]);
  const codes = new Float32Array(k.length);
  for (let i = 0; i < k.length; i++) {
    if (k[i] === 0) continue;
    const s = scale[i % c];
    if (Math.abs(Math.abs(k[i]) - s) > 1e-6 * s) {
      throw new DeepMakerError(
        `layer '${l.name}' is marked ternary but ${what} ${i % c} holds ${k[i]} and ${s} (not ±one value)`,
        { file, where: l.name },
        'the model file does not hold the ternary-trained kernels: rerun the train stage',
      );
    }
    codes[i] = Math.sign(k[i]);
  }
  return { codes, scale };
}

/** Sets Layer.precision (and Layer.ternary) on every layer of a normalized IR from the quantization file. */
export function applyQuantization(model: ModelIR, q: QuantizationFile): ModelIR {
  const file = model.source.file;
  const fmt = (f: { bits: number; integer: number }): FixedFormat => ({ bits: f.bits, integer: f.integer, rounding: q.rounding, overflow: q.overflow });
  const A = fmt(q.activations);
  const T = fmt(TERNARY_FORMAT);
  const out = new Map<string, FixedFormat>();
  const same = (a: FixedFormat, b: FixedFormat) => a.bits === b.bits && a.integer === b.integer;
  for (const l of model.layers) {
    const ins = l.inputs.map((i) => out.get(i)!);
    const precision: NonNullable<Layer['precision']> = {};
    if (l.type === 'input') {
      precision.output = A;
    } else if (MAC_TYPES.has(l.type)) {
      const entry = q.layers[l.name];
      const ternaryWeights = entry?.weights === 'ternary';
      const fx = fracBits(ins[0]);
      if (ternaryWeights) {
        const { codes, scale } = recoverTernary(l, file);
        l.weights.kernel = { shape: l.weights.kernel!.shape, data: codes };
        l.ternary = { scale };
        precision.weights = T;
        precision.scale = fmt({ bits: q.ternary?.scaleBits ?? 16, integer: fitInteger(maxAbsOf(scale), q.ternary?.scaleBits ?? 16, q.rounding) });
      } else {
        const w = entry?.weightFormat ?? q.weights ?? { bits: 16, integer: fitInteger(maxAbsOf(l.weights.kernel!.data), 16, q.rounding) };
        precision.weights = fmt(w);
      }
      const accFrac = fx + fracBits(precision.weights) + (precision.scale ? fracBits(precision.scale) : 0);
      if (l.weights.bias && l.useBias !== false) {
        const fitted = fitInteger(maxAbsOf(l.weights.bias.data), q.biasBits, q.rounding);
        precision.biases = fmt({ bits: q.biasBits, integer: Math.max(fitted, q.biasBits - accFrac) });
      }
      if (ternaryWeights) {
        // Σ t·x of fanIn inputs: |sum| ≤ fanIn·2^(bits-1), so bits + ceil(log2 fanIn) never wraps.
        // The scaled sum acc·α_q must stay exact in 64-bit C and in the reference's doubles (≤ 2^52).
        const accBits = ins[0].bits + Math.ceil(Math.log2(Math.max(2, fanIn(l))));
        if (accBits + precision.scale!.bits > 52) {
          throw new DeepMakerError(
            `ternary layer '${l.name}': ${accBits}-bit sums times ${precision.scale!.bits}-bit scales exceed 52 bits`,
            { file, where: l.name },
            'use a narrower activations format or quantize.ternary.scaleBits',
          );
        }
        precision.accumulator = fmt({ bits: accBits, integer: accBits - fx });
      }
      if (l.activation.kind === 'ternary' && !ternaryWeights) {
        throw new DeepMakerError(`layer '${l.name}' has a ternary activation but no ternary weights`, { file, where: l.name }, 'ternary activations are trained together with ternary weights (quantize.mode: ternary)');
      }
      precision.output = l.activation.kind === 'ternary' ? T : A;
    } else if (isRecurrent(l)) {
      // Fixed-point quantization-aware training (src/quant/layers.ts QuantRecurrent): the kernel and
      // the recurrent kernel in the trained format, every stored value of the cell (gates, c, h) in
      // the activations format, the biases on the grid of the gate sums P = fw + max(fx, fo).
      const entry = q.layers[l.name];
      if (entry?.weights === 'ternary') {
        applyTernaryRecurrent(l, entry, precision, q, A, fmt, file);
        l.precision = precision;
        out.set(l.name, precision.output!);
        continue;
      }
      const kernels = [l.weights.kernel, l.weights.recurrentKernel].map((t) => maxAbsOf(t?.data ?? []));
      precision.weights = fmt(entry?.weightFormat ?? q.weights ?? { bits: 16, integer: fitInteger(Math.max(...kernels), 16, q.rounding) });
      precision.output = A;
      const accFrac = fracBits(precision.weights) + Math.max(fracBits(ins[0]), fracBits(A));
      if (l.weights.bias && l.useBias !== false) {
        const fitted = fitInteger(maxAbsOf(l.weights.bias.data), q.biasBits, q.rounding);
        precision.biases = fmt({ bits: q.biasBits, integer: Math.max(fitted, q.biasBits - accFrac) });
      }
    } else if (l.activation.kind === 'ternary') {
      throw new DeepMakerError(
        `the ternary activation of '${l.name}' (${l.type}) does not follow a convolution or dense layer`,
        { file, where: l.name },
        'ternary activations must directly follow a Conv2D/Dense (optionally through BatchNormalization)',
      );
    } else if (MOVERS.has(l.type) && ins.every((f) => same(f, ins[0]))) {
      precision.output = ins[0];
    } else {
      precision.output = A;
    }
    l.precision = precision;
    out.set(l.name, precision.output!);
  }
  return model;
}

/**
 * A ternary recurrent layer (FaCT-LSTM; src/quant/layers.ts QuantRecurrent in ternary mode): codes
 * and per-column α of the kernel and of the recurrent kernel (recovered from the α·t the model file
 * holds), the operands' thresholds and scales β from quantization.json, and the C's scales α·β
 * (kernel columns times β_x, recurrent columns times β_h, one scale format fitted to both). Every
 * stored value of the cell stays in the activations format; the biases sit on the scale's grid.
 */
function applyTernaryRecurrent(
  l: Layer,
  entry: LayerQuantization,
  precision: NonNullable<Layer['precision']>,
  q: QuantizationFile,
  A: FixedFormat,
  fmt: (f: { bits: number; integer: number }) => FixedFormat,
  file: string,
): void {
  const cell = l.recurrent!.cell;
  if (cell === 'gru') {
    throw new DeepMakerError(`recurrent layer '${l.name}' (gru) is marked ternary; ternary recurrent layers are LSTM and SimpleRNN`, { file, where: l.name }, 'use lstm or simple_rnn layers with quantize.mode ternary, or quantize.mode fixed for GRU');
  }
  const ops = entry.operands;
  if (!ops) throw new DeepMakerError(`ternary recurrent layer '${l.name}' has no operand thresholds and scales in the quantization file`, { file, where: l.name }, 'rerun the train stage');
  const features = l.inputShapes[0][1];
  const u = l.units!;
  if (ops.input.thresholds.length !== features || ops.state.thresholds.length !== u) {
    throw new DeepMakerError(`ternary recurrent layer '${l.name}' reads ${features} features and keeps ${u} units but has ${ops.input.thresholds.length} input and ${ops.state.thresholds.length} state thresholds`, { file, where: l.name }, 'rerun the train stage');
  }
  const cols = l.weights.kernel!.shape[1];
  const k = splitTernary(l, l.weights.kernel!.data, cols, file, 'kernel column');
  const r = splitTernary(l, l.weights.recurrentKernel!.data, cols, file, 'recurrent kernel column');
  l.weights.kernel = { shape: l.weights.kernel!.shape, data: k.codes };
  l.weights.recurrentKernel = { shape: l.weights.recurrentKernel!.shape, data: r.codes };
  l.ternary = {
    scale: Float32Array.from(k.scale, (a) => a * ops.input.scale),
    recurrentScale: Float32Array.from(r.scale, (a) => a * ops.state.scale),
    inputThresholds: Float32Array.from(ops.input.thresholds),
    stateThresholds: Float32Array.from(ops.state.thresholds),
  };
  const scaleBits = q.ternary?.scaleBits ?? 16;
  precision.weights = fmt(TERNARY_FORMAT);
  precision.scale = fmt({ bits: scaleBits, integer: fitInteger(Math.max(maxAbsOf(l.ternary.scale), maxAbsOf(l.ternary.recurrentScale!)), scaleBits, q.rounding) });
  precision.output = A;
  // A gate sums ±1 code products (at most features + units of them) times the scales, plus the bias:
  // exact in the C's int64 and in the reference's doubles while below 2^52.
  const fs = fracBits(precision.scale);
  if (Math.ceil(Math.log2(features + u + 1)) + scaleBits > 52) {
    throw new DeepMakerError(`ternary recurrent layer '${l.name}': ${features + u} code products times ${scaleBits}-bit scales exceed 52 bits`, { file, where: l.name }, 'use a smaller quantize.ternary.scaleBits');
  }
  if (l.weights.bias && l.useBias !== false) {
    const fitted = fitInteger(maxAbsOf(l.weights.bias.data), q.biasBits, q.rounding);
    precision.biases = fmt({ bits: q.biasBits, integer: Math.max(fitted, q.biasBits - fs) });
  }
}

/** θ_c = max(1, ceil(Δ_c · 2^F)): |y·2^-F| ≥ Δ_c exactly, on the integer y with F fractional bits. */
export function ternaryThresholdInt(delta: number, frac: number): number {
  return Math.max(1, Math.ceil(Math.fround(delta) * 2 ** frac));
}
