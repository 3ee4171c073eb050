/**
 * The quantized reference network: an integer forward pass in TensorFlow.js that is bit-exact with
 * the generated fixed-point C (src/cgen), ternary layers included. It outputs the same stored
 * integers as the C's dm_output_raw, not just the same classes.
 *
 * It follows src/numerics/fixed.ts and the formats the C resolves (src/qmodel/precision.ts
 * resolveFormats, the same function model.h's macros mirror), layer by layer:
 *  - input: quantize(x, output format), saturating (the C's dm_quantize);
 *  - dense / conv / depthwise: the exact integer sum Σ w_q·x_q is computed by TensorFlow.js
 *    convolutions / matrix products in float32, which are exact as long as every partial sum is an
 *    integer below 2^24 in magnitude. When fanIn · max|w_q| · max|x_q| could exceed that, inputs
 *    and weights are split into base-2^k digits small enough, convolved digit by digit, and the
 *    digit sums combined in float64 (exact below 2^53). The sum (plus the aligned bias) then wraps
 *    to the accumulator width and is requantized once; ternary layers scale the wrapped sum by α_q
 *    and add the bias after it (src/qmodel/apply.ts documents their arithmetic);
 *  - activations, pooling, padding, add, concatenate: fixed.ts's requantize / requantizeDiv /
 *    activationTable, in float64 JavaScript, elementwise.
 * Float32 TF.js convolutions on integer operands below 2^24 are exact whatever the summation order
 * or backend (wasm, cpu), because every intermediate sum is an exactly representable integer.
 */
import * as tf from '@tensorflow/tfjs';
import { resolveFormats, type LayerFormats, type NumberKnobs } from '../qmodel/precision';
import { concatAxis, padBefore, sizeOf } from '../ir/shapes';
import type { Layer, ModelIR } from '../ir/types';
import { activationTable, alignFrac, fracBits, quantize, quantizeConstant, requantize, requantizeDiv, wrap, type FixedFormat } from '../numerics/fixed';
import { DeepMakerError } from '../util/errors';
import { ternaryThresholdInt } from '../qmodel/apply';

export interface QuantizedOutputs {
  /** The stored integers of the model outputs, [count · outputSize] (the C's dm_output_raw). */
  raw: Int32Array;
  /** Fractional bits of each output (dequantize: raw · 2^-frac). */
  fracs: number[];
  outputSize: number;
}

/** A layer's values for a batch: stored integers, [batch · size]. */
type Values = Int32Array;

const MAX_EXACT = 2 ** 24;

function bitsOfMagnitude(maxAbs: number): number {
  return maxAbs <= 1 ? 0 : Math.ceil(Math.log2(maxAbs));
}

/** Base-2^k digits of integers: lower digits in [0, 2^k), the top one signed. */
function digits(v: ArrayLike<number>, k: number, count: number): Float32Array[] {
  if (count === 1) return [Float32Array.from(v)];
  const out = Array.from({ length: count }, () => new Float32Array(v.length));
  const base = 2 ** k;
  for (let i = 0; i < v.length; i++) {
    let r = v[i];
    for (let d = 0; d < count - 1; d++) {
      const q = Math.floor(r / base);
      out[d][i] = r - q * base;
      r = q;
    }
    out[count - 1][i] = r;
  }
  return out;
}

/**
 * Σ over a linear operator `op` (convolution, matmul) of integer x and w, exactly: digit-split so that
 * every float32 partial sum stays below 2^24. Returns float64 integers.
 */
function exactLinear(op: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor, x: ArrayLike<number>, xShape: number[], w: ArrayLike<number>, wShape: number[], fanIn: number): Float64Array {
  let mx = 0, mw = 0;
  for (let i = 0; i < x.length; i++) mx = Math.max(mx, Math.abs(x[i]));
  for (let i = 0; i < w.length; i++) mw = Math.max(mw, Math.abs(w[i]));
  const budget = Math.floor(Math.log2(MAX_EXACT / Math.max(1, fanIn)));
  const bx = bitsOfMagnitude(mx), bw = bitsOfMagnitude(mw);
  let kx = bx, kw = bw;
  if (bx + bw > budget) {
    if (budget < 2) throw new Error(`fan-in ${fanIn} is too large for an exact float32 reference`);
    if (bw <= budget / 2) kx = budget - bw;
    else if (bx <= budget / 2) kw = budget - bx;
    else {
      kx = Math.floor(budget / 2);
      kw = budget - kx;
    }
  }
  // The top digit of D = ceil(b / k) digits is at most 2^(b - k(D-1)) <= 2^k in magnitude, like the others.
  const nx = bx <= kx ? 1 : Math.ceil(bx / kx);
  const nw = bw <= kw ? 1 : Math.ceil(bw / kw);
  const xd = digits(x, kx, nx), wd = digits(w, kw, nw);
  let acc: Float64Array | undefined;
  for (let i = 0; i < nx; i++) {
    for (let j = 0; j < nw; j++) {
      const part = tf.tidy(() => op(tf.tensor(xd[i], xShape), tf.tensor(wd[j], wShape)).dataSync() as Float32Array);
      const scale = 2 ** (kx * i + kw * j);
      if (!acc) acc = new Float64Array(part.length);
      for (let e = 0; e < part.length; e++) acc[e] += part[e] * scale;
    }
  }
  return acc!;
}

/** What a layer needs from the C's resolution plus its quantized parameters. */
interface Prepared {
  layer: Layer;
  f: LayerFormats;
  wq?: Float32Array;
  /** Biases aligned to the accumulator frac (fixed layers) or to F (ternary layers). */
  bq?: Float64Array;
  /** Ternary: α_q per filter, θ per channel (ternary outputs). */
  scaleQ?: Float64Array;
  scaleFrac?: number;
  thresholds?: number[];
  maxQ?: number;
}

function prepare(layer: Layer, f: LayerFormats): Prepared {
  const p: Prepared = { layer, f };
  if (!f.weights) return p;
  const k = layer.weights.kernel!;
  if (layer.ternary) {
    p.wq = Float32Array.from(k.data, (v) => quantize(v, f.weights!));
    const sf = layer.precision?.scale;
    if (!sf) throw new Error(`ternary layer '${layer.name}' has no scale format (src/qmodel/apply.ts applyQuantization sets it)`);
    p.scaleFrac = fracBits(sf);
    // The scale is quantized saturating whatever the knobs say (src/cgen/ternary.ts: a scale never wraps).
    p.scaleQ = Float64Array.from(layer.ternary.scale, (v) => quantize(v, { ...sf, rounding: f.output.rounding, overflow: 'saturate' }));
  } else {
    p.wq = Float32Array.from(k.data, (v) => quantize(v, f.weights!));
  }
  const target = f.productFrac! + (p.scaleFrac ?? 0);
  if (layer.weights.bias && layer.useBias !== false) {
    const bf = f.biases!;
    p.bq = Float64Array.from(layer.weights.bias.data, (v) => alignFrac(quantize(v, bf), fracBits(bf), target, bf.rounding));
  }
  if (layer.activation.kind === 'ternary') p.thresholds = layer.activation.thresholds!.map((d) => ternaryThresholdInt(d, target));
  if (layer.activation.maxValue !== undefined) p.maxQ = quantizeConstant(layer.activation.maxValue, f.output);
  return p;
}

/** The C's fixedActivation on z (already in the output format). */
function activate(p: Prepared, z: number, isOutput: boolean): number {
  const a = p.layer.activation;
  const out = p.f.output;
  switch (a.kind) {
    case 'linear':
      return z;
    case 'softmax':
      if (isOutput) return z;
      throw new Error('softmax inside the network is not supported by the quantized reference');
    case 'relu': {
      const y = z > 0 ? z : 0;
      return p.maxQ !== undefined ? Math.min(y, p.maxQ) : y;
    }
    case 'thresholded_relu':
      return z * 2 ** -fracBits(out) > (a.theta ?? 1) ? z : 0;
    case 'leaky_relu': {
      const y = z < 0 ? quantize((a.alpha ?? 0.3) * z * 2 ** -fracBits(out), out) : z;
      return p.maxQ !== undefined ? Math.min(y, p.maxQ) : y;
    }
    case 'elu':
      return z > 0 ? z : quantize(activationTable('elu', z * 2 ** -fracBits(out), a.alpha ?? 1), out);
    case 'sigmoid':
    case 'tanh':
      return quantize(activationTable(a.kind, z * 2 ** -fracBits(out)), out);
    case 'hard_sigmoid':
      return quantize(activationTable('hard_sigmoid', z * 2 ** -fracBits(out), a.alpha ?? 0.2), out);
  }
  throw new Error(`activation ${a.kind} has no fixed-point reference`);
}

/** Finishes a MAC layer's float64 integer sums (without bias) into stored outputs. */
function finishMac(p: Prepared, sums: Float64Array, channels: number, isOutput: boolean): Values {
  const f = p.f;
  const out = new Int32Array(sums.length);
  const accBits = f.accumulatorBits!;
  for (let i = 0; i < sums.length; i++) {
    const c = i % channels;
    if (p.scaleQ) {
      const acc = wrap(sums[i], accBits);
      const y = acc * p.scaleQ[c] + (p.bq ? p.bq[c] : 0);
      if (p.thresholds) {
        const th = p.thresholds[c];
        out[i] = y >= th ? 1 : y <= -th ? -1 : 0;
      } else {
        out[i] = activate(p, requantize(y, f.productFrac! + p.scaleFrac!, f.output), isOutput);
      }
    } else {
      const acc = wrap(sums[i] + (p.bq ? p.bq[c] : 0), accBits);
      out[i] = activate(p, requantize(acc, f.productFrac!, f.output), isOutput);
    }
  }
  return out;
}

function checkExactRange(p: Prepared, inputBits: number): void {
  const f = p.f;
  const growth = Math.ceil(Math.log2(Math.max(2, f.fanIn!)));
  const accBits = Math.min(f.accumulatorBits!, f.weights!.bits + inputBits + growth);
  const scaleBits = p.layer.precision?.scale?.bits ?? 0;
  if (accBits + scaleBits > 52 || f.accumulatorBits! > 53) {
    throw new DeepMakerError(
      `layer '${p.layer.name}': its sums need ${Math.max(accBits + scaleBits, f.accumulatorBits!)} bits, more than the reference computes exactly (52)`,
      { where: p.layer.name },
      'use narrower fixed-point formats (or a fixed accumulator width of at most 52 bits)',
    );
  }
}

function runMac(p: Prepared, x: Values, batch: number, inputBits: number, isOutput: boolean): Values {
  const l = p.layer;
  checkExactRange(p, inputBits);
  const xs = l.inputShapes[0];
  const k = l.weights.kernel!;
  let sums: Float64Array;
  let channels: number;
  switch (l.type) {
    case 'dense': {
      const cin = xs[xs.length - 1];
      const rows = batch * (sizeOf(xs) / cin);
      channels = l.units!;
      sums = exactLinear((a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), x, [rows, cin], p.wq!, k.shape, cin);
      break;
    }
    case 'conv2d': {
      channels = l.filters!;
      const pad = explicitPads(l);
      sums = exactLinear((a, b) => tf.conv2d(tf.pad(a as tf.Tensor4D, pad) as tf.Tensor4D, b as tf.Tensor4D, l.strides as [number, number], 'valid', 'NHWC', l.dilation as [number, number]), x, [batch, ...xs], p.wq!, k.shape, p.f.fanIn!);
      break;
    }
    case 'depthwise_conv2d': {
      channels = xs[2] * (l.depthMultiplier ?? 1);
      const pad = explicitPads(l);
      sums = exactLinear((a, b) => tf.depthwiseConv2d(tf.pad(a as tf.Tensor4D, pad) as tf.Tensor4D, b as tf.Tensor4D, l.strides as [number, number], 'valid', 'NHWC', l.dilation as [number, number]), x, [batch, ...xs], p.wq!, k.shape, p.f.fanIn!);
      break;
    }
    case 'conv1d': {
      channels = l.filters!;
      const [len] = xs;
      const before = padBefore(len, l.kernel![0], l.strides![0], l.dilation![0], l.padding!);
      const span = (l.kernel![0] - 1) * l.dilation![0] + 1;
      const outLen = l.outputShape[0];
      const after = Math.max(0, (outLen - 1) * l.strides![0] + span - len - before);
      sums = exactLinear((a, b) => tf.conv1d(tf.pad(a as tf.Tensor3D, [[0, 0], [before, after], [0, 0]]) as tf.Tensor3D, b as tf.Tensor3D, l.strides![0], 'valid', 'NWC', l.dilation![0]), x, [batch, ...xs], p.wq!, k.shape, p.f.fanIn!);
      break;
    }
    default:
      throw new Error(`not a MAC layer: ${l.type}`);
  }
  return finishMac(p, sums, channels, isOutput);
}

/** Zero padding that reproduces the C's windows (padBefore, then whatever the output size needs after). */
function explicitPads(l: Layer): [number, number][] {
  const [h, w] = l.inputShapes[0];
  const [oh, ow] = l.outputShape;
  const [kh, kw] = l.kernel!, [sh, sw] = l.strides!, [dh, dw] = l.dilation ?? [1, 1];
  const pt = padBefore(h, kh, sh, dh, l.padding!), pl = padBefore(w, kw, sw, dw, l.padding!);
  const pb = Math.max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - h - pt), pr = Math.max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - w - pl);
  return [[0, 0], [pt, pb], [pl, pr], [0, 0]];
}

function runPool(p: Prepared, x: Values, batch: number, inFrac: number): Values {
  const l = p.layer;
  const isMax = l.type.startsWith('max');
  const two = l.type.endsWith('2d');
  const xs = l.inputShapes[0], ys = l.outputShape;
  const c = xs[xs.length - 1];
  const [h, w] = two ? [xs[0], xs[1]] : [1, xs[0]];
  const [oh, ow] = two ? [ys[0], ys[1]] : [1, ys[0]];
  const [ph, pw] = two ? l.pool! : [1, l.pool![0]];
  const [sh, sw] = two ? l.strides! : [1, l.strides![0]];
  const pt = two ? padBefore(h, ph, sh, 1, l.padding!) : 0;
  const pl = padBefore(w, pw, sw, 1, l.padding!);
  const out = new Int32Array(batch * oh * ow * c);
  const inSize = h * w * c;
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity, total = 0, count = 0;
          for (let ky = 0; ky < ph; ky++) {
            const iy = oy * sh + ky - pt;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < pw; kx++) {
              const ix = ox * sw + kx - pl;
              if (ix < 0 || ix >= w) continue;
              const v = x[b * inSize + (iy * w + ix) * c + ch];
              if (v > best) best = v;
              total += v;
              count++;
            }
          }
          out[o++] = isMax ? requantize(best, inFrac, p.f.output) : requantizeDiv(total, inFrac, count, p.f.output);
        }
      }
    }
  }
  return out;
}

function runGlobalPool(p: Prepared, x: Values, batch: number, inFrac: number): Values {
  const l = p.layer;
  const isMax = l.type.startsWith('global_max');
  const xs = l.inputShapes[0];
  const c = xs[xs.length - 1];
  const positions = sizeOf(xs) / c;
  const out = new Int32Array(batch * c);
  for (let b = 0; b < batch; b++) {
    for (let ch = 0; ch < c; ch++) {
      let best = -Infinity, total = 0;
      for (let q = 0; q < positions; q++) {
        const v = x[(b * positions + q) * c + ch];
        if (v > best) best = v;
        total += v;
      }
      out[b * c + ch] = isMax ? requantize(best, inFrac, p.f.output) : requantizeDiv(total, inFrac, positions, p.f.output);
    }
  }
  return out;
}

function runZeroPad(p: Prepared, x: Values, batch: number, inFrac: number): Values {
  const l = p.layer;
  const two = l.type === 'zeropad2d';
  const xs = l.inputShapes[0], ys = l.outputShape;
  const c = xs[xs.length - 1];
  const [h, w] = two ? [xs[0], xs[1]] : [1, xs[0]];
  const [oh, ow] = two ? [ys[0], ys[1]] : [1, ys[0]];
  const top = two ? l.pads![0][0] : 0, left = two ? l.pads![1][0] : l.pads![0][0];
  const out = new Int32Array(batch * oh * ow * c);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const iy = oy - top, ix = ox - left;
        const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
        for (let ch = 0; ch < c; ch++) out[o++] = inside ? requantize(x[((b * h + iy) * w + ix) * c + ch], inFrac, p.f.output) : 0;
      }
    }
  }
  return out;
}

function runAdd(p: Prepared, xs: Values[], batch: number, inFracs: number[], isOutput: boolean): Values {
  const fmax = Math.max(...inFracs);
  const n = batch * sizeOf(p.layer.outputShape);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let total = 0;
    xs.forEach((x, k) => (total += x[i] * 2 ** (fmax - inFracs[k])));
    out[i] = activate(p, requantize(total, fmax, p.f.output), isOutput);
  }
  return out;
}

function runConcat(p: Prepared, xs: Values[], batch: number, inFracs: number[]): Values {
  const l = p.layer;
  const y = l.outputShape;
  const axis = concatAxis(l.axis ?? -1, y.length);
  const outer = sizeOf(y.slice(0, axis));
  const inner = sizeOf(y.slice(axis + 1));
  const total = y[axis] * inner;
  const per = sizeOf(y);
  const out = new Int32Array(batch * per);
  for (let b = 0; b < batch; b++) {
    let offset = 0;
    l.inputShapes.forEach((s, i) => {
      const part = s[axis] * inner;
      const inPer = sizeOf(s);
      for (let o = 0; o < outer; o++) for (let j = 0; j < part; j++) out[b * per + o * total + offset + j] = requantize(xs[i][b * inPer + o * part + j], inFracs[i], p.f.output);
      offset += part;
    });
  }
  return out;
}

function runActivation(p: Prepared, x: Values, inFrac: number, isOutput: boolean): Values {
  return Int32Array.from(x, (v) => activate(p, requantize(v, inFrac, p.f.output), isOutput));
}

function withKnobNumerics(formats: Map<string, LayerFormats>, knobs: NumberKnobs): Map<string, LayerFormats> {
  const fix = (f: FixedFormat | undefined) => (f ? { ...f, rounding: knobs.rounding, overflow: knobs.overflow } : undefined);
  return new Map([...formats].map(([name, f]) => [name, { ...f, output: fix(f.output)!, weights: fix(f.weights), biases: fix(f.biases) }]));
}

/**
 * Runs the IR in fixed point on `count` samples of `x` (inputs concatenated per sample, float32, as
 * the C harness reads them) and returns the stored integers of the outputs.
 */
export function runQuantizedReference(model: ModelIR, knobs: NumberKnobs, x: Float32Array, count: number, opts: { batch?: number } = {}): QuantizedOutputs {
  if (knobs.mode !== 'fixed') throw new Error('the quantized reference runs fixed-point knobs only');
  // The C applies the knobs' rounding and overflow everywhere (DM_ROUNDING, DM_OVERFLOW), whatever a layer's own format says.
  const formats = withKnobNumerics(resolveFormats(model, knobs), knobs);
  const prepared = new Map(model.layers.map((l) => [l.name, prepare(l, formats.get(l.name)!)]));
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const source = (name: string): Layer => {
    let l = byName.get(name)!;
    while (l.type === 'flatten' || l.type === 'reshape') l = byName.get(l.inputs[0])!;
    return l;
  };
  const outputLayers = model.outputs.map(source);
  const outputSize = outputLayers.reduce((a, l) => a + sizeOf(l.outputShape), 0);
  const inputSize = model.inputs.reduce((a, n) => a + sizeOf(byName.get(n)!.outputShape), 0);
  const raw = new Int32Array(count * outputSize);
  const batchSize = Math.max(1, opts.batch ?? 256);
  for (let start = 0; start < count; start += batchSize) {
    const batch = Math.min(batchSize, count - start);
    const values = new Map<string, Values>();
    let inputOffset = 0;
    for (const l of model.layers) {
      const p = prepared.get(l.name)!;
      const isOutput = outputLayers.includes(l);
      if (l.type === 'input') {
        const n = sizeOf(l.outputShape);
        const v = new Int32Array(batch * n);
        for (let b = 0; b < batch; b++) for (let i = 0; i < n; i++) v[b * n + i] = quantize(x[(start + b) * inputSize + inputOffset + i], p.f.output);
        inputOffset += n;
        values.set(l.name, v);
        continue;
      }
      const ins = l.inputs.map((i) => values.get(i)!);
      const inFracs = l.inputs.map((i) => fracBits(formats.get(i)!.output));
      const inBits = l.inputs.map((i) => formats.get(i)!.output.bits);
      let v: Values;
      switch (l.type) {
        case 'flatten':
        case 'reshape':
          v = ins[0];
          break;
        case 'dense':
        case 'conv1d':
        case 'conv2d':
        case 'depthwise_conv2d':
          v = runMac(p, ins[0], batch, inBits[0], isOutput);
          break;
        case 'maxpool1d':
        case 'maxpool2d':
        case 'avgpool1d':
        case 'avgpool2d':
          v = runPool(p, ins[0], batch, inFracs[0]);
          break;
        case 'global_avgpool1d':
        case 'global_avgpool2d':
        case 'global_maxpool1d':
        case 'global_maxpool2d':
          v = runGlobalPool(p, ins[0], batch, inFracs[0]);
          break;
        case 'zeropad1d':
        case 'zeropad2d':
          v = runZeroPad(p, ins[0], batch, inFracs[0]);
          break;
        case 'add':
          v = runAdd(p, ins, batch, inFracs, isOutput);
          break;
        case 'concatenate':
          v = runConcat(p, ins, batch, inFracs);
          break;
        case 'activation':
          v = runActivation(p, ins[0], inFracs[0], isOutput);
          break;
        default:
          throw new Error(`no quantized reference for layer type ${l.type}`);
      }
      values.set(l.name, v);
    }
    let off = 0;
    for (const o of outputLayers) {
      const n = sizeOf(o.outputShape);
      const v = values.get(o.name)!;
      for (let b = 0; b < batch; b++) raw.set(v.subarray(b * n, (b + 1) * n), (start + b) * outputSize + off);
      off += n;
    }
  }
  return { raw, fracs: outputLayers.map((l) => fracBits(formats.get(l.name)!.output)), outputSize };
}
