/**
 * The quantized reference network: an integer forward pass in TensorFlow.js that is bit-exact with
 * the generated fixed-point C (src/cgen), ternary layers included. It outputs the same stored
 * integers as the C's dm_output_raw, not just the same classes.
 *
 * Its integers and formats (quantized weights, aligned biases, ternary scales and thresholds, pads,
 * accumulator widths, every tensor's format) come from the quantized-model view, src/qmodel/lower.ts,
 * the one the RTL also reads; this module only computes with them, op by op:
 *  - input: quantize(x, input format), saturating (the C's dm_quantize);
 *  - dense / conv / depthwise: the exact integer sum Σ w_q·x_q is computed by TensorFlow.js
 *    convolutions / matrix products in float32, which are exact as long as every partial sum is an
 *    integer below 2^24 in magnitude. When fanIn · max|w_q| · max|x_q| could exceed that, inputs
 *    and weights are split into base-2^k digits small enough, convolved digit by digit, and the
 *    digit sums combined in float64 (exact below 2^53). The sum (plus the aligned bias) then wraps
 *    to the accumulator width and is requantized once; ternary layers scale the wrapped sum by α_q
 *    and add the bias after it (src/qmodel/apply.ts documents their arithmetic);
 *  - activations, pooling, padding, add, concatenate: fixed.ts's requantize / requantizeDiv /
 *    activationTable, in float64 JavaScript, elementwise;
 *  - recurrent layers (LSTM, GRU, SimpleRNN), Average and Multiply: recurrent.ts (the gate sums as
 *    exact TF.js matrix products, the cells with the C's integer arithmetic and activation tables).
 * Float32 TF.js convolutions on integer operands below 2^24 are exact whatever the summation order
 * or backend (wasm, cpu), because every intermediate sum is an exactly representable integer.
 */
import * as tf from '@tensorflow/tfjs';
import type { NumberKnobs } from '../qmodel/precision';
import { lowerModel, type QAct, type QElementwise, type QMac, type QModel, type QPool } from '../qmodel/lower';
import type { ModelIR } from '../ir/types';
import { activationTable, fracBits, quantize, requantize, requantizeDiv, wrap, type FixedFormat } from '../numerics/fixed';
import { DeepMakerError } from '../util/errors';
import { exactLinear } from './exact-linear';
import { runMerge, runRecurrent } from './recurrent';

export interface QuantizedOutputs {
  /** The stored integers of the model outputs, [count · outputSize] (the C's dm_output_raw). */
  raw: Int32Array;
  /** Fractional bits of each output (dequantize: raw · 2^-frac). */
  fracs: number[];
  /** The format of each output. */
  formats: FixedFormat[];
  /** Values of each output per sample (they are concatenated in the model's output order). */
  sizes: number[];
  outputSize: number;
}

/** A layer's values for a batch: stored integers, [batch · size]. */
type Values = Int32Array;

/** The C's fixedActivation on z (already in the output format `out`). */
function activate(act: QAct, z: number, out: FixedFormat): number {
  const a = act.function;
  let y = z;
  if (a) {
    const x = z * 2 ** -fracBits(out);
    switch (a.kind) {
      case 'thresholded_relu':
        return x > (a.theta ?? 1) ? z : 0;
      case 'leaky_relu':
        y = z < 0 ? quantize((a.alpha ?? 0.3) * z * 2 ** -fracBits(out), out) : z;
        break;
      case 'elu':
        y = z > 0 ? z : quantize(activationTable('elu', x, a.alpha ?? 1), out);
        break;
      case 'sigmoid':
      case 'tanh':
        return quantize(activationTable(a.kind, x), out);
      case 'hard_sigmoid':
        return quantize(activationTable('hard_sigmoid', x, a.alpha ?? 0.2), out);
      default:
        throw new Error(`activation ${a.kind} has no fixed-point reference`);
    }
  } else if (act.relu) {
    y = z > 0 ? z : 0;
  }
  return act.max !== undefined ? Math.min(y, act.max) : y;
}

/** Finishes a MAC op's float64 integer sums (without bias) into stored outputs. */
function finishMac(op: QMac, sums: Float64Array): Values {
  const out = new Int32Array(sums.length);
  const channels = op.out[2];
  const th = op.act.ternary;
  for (let i = 0; i < sums.length; i++) {
    const c = i % channels;
    if (op.ternaryScale) {
      const y = wrap(sums[i], op.accBits) * op.ternaryScale[c] + op.bias[c];
      out[i] = th ? (y >= th[c] ? 1 : y <= -th[c] ? -1 : 0) : activate(op.act, requantize(y, op.prodFrac, op.outFormat), op.outFormat);
    } else {
      // The view's bias is already wrapped to the accumulator: wrap(Σ + wrap(b)) = wrap(Σ + b).
      const acc = wrap(sums[i] + op.bias[c], op.accBits);
      out[i] = activate(op.act, requantize(acc, op.prodFrac, op.outFormat), op.outFormat);
    }
  }
  return out;
}

function checkExactRange(op: QMac): void {
  const growth = Math.ceil(Math.log2(Math.max(2, op.fanIn)));
  const accBits = Math.min(op.accBits, op.weightFormat.bits + op.inFormat.bits + growth);
  const scaleBits = op.scaleFormat?.bits ?? 0;
  if (accBits + scaleBits > 52 || op.accBits > 53) {
    throw new DeepMakerError(
      `layer '${op.layer}': its sums need ${Math.max(accBits + scaleBits, op.accBits)} bits, more than the reference computes exactly (52)`,
      { where: op.layer },
      'use narrower fixed-point formats (or a fixed accumulator width of at most 52 bits)',
    );
  }
}

function runMac(op: QMac, x: Values, batch: number): Values {
  checkExactRange(op);
  const [h, w, cin] = op.in;
  const cout = op.out[2];
  const [kh, kw] = op.kernel;
  let sums: Float64Array;
  if (op.irType === 'dense') {
    // Dense acts on the last axis: one matrix product over every position of every sample.
    sums = exactLinear((a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), x, [batch * h * w, cin], op.weights, [cin, cout], op.fanIn);
  } else if (op.conv === 'depthwise') {
    const pad = explicitPads(op);
    sums = exactLinear((a, b) => tf.depthwiseConv2d(tf.pad(a as tf.Tensor4D, pad) as tf.Tensor4D, b as tf.Tensor4D, op.stride, 'valid', 'NHWC', op.dilation), x, [batch, h, w, cin], op.weights, [kh, kw, cin, op.multiplier], op.fanIn);
  } else {
    // conv2d, and conv1d as a convolution over [1, W] (the same flat kernel, [1][kw][cin][cout]).
    const pad = explicitPads(op);
    sums = exactLinear((a, b) => tf.conv2d(tf.pad(a as tf.Tensor4D, pad) as tf.Tensor4D, b as tf.Tensor4D, op.stride, 'valid', 'NHWC', op.dilation), x, [batch, h, w, cin], op.weights, [kh, kw, cin, cout], op.fanIn);
  }
  return finishMac(op, sums);
}

/** Zero padding that reproduces the C's windows (the view's pads before, then whatever the output size needs after). */
function explicitPads(op: QMac): [number, number][] {
  const [h, w] = op.in;
  const [oh, ow] = op.out;
  const [kh, kw] = op.kernel, [sh, sw] = op.stride, [dh, dw] = op.dilation, [pt, pl] = op.pad;
  const pb = Math.max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - h - pt), pr = Math.max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - w - pl);
  return [[0, 0], [pt, pb], [pl, pr], [0, 0]];
}

/** Pooling, global pooling included (its window is the whole input); the C applies no activation here. */
function runPool(op: QPool, x: Values, batch: number): Values {
  const isMax = op.op === 'max';
  const [h, w, c] = op.in;
  const [oh, ow] = op.out;
  const [ph, pw] = op.window;
  const [sh, sw] = op.stride;
  const [pt, pl] = op.pad;
  const inFrac = fracBits(op.inFormat);
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
          out[o++] = isMax ? requantize(best, inFrac, op.outFormat) : requantizeDiv(total, inFrac, count, op.outFormat);
        }
      }
    }
  }
  return out;
}

function runZeroPad(op: QElementwise, x: Values, batch: number): Values {
  const [h, w, c] = op.inShapes[0];
  const [oh, ow] = op.out;
  const [top, left] = op.pad!;
  const inFrac = fracBits(op.inFormats[0]);
  const out = new Int32Array(batch * oh * ow * c);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const iy = oy - top, ix = ox - left;
        const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
        for (let ch = 0; ch < c; ch++) out[o++] = inside ? requantize(x[((b * h + iy) * w + ix) * c + ch], inFrac, op.outFormat) : 0;
      }
    }
  }
  return out;
}

function runAdd(op: QElementwise, xs: Values[], batch: number): Values {
  const inFracs = op.inFormats.map(fracBits);
  const fmax = Math.max(...inFracs);
  const n = batch * op.out[0] * op.out[1] * op.out[2];
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let total = 0;
    xs.forEach((x, k) => (total += x[i] * 2 ** (fmax - inFracs[k])));
    out[i] = activate(op.act, requantize(total, fmax, op.outFormat), op.outFormat);
  }
  return out;
}

function runConcat(op: QElementwise, xs: Values[], batch: number): Values {
  const y = op.out;
  const axis = op.axis ?? 2;
  const product = (d: number[]) => d.reduce((a, b) => a * b, 1);
  const outer = product(y.slice(0, axis));
  const inner = product(y.slice(axis + 1));
  const total = y[axis] * inner;
  const per = product(y);
  const out = new Int32Array(batch * per);
  for (let b = 0; b < batch; b++) {
    let offset = 0;
    op.inShapes.forEach((s, i) => {
      const part = s[axis] * inner;
      const inPer = product(s);
      const inFrac = fracBits(op.inFormats[i]);
      for (let o = 0; o < outer; o++) for (let j = 0; j < part; j++) out[b * per + o * total + offset + j] = requantize(xs[i][b * inPer + o * part + j], inFrac, op.outFormat);
      offset += part;
    });
  }
  return out;
}

function runMap(op: QElementwise, x: Values): Values {
  const inFrac = fracBits(op.inFormats[0]);
  return Int32Array.from(x, (v) => activate(op.act, requantize(v, inFrac, op.outFormat), op.outFormat));
}

/**
 * Runs the IR in fixed point on `count` samples of `x` (inputs concatenated per sample, float32, as
 * the C harness reads them) and returns the stored integers of the outputs.
 */
export function runQuantizedReference(model: ModelIR, knobs: NumberKnobs, x: Float32Array, count: number, opts: { batch?: number } = {}): QuantizedOutputs {
  return runQuantizedModel(lowerModel(model, knobs), x, count, opts);
}

/** The same on a model already lowered (src/qmodel/lower.ts). */
export function runQuantizedModel(q: QModel, x: Float32Array, count: number, opts: { batch?: number } = {}): QuantizedOutputs {
  for (const op of q.ops) {
    if (op.act.function?.kind === 'softmax') throw new DeepMakerError('softmax inside the network is not supported by the quantized reference', { where: `layer '${op.layer}' (${op.irType})` }, 'a softmax is computed only on a model output (where the outputs are its logits)');
  }
  const outputs = q.outputs.map((n) => q.tensors.get(n)!);
  const outputSize = outputs.reduce((a, t) => a + t.size, 0);
  const inputSize = q.inputs.reduce((a, t) => a + t.size, 0);
  const raw = new Int32Array(count * outputSize);
  const batchSize = Math.max(1, opts.batch ?? 256);
  for (let start = 0; start < count; start += batchSize) {
    const batch = Math.min(batchSize, count - start);
    const values = new Map<string, Values>();
    let inputOffset = 0;
    for (const t of q.inputs) {
      const v = new Int32Array(batch * t.size);
      for (let b = 0; b < batch; b++) for (let i = 0; i < t.size; i++) v[b * t.size + i] = quantize(x[(start + b) * inputSize + inputOffset + i], t.format);
      inputOffset += t.size;
      values.set(t.name, v);
    }
    for (const op of q.ops) {
      const ins = op.inputs.map((n) => values.get(n)!);
      let v: Values;
      if (op.kind === 'mac') v = runMac(op, ins[0], batch);
      else if (op.kind === 'recurrent') v = runRecurrent(op, ins[0], batch);
      else if (op.kind === 'pool') v = runPool(op, ins[0], batch);
      else if (op.op === 'average' || op.op === 'multiply') v = runMerge(op, ins);
      else if (op.op === 'pad') v = runZeroPad(op, ins[0], batch);
      else if (op.op === 'add') v = runAdd(op, ins, batch);
      else if (op.op === 'concat') v = runConcat(op, ins, batch);
      else v = runMap(op, ins[0]);
      values.set(op.output, v);
    }
    let off = 0;
    outputs.forEach((t) => {
      const v = values.get(t.name)!;
      for (let b = 0; b < batch; b++) raw.set(v.subarray(b * t.size, (b + 1) * t.size), (start + b) * outputSize + off);
      off += t.size;
    });
  }
  return { raw, fracs: outputs.map((t) => fracBits(t.format)), formats: outputs.map((t) => t.format), sizes: outputs.map((t) => t.size), outputSize };
}
