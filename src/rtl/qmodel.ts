/**
 * Lowering: ModelIR (float weights + per-tensor fixed-point formats) -> QModel, the integer model the
 * hardware computes. It is a pass over the IR, shared by the RTL emitter, the cycle model and the
 * TypeScript reference interpreter (src/sim/reference.ts), so all three see the same integers.
 *
 * Formats come from src/qmodel/precision.ts `resolveFormats` (a layer's own precision, else the class
 * knobs; auto accumulator widths), with the knobs' one rounding and overflow rule, exactly as the
 * generated C model resolves its macros: the hardware widths are the C model's.
 *
 * Arithmetic (src/numerics/fixed.ts is the contract, src/cgen the C that implements it):
 *  - Tensors are 3-D [H, W, C], channels_last (1-D inputs are [1, 1, C], 2-D [1, W, C]).
 *  - Dense / Conv / DepthwiseConv: integer weights qw = quantize(w, weights), the input x in its
 *    producer's format; the product has frac fw + fx and is exact; the sum is wrapped modulo
 *    2^accBits (the C model's accumulator width: its own, the knob, or auto = never wraps);
 *    the bias qb = quantize(b, biases) is aligned to frac fw + fx with `alignFrac` (the knobs'
 *    rounding) and added modulo 2^accBits; then ONE `requantize` to the output format, then the
 *    activation on the output integer: relu = max(0, y); ReLU(max_value) also min(y, quantizeConstant(max_value)).
 *  - Ternary layers (Layer.ternary; src/qmodel/apply.ts defines them, the C follows): kernel codes
 *    t ∈ {-1, 0, 1}, a per-output-channel scale α_q = quantize(α, precision.scale), saturating.
 *    acc = wrap(Σ t·x, accBits) (add/subtract lanes, frac fx); y = acc·α_q + align(b_q -> F), exact,
 *    F = fx + fs; then requantize(y, F, output) and the activation, or the ternary output activation:
 *    1 if y ≥ θ_c, -1 if y ≤ -θ_c, else 0, with θ_c = max(1, ceil(Δ_c·2^F)) (Δ_c as float32, as in C).
 *  - Max pool: the maximum of the (valid) window integers, requantized from the input format.
 *  - Average pool: the exact quotient sum/n of the window's n valid elements (Keras excludes padding),
 *    rounded to the output frac with the output rounding, then the output overflow rule:
 *    y = overflow(roundDiv(sum · 2^max(0, fo−fx), n · 2^max(0, fx−fo))). For n a power of two this is
 *    requantize(sum, fx + log2 n, out).
 *  - Add: inputs aligned (exactly, left shifts) to the largest frac among them, summed, requantized.
 *  - Concatenate (last axis), ZeroPadding, standalone Activation, Flatten/Reshape with a format change:
 *    each element requantized from its input format to the output format (then the activation).
 *  - Flatten / Reshape without a format change are free: the flat data is already in that order.
 *  - A softmax on an output layer is dropped (it does not change the argmax); the core outputs the
 *    integer logits before it.
 */
import { resolveFormats, type LayerFormats, type NumberKnobs } from '../qmodel/precision';
import type { Activation, Layer, ModelIR } from '../ir/types';
import { alignFrac, FixedFormat, fracBits, maxInt, quantize, quantizeConstant, wrap } from '../numerics/fixed';
import { DeepMakerError } from '../util/errors';

export type Dims3 = [number, number, number];

export interface QTensor {
  /** The IR layer that produces it (or the input layer). */
  name: string;
  shape: Dims3;
  size: number;
  format: FixedFormat;
}

/** What the writer does after requantizing: relu and an optional clamp (ReLU max_value), as output integers. */
export interface QAct {
  relu: boolean;
  /** Upper clamp as an output-format integer (ReLU max_value), applied after relu. */
  max?: number;
  /** Ternary output (ternary layers only): per-channel thresholds θ_c on y (frac F); replaces requantize. */
  ternary?: number[];
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
  /** Zero padding before the first row and column (the rest is implied by the output size). */
  pad: [number, number];
  /** Depthwise channel multiplier (1 for conv). */
  multiplier: number;
  /**
   * Integer weights. conv: [kh][kw][cin][cout] flat (Keras order); depthwise: [kh][kw][c][m].
   * Ternary layers: the codes t ∈ {-1,0,1} (the scale is separate).
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
  /** frac of the products and of the accumulator: fw + fx. */
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
  op: 'map' | 'add' | 'concat' | 'pad';
  out: Dims3;
  inShapes: Dims3[];
  inFormats: FixedFormat[];
  outFormat: FixedFormat;
  /** pad: zeros before the first row / column. */
  pad?: [number, number];
}

export type QOp = QMac | QPool | QElementwise;

export interface QModel {
  name: string;
  input: QTensor;
  /** Every tensor by name (aliases included: a Flatten output names the same data as its input). */
  tensors: Map<string, QTensor>;
  /** Alias -> the tensor that holds the data. */
  alias: Map<string, string>;
  ops: QOp[];
  /** The output tensor (the core's logits). */
  output: string;
}

const SUPPORTED = 'dense, conv1d, conv2d, depthwise_conv2d, max/avg pool 1d/2d, global avg/max pool, flatten, reshape, zero padding, add, concatenate, activation (relu/linear)';

export function dims3(shape: number[], where: string): Dims3 {
  if (shape.length === 1) return [1, 1, shape[0]];
  if (shape.length === 2) return [1, shape[0], shape[1]];
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  throw new DeepMakerError(`tensor of rank ${shape.length} (${JSON.stringify(shape)}) is not supported by the RTL back end`, { where }, 'use tensors of rank 1 to 3 (channels_last)');
}

function layerWhere(l: Layer): string {
  return `layer '${l.name}' (${l.type})`;
}

function needFormat(l: Layer, f: FixedFormat | undefined, what: string): FixedFormat {
  if (!f) throw new DeepMakerError(`has no fixed-point ${what} format`, { where: layerWhere(l) });
  return f;
}

function lowerActivation(l: Layer, out: FixedFormat, isOutput: boolean): QAct {
  const a: Activation = l.activation ?? { kind: 'linear' };
  switch (a.kind) {
    case 'linear':
      return { relu: false };
    case 'relu':
      if (a.alpha) throw new DeepMakerError(`relu with negative slope ${a.alpha} is not supported in RTL`, { where: layerWhere(l) }, 'use relu or linear');
      if (a.theta) throw new DeepMakerError(`relu with threshold ${a.theta} is not supported in RTL`, { where: layerWhere(l) }, 'use relu or linear');
      return a.maxValue !== undefined ? { relu: true, max: quantizeConstant(a.maxValue, out) } : { relu: true };
    case 'softmax':
      if (isOutput) return { relu: false };
      throw new DeepMakerError('softmax inside the network is not supported in RTL', { where: layerWhere(l) }, 'softmax is only allowed on the output layer (the core outputs logits and their argmax)');
    default:
      throw new DeepMakerError(`activation '${a.kind}' is not supported in RTL`, { where: layerWhere(l) }, 'the RTL back end supports relu, relu with max_value (relu6), linear, and softmax on the output layer');
  }
}

/** Keras 'same' padding: the pad before (the odd extra one goes after). */
function samePadBefore(inSize: number, outSize: number, k: number, s: number): number {
  const total = Math.max((outSize - 1) * s + k - inSize, 0);
  return Math.floor(total / 2);
}

/** Bits of a two's-complement integer able to hold every value in [lo, hi]. */
export function signedBitsFor(lo: number, hi: number): number {
  let b = 1;
  while (-(2 ** (b - 1)) > lo || 2 ** (b - 1) - 1 < hi) b++;
  return b;
}

export function lowerModel(ir: ModelIR, knobs: NumberKnobs): QModel {
  if (knobs.mode !== 'fixed') {
    throw new DeepMakerError('the model is in floating point', { where: ir.name }, 'the RTL needs a fixed-point model: set convert.format: fixed');
  }
  // One rounding and one overflow rule for every format, as model.h's DM_ROUNDING / DM_OVERFLOW.
  const withRules = (f: FixedFormat): FixedFormat => ({ bits: f.bits, integer: f.integer, rounding: knobs.rounding, overflow: knobs.overflow });
  const resolved = resolveFormats(ir, knobs);
  const formatsOf = (l: Layer): LayerFormats => resolved.get(l.name)!;
  if (ir.inputs.length !== 1) throw new DeepMakerError(`the RTL core takes one input tensor, the model has ${ir.inputs.length}`, { where: ir.name });
  if (ir.outputs.length !== 1) throw new DeepMakerError(`the RTL core has one output tensor, the model has ${ir.outputs.length}`, { where: ir.name });
  const tensors = new Map<string, QTensor>();
  const alias = new Map<string, string>();
  const ops: QOp[] = [];
  const byName = new Map(ir.layers.map((l) => [l.name, l]));
  const inputLayer = byName.get(ir.inputs[0]);
  if (!inputLayer) throw new DeepMakerError(`input layer '${ir.inputs[0]}' is not in the layer list`, { where: ir.name });
  const inFmt = withRules(formatsOf(inputLayer).output);
  const input: QTensor = { name: inputLayer.name, shape: dims3(inputLayer.outputShape, layerWhere(inputLayer)), size: 0, format: inFmt };
  input.size = input.shape[0] * input.shape[1] * input.shape[2];
  tensors.set(input.name, input);
  const resolve = (n: string) => alias.get(n) ?? n;
  const tensorOf = (n: string, l: Layer) => {
    const t = tensors.get(n);
    if (!t) throw new DeepMakerError(`reads '${n}', which is not produced before it`, { where: layerWhere(l) });
    return t;
  };

  for (const l of ir.layers) {
    if (l.type === 'input') {
      if (l.name !== input.name) throw new DeepMakerError('a second input layer', { where: layerWhere(l) });
      continue;
    }
    const where = layerWhere(l);
    const isOutput = ir.outputs.includes(l.name);
    const ins = l.inputs.map((n) => tensorOf(n, l));
    const outShape = dims3(l.outputShape, where);
    const size = outShape[0] * outShape[1] * outShape[2];
    const lf = formatsOf(l);
    const outFmt = (): FixedFormat => withRules(lf.output);
    const addTensor = (format: FixedFormat) => tensors.set(l.name, { name: l.name, shape: outShape, size, format });
    if ((l.dilation ?? []).some((d) => d !== 1)) throw new DeepMakerError(`dilation ${JSON.stringify(l.dilation)} is not supported in RTL`, { where }, 'use dilation 1');

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
          if (l.padding === 'same') pad = [samePadBefore(x.shape[0], outShape[0], window[0], stride[0]), samePadBefore(x.shape[1], outShape[1], window[1], stride[1])];
        }
        const fmt = outFmt();
        const act = lowerActivation(l, fmt, isOutput);
        addTensor(fmt);
        ops.push({
          kind: 'pool', layer: l.name, irType: l.type, inputs: [resolve(x.name)], output: l.name, act,
          op: l.type.includes('max') ? 'max' : 'avg', in: x.shape, out: outShape, window, stride, pad, inFormat: x.format, outFormat: fmt,
        });
        break;
      }
      case 'flatten':
      case 'reshape': {
        const x = ins[0];
        const fmt = x.format; // the C model moves no data here: same integers, same format
        const act = lowerActivation(l, fmt, isOutput);
        if (size !== x.size) throw new DeepMakerError(`reshapes ${x.size} elements into ${size}`, { where });
        if (sameFormat(fmt, x.format) && !act.relu) {
          alias.set(l.name, resolve(x.name));
          tensors.set(l.name, { name: l.name, shape: outShape, size, format: fmt });
        } else {
          addTensor(fmt);
          ops.push({ kind: 'elementwise', op: 'map', layer: l.name, irType: l.type, inputs: [resolve(x.name)], output: l.name, act, out: outShape, inShapes: [x.shape], inFormats: [x.format], outFormat: fmt });
        }
        break;
      }
      case 'activation': {
        const x = ins[0];
        const fmt = outFmt();
        const act = lowerActivation(l, fmt, isOutput);
        if (!act.relu && sameFormat(fmt, x.format)) {
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
        ops.push({ kind: 'elementwise', op: 'pad', layer: l.name, irType: l.type, inputs: [resolve(x.name)], output: l.name, act: lowerActivation(l, fmt, isOutput), out: outShape, inShapes: [x.shape], inFormats: [x.format], outFormat: fmt, pad });
        break;
      }
      case 'add': {
        if (ins.length < 2) throw new DeepMakerError('add with fewer than two inputs', { where });
        for (const x of ins) if (x.size !== size) throw new DeepMakerError(`adds tensors of different sizes (${ins.map((t) => JSON.stringify(t.shape)).join(' + ')})`, { where }, 'broadcasting adds are not supported in RTL');
        const fmt = outFmt();
        addTensor(fmt);
        ops.push({ kind: 'elementwise', op: 'add', layer: l.name, irType: l.type, inputs: l.inputs.map(resolve), output: l.name, act: lowerActivation(l, fmt, isOutput), out: outShape, inShapes: ins.map((t) => t.shape), inFormats: ins.map((t) => t.format), outFormat: fmt });
        break;
      }
      case 'concatenate': {
        const rank = l.outputShape.length;
        const axis = l.axis === undefined ? -1 : l.axis < 0 ? rank + l.axis : l.axis;
        if (axis !== rank - 1) throw new DeepMakerError(`concatenation on axis ${l.axis} is not supported in RTL`, { where }, 'concatenate on the channel (last) axis');
        for (const x of ins) if (x.shape[0] !== outShape[0] || x.shape[1] !== outShape[1]) throw new DeepMakerError('concatenates tensors of different spatial sizes', { where });
        const fmt = outFmt();
        addTensor(fmt);
        ops.push({ kind: 'elementwise', op: 'concat', layer: l.name, irType: l.type, inputs: l.inputs.map(resolve), output: l.name, act: lowerActivation(l, fmt, isOutput), out: outShape, inShapes: ins.map((t) => t.shape), inFormats: ins.map((t) => t.format), outFormat: fmt });
        break;
      }
      default:
        throw new DeepMakerError(`layer type '${l.type}' is not supported by the RTL back end`, { where }, `supported: ${SUPPORTED}`);
    }
  }
  const output = resolve(ir.outputs[0]);
  if (output === input.name) throw new DeepMakerError('the model computes nothing (its output is its input)', { where: ir.name });
  return { name: ir.name, input, tensors, alias, ops, output };
}

export function sameFormat(a: FixedFormat, b: FixedFormat): boolean {
  return a.bits === b.bits && a.integer === b.integer;
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
  let pad: [number, number] = [0, 0];
  let multiplier = 1;
  let conv: 'conv' | 'depthwise' = 'conv';
  if (l.type === 'dense') {
    // Keras Dense on a [.., C] tensor acts on the last axis: a 1x1 convolution.
    if (kernel.shape[0] !== cin || kernel.shape[1] !== cout) throw new DeepMakerError(`kernel shape ${JSON.stringify(kernel.shape)} does not match ${cin} -> ${cout}`, { where });
  } else {
    const k = l.kernel ?? [];
    const s = l.strides ?? [];
    if (l.type === 'conv1d') {
      kw = k[0];
      sw = s[0] ?? 1;
    } else {
      kh = k[0];
      kw = k[1] ?? k[0];
      sh = s[0] ?? 1;
      sw = s[1] ?? s[0] ?? 1;
    }
    if (l.padding === 'same') pad = [samePadBefore(x.shape[0], outShape[0], kh, sh), samePadBefore(x.shape[1], outShape[1], kw, sw)];
    else if (l.padding === 'causal') pad = [0, kw - 1];
    if (l.type === 'depthwise_conv2d') {
      conv = 'depthwise';
      multiplier = l.depthMultiplier ?? cout / cin;
      if (cin * multiplier !== cout) throw new DeepMakerError(`depthwise ${cin} channels x ${multiplier} != ${cout}`, { where });
    }
    const expect = conv === 'depthwise' ? kh * kw * cin * multiplier : kh * kw * cin * cout;
    if (kernel.data.length !== expect) throw new DeepMakerError(`kernel has ${kernel.data.length} weights, expected ${expect} for its shape`, { where });
  }
  const fx = fracBits(x.format);
  const fw = fracBits(wf);
  const weights = new Int32Array(kernel.data.length);
  let ternaryScale: Int32Array | undefined;
  let scaleFormat: FixedFormat | undefined;
  let fs = fw;
  if (l.ternary) {
    for (let i = 0; i < weights.length; i++) {
      const t = kernel.data[i];
      if (t !== -1 && t !== 0 && t !== 1) throw new DeepMakerError(`ternary kernel holds ${t} at index ${i} (expected -1, 0 or 1)`, { where });
      weights[i] = t;
    }
    if (l.ternary.scale.length !== cout) throw new DeepMakerError(`ternary scale has ${l.ternary.scale.length} entries for ${cout} output channels`, { where });
    if (!l.precision?.scale) throw new DeepMakerError('ternary layer without a scale format (precision.scale)', { where }, 'the quantization pass (src/qmodel/apply.ts) sets it: rerun the train and convert stages');
    scaleFormat = withRules(l.precision.scale);
    // α is quantized saturating, whatever the overflow knob (as dm_init does).
    const sat: FixedFormat = { ...scaleFormat, overflow: 'saturate' };
    ternaryScale = Int32Array.from(l.ternary.scale, (v) => quantize(v, sat));
    fs = fracBits(scaleFormat);
  } else {
    for (let i = 0; i < weights.length; i++) weights[i] = quantize(kernel.data[i], wf);
  }
  // The frac of the value requantized per output: products fw + fx; ternary: acc (fx) × α (fs).
  const prodFrac = l.ternary ? fx + fs : fw + fx;
  const bf = l.weights.bias && l.useBias !== false ? withRules(needFormat(l, lf.biases, 'bias')) : undefined;
  const qbias = bf ? Array.from(l.weights.bias!.data, (b) => quantize(b, bf)) : new Array<number>(cout).fill(0);
  if (qbias.length !== cout) throw new DeepMakerError(`bias has ${qbias.length} entries for ${cout} output channels`, { where });
  if (!l.ternary && lf.productFrac !== undefined && lf.productFrac !== prodFrac) throw new Error(`product frac ${prodFrac} != C model's ${lf.productFrac} at ${where}`);
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
    act = { relu: false, ternary: th.map((d) => Math.max(1, Math.ceil(Math.fround(d) * 2 ** prodFrac))) };
    if (of.bits !== 2 || of.integer !== 2) throw new DeepMakerError(`a ternary output must be in fixed<2,2>, not fixed<${of.bits},${of.integer}>`, { where });
  } else {
    act = lowerActivation(l, of, isOutput);
  }
  return {
    kind: 'mac', layer: l.name, irType: l.type, act, conv,
    in: x.shape, out: outShape, kernel: [kh, kw], stride: [sh, sw], pad, multiplier,
    weights, weightFormat: wf, ternaryScale, scaleFormat, bias, yBits, hasBias: !!bf, inFormat: x.format, accBits, prodFrac, outFormat: of,
  };
}

/** MACs of one op (multiply-accumulates of the reference loop nest; ternary add/subs count as MACs). */
export function opMacs(op: QOp): number {
  if (op.kind !== 'mac') return 0;
  const [oh, ow, co] = op.out;
  const k = op.kernel[0] * op.kernel[1] * (op.conv === 'depthwise' ? 1 : op.in[2]);
  return oh * ow * co * k;
}

export function modelMacs(q: QModel): number {
  return q.ops.reduce((s, op) => s + opMacs(op), 0);
}

/** Largest magnitude a format can hold, for width checks. */
export function formatMax(f: FixedFormat): number {
  return maxInt(f.bits);
}
