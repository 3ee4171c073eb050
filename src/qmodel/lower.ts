/**
 * The quantized model: ModelIR (float weights + per-tensor fixed-point formats) lowered to the
 * integers the fixed-point model computes with: integer weights, aligned biases, ternary scales and
 * thresholds, pads, and every tensor's format with the knobs' one rounding and overflow rule. It is
 * the one view of the quantized model; its consumers take their integers and formats from here:
 *  - the TF.js integer reference (src/quant/reference.ts), bit-exact with the generated C;
 *  - the RTL generator, its cycle model and the DSE cost model (src/rtl, src/dse), through
 *    src/rtl/lower.ts, which first refuses what the hardware does not compute (activations other
 *    than relu, dilation, concatenation off the channel axis, more than one input or output...);
 *  - the TypeScript interpreter of the RTL's arithmetic (src/sim/reference.ts).
 * The C writer (src/cgen) does not read integers from here, by design: model.h's formats are
 * preprocessor macros that a user (and the verify stage's precision sweep) may override with -D, so
 * dm_init quantizes the float weights at run time with whatever formats the C is compiled with. Its
 * macro defaults come from the same resolution this view evaluates (src/qmodel/precision.ts:
 * formatSource and accumulatorSource, evaluated by resolveFormats), and the arithmetic below is the
 * C's, layer for layer (src/numerics/fixed.ts is the contract). The view describes what the C and the
 * TF.js reference compute; a layer type outside that set is an error naming the layer.
 *
 * Formats: resolveFormats (a layer's own precision, else the class knobs; auto accumulator widths),
 * then the knobs' rounding and overflow everywhere, as model.h's DM_ROUNDING / DM_OVERFLOW.
 *
 * Arithmetic:
 *  - Tensors are 3-D [H, W, C], channels_last (1-D inputs are [1, 1, C], 2-D [1, W, C]).
 *  - Inputs: quantize(x, input format), saturating (the C's dm_quantize).
 *  - Dense / Conv / DepthwiseConv: integer weights qw = quantize(w, weights), the input x in its
 *    producer's format; the product has frac fw + fx and is exact; the sum is wrapped modulo
 *    2^accBits (the C model's accumulator width: its own, the knob, or auto = never wraps);
 *    the bias qb = quantize(b, biases) is aligned to frac fw + fx with `alignFrac` (the knobs'
 *    rounding) and added modulo 2^accBits; then ONE `requantize` to the output format, then the
 *    activation on the output integer (QAct).
 *  - Ternary layers (Layer.ternary; src/qmodel/apply.ts defines them, the C follows): kernel codes
 *    t ∈ {-1, 0, 1}, a per-output-channel scale α_q = quantize(α, precision.scale), saturating.
 *    acc = wrap(Σ t·x, accBits) (add/subtract lanes); y = acc·α_q + align(b_q -> F), exact,
 *    F = fw + fx + fs (fw = 0: codes are held as fixed<2,2>); then requantize(y, F, output) and the
 *    activation, or the ternary output activation: 1 if y ≥ θ_c, -1 if y ≤ -θ_c, else 0, with
 *    θ_c = max(1, ceil(Δ_c·2^F)) (Δ_c as float32, as in C).
 *  - Max pool: the maximum of the (valid) window integers, requantized from the input format.
 *  - Average pool: the exact quotient sum/n of the window's n valid elements (Keras excludes padding),
 *    rounded to the output frac with the output rounding, then the output overflow rule
 *    (requantizeDiv). Global pools are pools whose window is the whole input.
 *  - Add: inputs aligned (exactly, left shifts) to the largest frac among them, summed, requantized,
 *    then the activation.
 *  - Concatenate, ZeroPadding: each element requantized from its input format to the output format
 *    (no activation: the C applies none there). A standalone Activation: requantized, then the
 *    activation; without a format change and with an identity activation it is free (an alias).
 *  - Flatten / Reshape are free: the flat data is already in that order (an alias of the input).
 *  - Average: inputs aligned exactly to the largest frac among them, summed, divided by their count
 *    with one rounding (requantizeDiv); Multiply: the exact product of the first two requantized once
 *    to the output format, then each further input the same way (no activation: Keras has none).
 *  - LSTM, GRU (reset_after true and false), SimpleRNN: one op over all time steps (QRecurrent
 *    below): integer kernels and recurrent kernels in the weight format, biases aligned to the gate
 *    frac, every stored value of the cell in the output format, the cell activations as exact
 *    functions of the stored integers (src/numerics/recurrent.ts: the C's tanh table, interpolated
 *    in integers; hard_sigmoid as an exact rational). Ternary LSTM and SimpleRNN (FaCT-LSTM): the
 *    kernels are codes, the gate products read ternarized x and h, and each gate sum is the code sums
 *    times a per-column scale plus the bias (QRecurrent.ternary).
 *  - A softmax on an output layer is dropped (it does not change the argmax): the outputs are the
 *    integer logits before it.
 */
import { gateNames, isRecurrent } from '../ir/recurrent';
import type { Activation, Layer, ModelIR } from '../ir/types';
import { alignFrac, FixedFormat, fracBits, quantize, quantizeConstant, wrap } from '../numerics/fixed';
import { hardSigmoidDivisor, tanhTable, type CellActivation } from '../numerics/recurrent';
import { DeepMakerError } from '../util/errors';
import { ternaryThresholdInt } from './apply';
import { resolveFormats, type LayerFormats, type NumberKnobs } from './precision';

export type Dims3 = [number, number, number];

export interface QTensor {
  /** The IR layer that produces it (or the input layer). */
  name: string;
  shape: Dims3;
  size: number;
  format: FixedFormat;
}

/**
 * What follows the requantization of an output integer z (the C's fixedActivation): relu and an
 * optional clamp, a ternary output, or a function of the real value.
 */
export interface QAct {
  relu: boolean;
  /** Upper clamp as an output-format integer (ReLU max_value), applied after relu (or `function`). */
  max?: number;
  /** Ternary output (ternary layers only): per-channel thresholds θ_c on y (frac F); replaces requantize. */
  ternary?: number[];
  /**
   * An activation the C computes from the real value z·2^-frac (leaky_relu, elu, thresholded_relu,
   * sigmoid, tanh, hard_sigmoid), or a softmax inside the network. The RTL computes none of these
   * (src/rtl/lower.ts refuses them); the TF.js reference follows the C.
   */
  function?: Activation;
}

interface QOpBase {
  /** The IR layer this op computes. */
  layer: string;
  irType: string;
  inputs: string[];
  output: string;
  act: QAct;
}

export interface QMac extends QOpBase {
  kind: 'mac';
  conv: 'conv' | 'depthwise';
  in: Dims3;
  out: Dims3;
  kernel: [number, number];
  stride: [number, number];
  /** Kernel dilation (1, 1 but for dilated convolutions). */
  dilation: [number, number];
  /** Zero padding before the first row and column (the rest is implied by the output size). */
  pad: [number, number];
  /** Depthwise channel multiplier (1 for conv). */
  multiplier: number;
  /**
   * Integer weights. conv: [kh][kw][cin][cout] flat (Keras order; conv1d [kw][cin][cout], dense
   * [cin][cout]); depthwise: [kh][kw][c][m]. Ternary layers: the codes t ∈ {-1,0,1} (the scale is separate).
   */
  weights: Int32Array;
  weightFormat: FixedFormat;
  /** Ternary: per-output-channel scale integers in scaleFormat. */
  ternaryScale?: Int32Array;
  scaleFormat?: FixedFormat;
  /** Bias per output channel, aligned to prodFrac (zeros without bias); wrapped to accBits except in ternary layers. */
  bias: number[];
  /** Width of the value requantized per output: accBits, or for ternary layers the exact width of acc·α_q + b. */
  yBits: number;
  hasBias: boolean;
  inFormat: FixedFormat;
  accBits: number;
  /** Products summed per output (the reduction length). */
  fanIn: number;
  /** frac of the value requantized per output: fw + fx (the products and the accumulator); ternary fw + fx + fs. */
  prodFrac: number;
  outFormat: FixedFormat;
}

export interface QPool extends QOpBase {
  kind: 'pool';
  op: 'max' | 'avg';
  in: Dims3;
  out: Dims3;
  window: [number, number];
  stride: [number, number];
  pad: [number, number];
  inFormat: FixedFormat;
  outFormat: FixedFormat;
}

/** Element-wise: out[i] = act(requantize(combine(inputs at i))). */
export interface QElementwise extends QOpBase {
  kind: 'elementwise';
  /** average: the exact sum at the largest input frac divided by the count, one rounding; multiply: folds left, each product requantized once to the output format. */
  op: 'map' | 'add' | 'concat' | 'pad' | 'average' | 'multiply';
  out: Dims3;
  inShapes: Dims3[];
  inFormats: FixedFormat[];
  outFormat: FixedFormat;
  /** pad: zeros before the first row / column. */
  pad?: [number, number];
  /** concat: the axis of the 3-D shapes the inputs are joined on (2: channels). */
  axis?: 0 | 1 | 2;
}

/**
 * A recurrent layer (LSTM, GRU with reset_after true or false, SimpleRNN) over all its time steps,
 * as the fixed-point C computes it (src/cgen/recurrent.ts; the README's "Recurrent layers in fixed
 * point"). Gate g's column block is [g·u, (g+1)·u) of the kernels and of the bias (Keras's gate order:
 * LSTM i, f, c, o; GRU z, r, h; SimpleRNN h). Per step t (input step goBackwards ? T-1-t : t):
 *  - a gate's pre-activation: acc = wrap(bias[col] (+ bias[3u + col] for GRU reset_after z, r)
 *    + Σ_i kernel[i][col]·x[i]·2^sx + Σ_i recurrentKernel[i][col]·h[i]·2^sh, accBits) at frac
 *    productFrac, requantized once to O, then the gate's activation (cell functions of
 *    src/numerics/recurrent.ts). GRU reset_after false: the h gate reads r ⊙ h instead of h
 *    (requantize(r·h, 2·fo)); reset_after true: its x and h sums (bias[2u + j], bias[5u + j]) are
 *    each requantized to O (qx, qh), then z = requantize(qx·2^blendShiftH + r·qh·2^blendShiftP, blendFrac);
 *  - LSTM: c = requantize(f·c + i·g, 2·fo); h = requantize(o·act(c), 2·fo);
 *    GRU: h = requantize(hh·2^blendShiftH + z·(h − hh)·2^blendShiftP, blendFrac) (= z·h + (1 − z)·hh);
 *    SimpleRNN: h = the gate;
 *  - every product and sum of stored values is an int64 (modulo 2^64, exact below 2^63);
 *  - the output: h of every step at (reverseOutput ? T-1-t : t) with returnSequences, else h after the last step.
 */
export interface QRecurrent extends QOpBase {
  kind: 'recurrent';
  cell: 'lstm' | 'gru' | 'simple_rnn';
  /** The gates in Keras's column order. */
  gates: string[];
  timeSteps: number;
  features: number;
  units: number;
  in: Dims3;
  out: Dims3;
  returnSequences: boolean;
  goBackwards: boolean;
  /** Bidirectional's backward half: the sequence is stored back in input order. */
  reverseOutput: boolean;
  /** GRU only. */
  resetAfter: boolean;
  /** `activation` (LSTM c and its output, GRU h, SimpleRNN) and `recurrent_activation` (the other gates). */
  activation: CellActivation;
  recurrentActivation: CellActivation;
  /** The tanh table the tanh and sigmoid cells interpolate (src/numerics/recurrent.ts: tanhTable). */
  tanhTable: Int32Array;
  /** Integer kernel [features][gates·units] and recurrent kernel [units][gates·units] (Keras layout), in weightFormat. */
  kernel: Int32Array;
  recurrentKernel: Int32Array;
  weightFormat: FixedFormat;
  /** quantize(b, biases) aligned to productFrac (int64 as in dm_init, exact; zeros without bias): gates·units, or 2·gates·units for GRU reset_after. */
  bias: number[];
  hasBias: boolean;
  biasFormat?: FixedFormat;
  inFormat: FixedFormat;
  outFormat: FixedFormat;
  accBits: number;
  /** P = fw + max(fx, fo): the frac of the gate sums; x products shift left by sx, state products by sh. */
  productFrac: number;
  sx: number;
  sh: number;
  /** F = max(fo, 2·fo): the frac of GRU's blend and of reset_after's x_q + r·h_q; h-like terms shift by blendShiftH = F − fo, products by blendShiftP = F − 2·fo. */
  blendFrac: number;
  blendShiftH: number;
  blendShiftP: number;
  /** Products summed per gate output: features + units. */
  fanIn: number;
  /**
   * Ternary layers (FaCT-LSTM; LSTM and SimpleRNN): kernel and recurrentKernel hold the codes
   * t ∈ {-1, 0, 1}; each gate product reads the ternarized operands t_x = tern(x, θx) and
   * t_h = tern(h, θh) (tern(v, θ) = 1 if v ≥ θ, -1 if v ≤ -θ, else 0, on the stored integers), so it
   * adds, subtracts or skips 1; a gate's pre-activation is
   *   y = Σ_i t_W[i][col]·t_x[i] · kernelScale[col] + Σ_j t_U[j][col]·t_h[j] · recurrentScale[col] + bias[col]
   * exactly (int64; productFrac = frac(scaleFormat), no accumulator wrap), requantized once to O. The
   * activations, c and h are fixed point as in the other layers.
   */
  ternary?: {
    /** Per-column scale integers (α·β_x, α·β_h) in scaleFormat, quantized saturating. */
    kernelScale: Int32Array;
    recurrentScale: Int32Array;
    scaleFormat: FixedFormat;
    /** θ per input feature (at the input's frac) and per unit (at the output's frac): max(1, ceil(Δ·2^frac)). */
    inputThresholds: number[];
    stateThresholds: number[];
  };
}

export type QOp = QMac | QPool | QElementwise | QRecurrent;

export interface QModel {
  name: string;
  /** The input tensors, in layer order (the C harness reads them concatenated in this order). */
  inputs: QTensor[];
  /** Every tensor by name (aliases included: a Flatten output names the same data as its input). */
  tensors: Map<string, QTensor>;
  /** Alias -> the tensor that holds the data. */
  alias: Map<string, string>;
  ops: QOp[];
  /** The output tensors (aliases resolved), in the model's output order: the logits. */
  outputs: string[];
}

export const QUANTIZED_LAYER_TYPES =
  'dense, conv1d, conv2d, depthwise_conv2d, max/avg pool 1d/2d, global avg/max pool, flatten, reshape, zero padding, add, average, multiply, concatenate, activation, lstm, gru, simple_rnn';

const IDENTITY: QAct = { relu: false };

export function dims3(shape: number[], where: string): Dims3 {
  if (shape.length === 1) return [1, 1, shape[0]];
  if (shape.length === 2) return [1, shape[0], shape[1]];
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  throw new DeepMakerError(`tensor of rank ${shape.length} (${JSON.stringify(shape)}) has no fixed-point integer model`, { where }, 'use tensors of rank 1 to 3 (channels_last)');
}

export function layerWhere(l: Layer): string {
  return `layer '${l.name}' (${l.type})`;
}

function needFormat(l: Layer, f: FixedFormat | undefined, what: string): FixedFormat {
  if (!f) throw new DeepMakerError(`has no fixed-point ${what} format`, { where: layerWhere(l) });
  return f;
}

/** The C's fixedActivation as data: relu and max exactly; other functions of the real value as `function`. */
function lowerActivation(l: Layer, out: FixedFormat, isOutput: boolean): QAct {
  const a: Activation = l.activation ?? { kind: 'linear' };
  // The C clamps to max_value after relu, leaky_relu and elu (model.c's dm_c_<m>_max, quantized saturating).
  const max = a.maxValue !== undefined ? { max: quantizeConstant(a.maxValue, out) } : {};
  switch (a.kind) {
    case 'linear':
      return IDENTITY;
    case 'relu':
      return { relu: true, ...max };
    case 'softmax':
      return isOutput ? IDENTITY : { relu: false, function: a };
    case 'leaky_relu':
    case 'elu':
      return { relu: false, function: a, ...max };
    case 'thresholded_relu':
    case 'sigmoid':
    case 'tanh':
    case 'hard_sigmoid':
      return { relu: false, function: a };
    case 'ternary':
      throw new DeepMakerError('a ternary output activation on a layer without ternary weights is not supported', { where: layerWhere(l) }, 'ternarize the weights of this layer too, or use relu');
    default:
      throw new DeepMakerError(`activation '${a.kind}' has no fixed-point integer model`, { where: layerWhere(l) }, 'use relu, relu6, leaky_relu, elu, thresholded_relu, sigmoid, tanh, hard_sigmoid or linear');
  }
}

function isIdentity(act: QAct): boolean {
  return !act.relu && act.max === undefined && !act.ternary && !act.function;
}

/** Zero padding before the first element of an axis: Keras 'same' (the odd extra one goes after) or 'causal'. */
function padBefore(padding: Layer['padding'], inSize: number, outSize: number, k: number, s: number, d: number): number {
  const span = (k - 1) * d + 1;
  if (padding === 'causal') return span - 1;
  if (padding !== 'same') return 0;
  return Math.floor(Math.max((outSize - 1) * s + span - inSize, 0) / 2);
}

/** Bits of a two's-complement integer able to hold every value in [lo, hi]. */
export function signedBitsFor(lo: number, hi: number): number {
  let b = 1;
  while (-(2 ** (b - 1)) > lo || 2 ** (b - 1) - 1 < hi) b++;
  return b;
}

export function sameFormat(a: FixedFormat, b: FixedFormat): boolean {
  return a.bits === b.bits && a.integer === b.integer;
}

export function lowerModel(ir: ModelIR, knobs: NumberKnobs): QModel {
  if (knobs.mode !== 'fixed') {
    throw new DeepMakerError('the model is in floating point', { where: ir.name }, 'the quantized model needs fixed-point knobs: set convert.format: fixed');
  }
  // One rounding and one overflow rule for every format, as model.h's DM_ROUNDING / DM_OVERFLOW.
  const withRules = (f: FixedFormat): FixedFormat => ({ bits: f.bits, integer: f.integer, rounding: knobs.rounding, overflow: knobs.overflow });
  const resolved = resolveFormats(ir, knobs);
  const byName = new Map(ir.layers.map((l) => [l.name, l]));
  for (const n of ir.inputs) if (!byName.has(n)) throw new DeepMakerError(`input layer '${n}' is not in the layer list`, { where: ir.name });
  for (const n of ir.outputs) if (!byName.has(n)) throw new DeepMakerError(`output layer '${n}' is not in the layer list`, { where: ir.name });
  // A layer whose values are a model output, looking through Flatten/Reshape (they move no data), as the C decides it.
  const source = (name: string): Layer => {
    let l = byName.get(name)!;
    while ((l.type === 'flatten' || l.type === 'reshape') && byName.has(l.inputs[0])) l = byName.get(l.inputs[0])!;
    return l;
  };
  const outputLayers = new Set(ir.outputs.map(source));
  const tensors = new Map<string, QTensor>();
  const alias = new Map<string, string>();
  const inputs: QTensor[] = [];
  const ops: QOp[] = [];
  const resolve = (n: string) => alias.get(n) ?? n;
  const tensorOf = (n: string, l: Layer) => {
    const t = tensors.get(n);
    if (!t) throw new DeepMakerError(`reads '${n}', which is not produced before it`, { where: layerWhere(l) });
    return t;
  };

  for (const l of ir.layers) {
    const where = layerWhere(l);
    const outShape = dims3(l.outputShape, where);
    const size = outShape[0] * outShape[1] * outShape[2];
    const lf = resolved.get(l.name)!;
    const outFmt = (): FixedFormat => withRules(lf.output);
    const addTensor = (format: FixedFormat) => tensors.set(l.name, { name: l.name, shape: outShape, size, format });
    if (l.type === 'input') {
      const t: QTensor = { name: l.name, shape: outShape, size, format: outFmt() };
      tensors.set(l.name, t);
      inputs.push(t);
      continue;
    }
    const isOutput = outputLayers.has(l);
    const ins = l.inputs.map((n) => tensorOf(n, l));

    switch (l.type) {
      case 'dense':
      case 'conv1d':
      case 'conv2d':
      case 'depthwise_conv2d': {
        const op = lowerMac(l, ins[0], outShape, isOutput, lf, withRules);
        addTensor(op.outFormat);
        ops.push({ ...op, inputs: [resolve(l.inputs[0])], output: l.name });
        break;
      }
      case 'maxpool1d':
      case 'maxpool2d':
      case 'avgpool1d':
      case 'avgpool2d':
      case 'global_avgpool1d':
      case 'global_avgpool2d':
      case 'global_maxpool1d':
      case 'global_maxpool2d': {
        const x = ins[0];
        const global = l.type.startsWith('global');
        const oneD = l.type.endsWith('1d');
        let window: [number, number];
        let stride: [number, number];
        let pad: [number, number] = [0, 0];
        if (global) {
          window = [x.shape[0], x.shape[1]];
          stride = [1, 1];
        } else {
          const p = l.pool ?? [2, 2];
          const s = l.strides ?? p;
          window = oneD ? [1, p[0]] : [p[0], p[1] ?? p[0]];
          stride = oneD ? [1, s[0]] : [s[0], s[1] ?? s[0]];
          pad = [padBefore(l.padding, x.shape[0], outShape[0], window[0], stride[0], 1), padBefore(l.padding, x.shape[1], outShape[1], window[1], stride[1], 1)];
        }
        const fmt = outFmt();
        addTensor(fmt);
        ops.push({
          kind: 'pool', layer: l.name, irType: l.type, inputs: [resolve(x.name)], output: l.name, act: IDENTITY,
          op: l.type.includes('max') ? 'max' : 'avg', in: x.shape, out: outShape, window, stride, pad, inFormat: x.format, outFormat: fmt,
        });
        break;
      }
      case 'flatten':
      case 'reshape': {
        // The C moves no data here: same integers, same format.
        const x = ins[0];
        if (size !== x.size) throw new DeepMakerError(`reshapes ${x.size} elements into ${size}`, { where });
        alias.set(l.name, resolve(x.name));
        tensors.set(l.name, { name: l.name, shape: outShape, size, format: x.format });
        break;
      }
      case 'activation': {
        const x = ins[0];
        const fmt = outFmt();
        const act = lowerActivation(l, fmt, isOutput);
        if (isIdentity(act) && sameFormat(fmt, x.format)) {
          alias.set(l.name, resolve(x.name));
          tensors.set(l.name, { name: l.name, shape: outShape, size, format: fmt });
          break;
        }
        addTensor(fmt);
        ops.push({ kind: 'elementwise', op: 'map', layer: l.name, irType: l.type, inputs: [resolve(x.name)], output: l.name, act, out: outShape, inShapes: [x.shape], inFormats: [x.format], outFormat: fmt });
        break;
      }
      case 'zeropad1d':
      case 'zeropad2d': {
        const x = ins[0];
        const fmt = outFmt();
        const pads = l.pads ?? [];
        const pad: [number, number] = l.type === 'zeropad1d' ? [0, pads[0]?.[0] ?? 0] : [pads[0]?.[0] ?? 0, pads[1]?.[0] ?? 0];
        addTensor(fmt);
        ops.push({ kind: 'elementwise', op: 'pad', layer: l.name, irType: l.type, inputs: [resolve(x.name)], output: l.name, act: IDENTITY, out: outShape, inShapes: [x.shape], inFormats: [x.format], outFormat: fmt, pad });
        break;
      }
      case 'add': {
        if (ins.length < 2) throw new DeepMakerError('add with fewer than two inputs', { where });
        for (const x of ins) if (x.size !== size) throw new DeepMakerError(`adds tensors of different sizes (${ins.map((t) => JSON.stringify(t.shape)).join(' + ')})`, { where }, 'broadcasting adds are not supported in fixed point');
        const fmt = outFmt();
        addTensor(fmt);
        ops.push({ kind: 'elementwise', op: 'add', layer: l.name, irType: l.type, inputs: l.inputs.map(resolve), output: l.name, act: lowerActivation(l, fmt, isOutput), out: outShape, inShapes: ins.map((t) => t.shape), inFormats: ins.map((t) => t.format), outFormat: fmt });
        break;
      }
      case 'average':
      case 'multiply': {
        // The C applies no activation here (Keras's Average and Multiply have none).
        if (ins.length < 2) throw new DeepMakerError(`${l.type} with fewer than two inputs`, { where });
        for (const x of ins) if (x.size !== size) throw new DeepMakerError(`${l.type === 'average' ? 'averages' : 'multiplies'} tensors of different sizes (${ins.map((t) => JSON.stringify(t.shape)).join(', ')})`, { where }, 'broadcasting merges are not supported in fixed point');
        const fmt = outFmt();
        addTensor(fmt);
        ops.push({ kind: 'elementwise', op: l.type, layer: l.name, irType: l.type, inputs: l.inputs.map(resolve), output: l.name, act: IDENTITY, out: outShape, inShapes: ins.map((t) => t.shape), inFormats: ins.map((t) => t.format), outFormat: fmt });
        break;
      }
      case 'lstm':
      case 'gru':
      case 'simple_rnn': {
        const op = lowerRecurrent(l, ins[0], outShape, lf, withRules);
        addTensor(op.outFormat);
        ops.push({ ...op, inputs: [resolve(l.inputs[0])], output: l.name });
        break;
      }
      case 'concatenate': {
        const rank = l.outputShape.length;
        const axisIr = l.axis === undefined ? rank - 1 : l.axis < 0 ? rank + l.axis : l.axis;
        if (!(axisIr >= 0 && axisIr < rank)) throw new DeepMakerError(`concatenation axis ${l.axis} is outside a rank-${rank} tensor`, { where });
        // The same axis of the 3-D shapes (dims3 prepends 1s).
        const axis = (3 - rank + axisIr) as 0 | 1 | 2;
        let total = 0;
        for (const x of ins) {
          if (x.shape.some((d, i) => i !== axis && d !== outShape[i])) throw new DeepMakerError(`concatenates tensors whose shapes differ off the concatenation axis (${ins.map((t) => JSON.stringify(t.shape)).join(', ')})`, { where });
          total += x.shape[axis];
        }
        if (total !== outShape[axis]) throw new DeepMakerError(`concatenates ${total} elements on axis ${axisIr} into ${outShape[axis]}`, { where });
        const fmt = outFmt();
        addTensor(fmt);
        ops.push({ kind: 'elementwise', op: 'concat', layer: l.name, irType: l.type, inputs: l.inputs.map(resolve), output: l.name, act: IDENTITY, out: outShape, inShapes: ins.map((t) => t.shape), inFormats: ins.map((t) => t.format), outFormat: fmt, axis });
        break;
      }
      default:
        throw new DeepMakerError(`layer type '${l.type}' has no fixed-point integer model`, { where }, `supported: ${QUANTIZED_LAYER_TYPES}`);
    }
  }
  return { name: ir.name, inputs, tensors, alias, ops, outputs: ir.outputs.map(resolve) };
}

function lowerMac(l: Layer, x: QTensor, outShape: Dims3, isOutput: boolean, lf: LayerFormats, withRules: (f: FixedFormat) => FixedFormat): Omit<QMac, 'inputs' | 'output'> {
  const where = layerWhere(l);
  const wf = withRules(needFormat(l, lf.weights, 'weights'));
  const of = withRules(lf.output);
  const kernel = l.weights.kernel;
  if (!kernel) throw new DeepMakerError('has no kernel weights', { where });
  const cin = x.shape[2];
  const cout = outShape[2];
  let kh = 1;
  let kw = 1;
  let sh = 1;
  let sw = 1;
  let dh = 1;
  let dw = 1;
  let pad: [number, number] = [0, 0];
  let multiplier = 1;
  let conv: 'conv' | 'depthwise' = 'conv';
  if (l.type === 'dense') {
    // Keras Dense on a [.., C] tensor acts on the last axis: a 1x1 convolution.
    if (kernel.shape[0] !== cin || kernel.shape[1] !== cout) throw new DeepMakerError(`kernel shape ${JSON.stringify(kernel.shape)} does not match ${cin} -> ${cout}`, { where });
  } else {
    const k = l.kernel ?? [];
    const s = l.strides ?? [];
    const d = l.dilation ?? [];
    if (l.type === 'conv1d') {
      kw = k[0];
      sw = s[0] ?? 1;
      dw = d[0] ?? 1;
    } else {
      kh = k[0];
      kw = k[1] ?? k[0];
      sh = s[0] ?? 1;
      sw = s[1] ?? s[0] ?? 1;
      dh = d[0] ?? 1;
      dw = d[1] ?? d[0] ?? 1;
    }
    pad = [padBefore(l.padding, x.shape[0], outShape[0], kh, sh, dh), padBefore(l.padding, x.shape[1], outShape[1], kw, sw, dw)];
    if (l.type === 'depthwise_conv2d') {
      conv = 'depthwise';
      multiplier = l.depthMultiplier ?? cout / cin;
      if (cin * multiplier !== cout) throw new DeepMakerError(`depthwise ${cin} channels x ${multiplier} != ${cout}`, { where });
    }
    const expect = conv === 'depthwise' ? kh * kw * cin * multiplier : kh * kw * cin * cout;
    if (kernel.data.length !== expect) throw new DeepMakerError(`kernel has ${kernel.data.length} weights, expected ${expect} for its shape`, { where });
  }
  const fanIn = kh * kw * (conv === 'depthwise' ? 1 : cin);
  if (lf.productFrac === undefined) throw new Error(`no product frac resolved for ${where}`);
  const weights = new Int32Array(kernel.data.length);
  let ternaryScale: Int32Array | undefined;
  let scaleFormat: FixedFormat | undefined;
  if (l.ternary) {
    for (let i = 0; i < weights.length; i++) {
      const t = kernel.data[i];
      if (t !== -1 && t !== 0 && t !== 1) throw new DeepMakerError(`ternary kernel holds ${t} at index ${i} (expected -1, 0 or 1)`, { where });
      weights[i] = t;
    }
    if (l.ternary.scale.length !== cout) throw new DeepMakerError(`ternary scale has ${l.ternary.scale.length} entries for ${cout} output channels`, { where });
    if (!lf.scale) throw new DeepMakerError('ternary layer without a scale format (precision.scale)', { where }, 'the quantization pass (src/qmodel/apply.ts) sets it: rerun the train and convert stages');
    scaleFormat = withRules(lf.scale);
    // α is quantized saturating, whatever the overflow knob (as dm_init does).
    const sat: FixedFormat = { ...scaleFormat, overflow: 'saturate' };
    ternaryScale = Int32Array.from(l.ternary.scale, (v) => quantize(v, sat));
  } else {
    for (let i = 0; i < weights.length; i++) weights[i] = quantize(kernel.data[i], wf);
  }
  // The frac of the value requantized per output: products fw + fx (the C's P_FRAC); ternary: acc·α, P_FRAC + fs.
  const prodFrac = lf.productFrac + (scaleFormat ? fracBits(scaleFormat) : 0);
  const bf = l.weights.bias && l.useBias !== false ? withRules(needFormat(l, lf.biases, 'bias')) : undefined;
  const qbias = bf ? Array.from(l.weights.bias!.data, (b) => quantize(b, bf)) : new Array<number>(cout).fill(0);
  if (qbias.length !== cout) throw new DeepMakerError(`bias has ${qbias.length} entries for ${cout} output channels`, { where });
  // The accumulator width is the C model's (its own, the knob, or auto = exact).
  if (lf.accumulatorBits === undefined) throw new Error(`no accumulator width resolved for ${where}`);
  const accBits = lf.accumulatorBits;
  const aligned = qbias.map((b) => (bf ? alignFrac(b, fracBits(bf), prodFrac, of.rounding) : 0));
  let bias: number[];
  let yBits = accBits;
  if (ternaryScale) {
    bias = aligned;
    const maxS = Math.max(1, ...Array.from(ternaryScale, Math.abs));
    const maxB = Math.max(0, ...aligned.map(Math.abs));
    const bound = 2 ** (accBits - 1) * maxS + maxB;
    yBits = signedBitsFor(-bound, bound);
  } else {
    bias = aligned.map((b) => wrap(b, accBits));
  }
  let act: QAct;
  if (l.activation.kind === 'ternary') {
    if (!ternaryScale) throw new DeepMakerError('a ternary output activation on a layer without ternary weights is not supported', { where }, 'ternarize the weights of this layer too, or use relu');
    const th = l.activation.thresholds;
    if (!th || th.length !== cout) throw new DeepMakerError(`ternary activation needs ${cout} thresholds`, { where });
    act = { relu: false, ternary: th.map((d) => ternaryThresholdInt(d, prodFrac)) };
  } else {
    act = lowerActivation(l, of, isOutput);
  }
  return {
    kind: 'mac', layer: l.name, irType: l.type, act, conv,
    in: x.shape, out: outShape, kernel: [kh, kw], stride: [sh, sw], dilation: [dh, dw], pad, multiplier,
    weights, weightFormat: wf, ternaryScale, scaleFormat, bias, yBits, hasBias: !!bf, inFormat: x.format, accBits, fanIn, prodFrac, outFormat: of,
  };
}

/** A recurrent cell's activation as the C computes it (src/cgen/recurrent.ts, recurrentFixedActivation). */
function lowerCellActivation(l: Layer, a: Activation, out: FixedFormat, which: string): CellActivation {
  switch (a.kind) {
    case 'linear':
    case 'tanh':
    case 'sigmoid':
      return { kind: a.kind };
    case 'relu':
      // The C clamps to max_value (quantized saturating) and applies nothing else of a relu's options.
      return a.maxValue !== undefined ? { kind: 'relu', max: quantizeConstant(a.maxValue, out) } : { kind: 'relu' };
    case 'hard_sigmoid': {
      let divisor: number;
      try {
        divisor = hardSigmoidDivisor(a.alpha);
      } catch (e) {
        throw new DeepMakerError((e as Error).message, { where: layerWhere(l) }, 'use hard_sigmoid with slope 0.2 or 1/6, or sigmoid');
      }
      return { kind: 'hard_sigmoid', divisor };
    }
    default:
      throw new DeepMakerError(`${which} '${a.kind}' has no fixed-point recurrent-cell model`, { where: layerWhere(l) }, 'use tanh, sigmoid, hard_sigmoid, relu (relu6) or linear');
  }
}

function lowerRecurrent(l: Layer, x: QTensor, outShape: Dims3, lf: LayerFormats, withRules: (f: FixedFormat) => FixedFormat): Omit<QRecurrent, 'inputs' | 'output'> {
  const where = layerWhere(l);
  const r = l.recurrent;
  if (!r || !isRecurrent(l)) throw new DeepMakerError('a recurrent layer without its recurrent configuration', { where });
  const u = l.units;
  if (!u) throw new DeepMakerError('a recurrent layer without units', { where });
  if (l.inputShapes[0]?.length !== 2) throw new DeepMakerError(`expects an input [timesteps, features], got ${JSON.stringify(l.inputShapes[0])}`, { where });
  const [timeSteps, features] = l.inputShapes[0];
  if (x.size !== timeSteps * features) throw new DeepMakerError(`reads ${x.size} values, expected ${timeSteps} steps of ${features} features`, { where });
  const gates = gateNames(r.cell);
  const cols = gates.length * u;
  const resetAfter = r.cell === 'gru' && !!r.resetAfter;
  const wf = withRules(needFormat(l, lf.weights, 'weights'));
  const of = withRules(lf.output);
  const kernel = l.weights.kernel, rkernel = l.weights.recurrentKernel;
  if (!kernel || !rkernel) throw new DeepMakerError('has no kernel or recurrent kernel weights', { where });
  if (kernel.data.length !== features * cols) throw new DeepMakerError(`kernel has ${kernel.data.length} weights, expected ${features} x ${cols}`, { where });
  if (rkernel.data.length !== u * cols) throw new DeepMakerError(`recurrent kernel has ${rkernel.data.length} weights, expected ${u} x ${cols}`, { where });
  if (lf.productFrac === undefined || lf.accumulatorBits === undefined) throw new Error(`no product frac or accumulator width resolved for ${where}`);
  const fo = fracBits(of), fx = fracBits(x.format), fw = fracBits(wf);
  const productFrac = lf.productFrac;
  // dm_init: weights quantized with the knobs' overflow (DM_SATURATING), biases quantized then aligned to P.
  const q = (data: Float32Array) => Int32Array.from(data, (v) => quantize(v, wf));
  const nBias = (resetAfter ? 2 : 1) * cols;
  const bf = l.weights.bias && l.useBias !== false ? withRules(needFormat(l, lf.biases, 'bias')) : undefined;
  const bias = recurrentBias(l, bf, nBias, productFrac, of.rounding, where);
  const blendFrac = Math.max(fo, 2 * fo);
  if (l.ternary) return { ...lowerTernaryRecurrent(l, x, outShape, lf, withRules, of, bf, nBias), blendFrac, blendShiftH: blendFrac - fo, blendShiftP: blendFrac - 2 * fo };
  return {
    kind: 'recurrent', layer: l.name, irType: l.type, act: IDENTITY,
    cell: r.cell, gates, timeSteps, features, units: u, in: x.shape, out: outShape,
    returnSequences: r.returnSequences, goBackwards: r.goBackwards, reverseOutput: !!r.reverseOutput, resetAfter,
    activation: lowerCellActivation(l, r.activation, of, 'activation'),
    recurrentActivation: r.cell === 'simple_rnn' ? { kind: 'linear' } : lowerCellActivation(l, r.recurrentActivation, of, 'recurrent_activation'),
    tanhTable: tanhTable(),
    kernel: q(kernel.data), recurrentKernel: q(rkernel.data), weightFormat: wf,
    bias, hasBias: !!bf, ...(bf ? { biasFormat: bf } : {}),
    inFormat: x.format, outFormat: of, accBits: lf.accumulatorBits,
    productFrac, sx: productFrac - fw - fx, sh: productFrac - fw - fo,
    blendFrac, blendShiftH: blendFrac - fo, blendShiftP: blendFrac - 2 * fo,
    fanIn: features + u,
  };
}

/** The ternary (FaCT-LSTM) parts of a recurrent layer's view: codes, scales, thresholds, biases on the scale's frac. */
function lowerTernaryRecurrent(
  l: Layer, x: QTensor, outShape: Dims3, lf: LayerFormats, withRules: (f: FixedFormat) => FixedFormat, of: FixedFormat, bf: FixedFormat | undefined, nBias: number,
): Omit<QRecurrent, 'inputs' | 'output' | 'blendFrac' | 'blendShiftH' | 'blendShiftP'> {
  const where = layerWhere(l);
  const r = l.recurrent!;
  if (r.cell === 'gru') throw new DeepMakerError('ternary recurrent layers are LSTM and SimpleRNN; this GRU is marked ternary', { where }, 'use quantize.mode fixed for GRU layers');
  const t = l.ternary!;
  const u = l.units!;
  const [timeSteps, features] = l.inputShapes[0];
  const gates = gateNames(r.cell);
  const cols = gates.length * u;
  if (!lf.scale) throw new DeepMakerError('ternary layer without a scale format (precision.scale)', { where }, 'the quantization pass (src/qmodel/apply.ts) sets it: rerun the train and convert stages');
  if (!t.recurrentScale || !t.inputThresholds || !t.stateThresholds) throw new DeepMakerError('ternary recurrent layer without its recurrent scale or operand thresholds', { where }, 'rerun the train and convert stages');
  if (t.scale.length !== cols || t.recurrentScale.length !== cols) throw new DeepMakerError(`ternary scales have ${t.scale.length} and ${t.recurrentScale.length} entries for ${cols} gate columns`, { where });
  if (t.inputThresholds.length !== features || t.stateThresholds.length !== u) throw new DeepMakerError(`ternary thresholds: ${t.inputThresholds.length} for ${features} features and ${t.stateThresholds.length} for ${u} units`, { where });
  const codes = (w: Layer['weights']['kernel'], what: string, n: number): Int32Array => {
    if (!w || w.data.length !== n) throw new DeepMakerError(`${what} has ${w?.data.length ?? 0} codes, expected ${n}`, { where });
    return Int32Array.from(w.data, (v, i) => {
      if (v !== -1 && v !== 0 && v !== 1) throw new DeepMakerError(`ternary ${what} holds ${v} at index ${i} (expected -1, 0 or 1)`, { where });
      return v;
    });
  };
  const kernel = codes(l.weights.kernel, 'kernel', features * cols);
  const recurrentKernel = codes(l.weights.recurrentKernel, 'recurrent kernel', u * cols);
  const scaleFormat = withRules(lf.scale);
  // Scales are quantized saturating, whatever the overflow knob (as dm_init does).
  const sat: FixedFormat = { ...scaleFormat, overflow: 'saturate' };
  const kernelScale = Int32Array.from(t.scale, (v) => quantize(v, sat));
  const recurrentScale = Int32Array.from(t.recurrentScale, (v) => quantize(v, sat));
  const fs = fracBits(scaleFormat);
  const bias = recurrentBias(l, bf, nBias, fs, of.rounding, where);
  // The sum is exact in the C's int64 and in the reference's doubles only below 2^53.
  const maxS = Math.max(0, ...Array.from(kernelScale, Math.abs), ...Array.from(recurrentScale, Math.abs));
  const bound = (features + u) * maxS + Math.max(0, ...bias.map(Math.abs));
  if (!(bound < 2 ** 53)) throw new DeepMakerError(`its gate sums reach ${bound.toExponential(2)}, beyond the 2^53 the integer model computes exactly`, { where }, 'use narrower scale or bias formats');
  if (lf.accumulatorBits === undefined) throw new Error(`no accumulator width resolved for ${where}`);
  return {
    kind: 'recurrent', layer: l.name, irType: l.type, act: IDENTITY,
    cell: r.cell, gates, timeSteps, features, units: u, in: x.shape, out: outShape,
    returnSequences: r.returnSequences, goBackwards: r.goBackwards, reverseOutput: !!r.reverseOutput, resetAfter: false,
    activation: lowerCellActivation(l, r.activation, of, 'activation'),
    recurrentActivation: r.cell === 'simple_rnn' ? { kind: 'linear' } : lowerCellActivation(l, r.recurrentActivation, of, 'recurrent_activation'),
    tanhTable: tanhTable(),
    kernel, recurrentKernel, weightFormat: withRules(lf.weights ?? needFormat(l, undefined, 'weights')),
    bias, hasBias: !!bf, ...(bf ? { biasFormat: bf } : {}),
    inFormat: x.format, outFormat: of, accBits: lf.accumulatorBits,
    productFrac: fs, sx: 0, sh: 0,
    fanIn: features + u,
    ternary: {
      kernelScale, recurrentScale, scaleFormat,
      inputThresholds: Array.from(t.inputThresholds, (d) => ternaryThresholdInt(d, fracBits(x.format))),
      stateThresholds: Array.from(t.stateThresholds, (d) => ternaryThresholdInt(d, fracBits(of))),
    },
  };
}

/** MACs of one op (multiply-accumulates of the reference loop nest; ternary add/subs count as MACs; a recurrent layer: steps × gates × units × (features + units)). */
export function opMacs(op: QOp): number {
  if (op.kind === 'recurrent') return op.timeSteps * op.gates.length * op.units * op.fanIn;
  if (op.kind !== 'mac') return 0;
  const [oh, ow, co] = op.out;
  return oh * ow * co * op.fanIn;
}

export function modelMacs(q: QModel): number {
  return q.ops.reduce((s, op) => s + opMacs(op), 0);
}

/** A recurrent layer's nBias biases quantized to bf and aligned to `frac` (zeros without a bias). */
function recurrentBias(l: Layer, bf: FixedFormat | undefined, nBias: number, frac: number, rounding: FixedFormat['rounding'], where: string): number[] {
  if (!bf) return new Array<number>(nBias).fill(0);
  const b = l.weights.bias!.data;
  if (b.length !== nBias) throw new DeepMakerError(`bias has ${b.length} entries, expected ${nBias}`, { where });
  return Array.from(b, (v) => alignFrac(quantize(v, bf), fracBits(bf), frac, rounding));
}
