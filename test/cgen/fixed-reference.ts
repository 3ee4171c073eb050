/**
 * Test oracle: the IR computed in fixed point with the functions of src/numerics/fixed.ts, one
 * operation at a time, exactly as fixed.ts documents them. The generated C must give the same
 * stored integers (compared with the harness's -r output).
 */
import { resolveFormats, type NumberKnobs } from '../../src/qmodel/precision';
import { concatAxis, padBefore, sizeOf } from '../../src/ir/shapes';
import type { Activation, Layer, ModelIR } from '../../src/ir/types';
import { activationTable, alignFrac, dequantize, FixedFormat, fracBits, quantize, quantizeConstant, requantize, requantizeDiv, wrap } from '../../src/numerics/fixed';

function act(a: Activation, z: number, out: FixedFormat, isOutput: boolean): number {
  const deq = dequantize(z, out);
  switch (a.kind) {
    case 'linear':
    case 'softmax':
      return z;
    case 'relu': {
      let y = Math.max(z, 0);
      if (a.maxValue !== undefined) y = Math.min(y, quantizeConstant(a.maxValue, out));
      return y;
    }
    case 'leaky_relu':
      return z < 0 ? quantize(activationTable('leaky_relu', deq, a.alpha), out) : z;
    case 'elu':
      return z > 0 ? z : quantize(activationTable('elu', deq, a.alpha), out);
    case 'thresholded_relu':
      return deq > (a.theta ?? 1) ? z : 0;
    case 'sigmoid':
    case 'tanh':
    case 'hard_sigmoid':
      return quantize(activationTable(a.kind, deq, a.alpha), out);
  }
  void isOutput;
  throw new Error(`oracle: activation ${a.kind}`);
}

/** The stored integers of the outputs (harness -r). */
export function fixedInference(model: ModelIR, knobs: NumberKnobs, x: Float32Array): number[] {
  const values = fixedLayerValues(model, knobs, x);
  return model.outputs.flatMap((o) => values.get(o)!);
}

/** Every layer's stored integers, by layer name (what the harness's -x trace dequantizes). */
export function fixedLayerValues(model: ModelIR, knobs: NumberKnobs, x: Float32Array): Map<string, number[]> {
  const formats = resolveFormats(model, knobs);
  const values = new Map<string, number[]>();
  let inOff = 0;
  for (const l of model.layers) {
    const f = formats.get(l.name)!;
    const out = f.output;
    const ins = l.inputs.map((i) => values.get(i)!);
    const isOutput = model.outputs.includes(l.name);
    const n = sizeOf(l.outputShape);
    const y: number[] = new Array(n).fill(0);
    const finish = (acc: number, idx: number) => {
      const z = requantize(wrap(acc, f.accumulatorBits!), f.productFrac!, out);
      y[idx] = act(l.activation, z, out, isOutput);
    };
    const qw = l.weights.kernel ? Array.from(l.weights.kernel.data, (v) => quantize(v, f.weights!)) : [];
    const qb = l.weights.bias && l.useBias !== false ? Array.from(l.weights.bias.data, (v) => alignFrac(quantize(v, f.biases!), fracBits(f.biases!), f.productFrac!, knobs.rounding)) : undefined;
    switch (l.type) {
      case 'input':
        for (let i = 0; i < n; i++) y[i] = quantize(Math.fround(x[inOff + i]), out);
        inOff += n;
        break;
      case 'dense': {
        const xs = l.inputShapes[0];
        const cin = xs[xs.length - 1], u = l.units!;
        for (let p = 0; p < sizeOf(xs) / cin; p++)
          for (let o = 0; o < u; o++) {
            let acc = qb ? qb[o] : 0;
            for (let i = 0; i < cin; i++) acc += qw[i * u + o] * ins[0][p * cin + i];
            finish(acc, p * u + o);
          }
        break;
      }
      case 'conv2d':
      case 'depthwise_conv2d': {
        const [h, w, c] = l.inputShapes[0];
        const [oh, ow, oc] = l.outputShape;
        const [kh, kw] = l.kernel!, [sh, sw] = l.strides!, [dh, dw] = l.dilation!;
        const pt = padBefore(h, kh, sh, dh, l.padding!), pl = padBefore(w, kw, sw, dw, l.padding!);
        const dwise = l.type === 'depthwise_conv2d';
        const mult = l.depthMultiplier ?? 1;
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let co = 0; co < oc; co++) {
              let acc = qb ? qb[co] : 0;
              for (let ky = 0; ky < kh; ky++)
                for (let kx = 0; kx < kw; kx++) {
                  const iy = oy * sh + ky * dh - pt, ix = ox * sw + kx * dw - pl;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  if (dwise) {
                    const ci = Math.floor(co / mult), m = co % mult;
                    acc += qw[((ky * kw + kx) * c + ci) * mult + m] * ins[0][(iy * w + ix) * c + ci];
                  } else for (let ci = 0; ci < c; ci++) acc += qw[((ky * kw + kx) * c + ci) * oc + co] * ins[0][(iy * w + ix) * c + ci];
                }
              finish(acc, (oy * ow + ox) * oc + co);
            }
        break;
      }
      case 'conv1d': {
        const [len, c] = l.inputShapes[0];
        const [olen, oc] = l.outputShape;
        const [k] = l.kernel!, [s] = l.strides!, [d] = l.dilation!;
        const pad = padBefore(len, k, s, d, l.padding!);
        for (let ox = 0; ox < olen; ox++)
          for (let co = 0; co < oc; co++) {
            let acc = qb ? qb[co] : 0;
            for (let kx = 0; kx < k; kx++) {
              const ix = ox * s + kx * d - pad;
              if (ix < 0 || ix >= len) continue;
              for (let ci = 0; ci < c; ci++) acc += qw[(kx * c + ci) * oc + co] * ins[0][ix * c + ci];
            }
            finish(acc, ox * oc + co);
          }
        break;
      }
      case 'maxpool1d':
      case 'avgpool1d':
      case 'maxpool2d':
      case 'avgpool2d': {
        const two = l.type.endsWith('2d');
        const [h, w, c] = two ? l.inputShapes[0] : [1, ...l.inputShapes[0]];
        const [oh, ow] = two ? l.outputShape : [1, l.outputShape[0]];
        const [ph, pw] = two ? l.pool! : [1, l.pool![0]], [sh, sw] = two ? l.strides! : [1, l.strides![0]];
        const pt = padBefore(h, ph, sh, 1, l.padding!), pl = padBefore(w, pw, sw, 1, l.padding!);
        const fin = f.inputFracs[0];
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let ch = 0; ch < c; ch++) {
              let best = -Infinity, total = 0, count = 0;
              for (let ky = 0; ky < ph; ky++)
                for (let kx = 0; kx < pw; kx++) {
                  const iy = oy * sh + ky - pt, ix = ox * sw + kx - pl;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  const v = ins[0][(iy * w + ix) * c + ch];
                  best = Math.max(best, v);
                  total += v;
                  count++;
                }
              y[(oy * ow + ox) * c + ch] = l.type.startsWith('max') ? requantize(best, fin, out) : requantizeDiv(total, fin, count, out);
            }
        break;
      }
      case 'global_avgpool1d':
      case 'global_maxpool1d':
      case 'global_avgpool2d':
      case 'global_maxpool2d': {
        const xs = l.inputShapes[0];
        const c = xs[xs.length - 1];
        const positions = sizeOf(l.inputShapes[0]) / c;
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity, total = 0;
          for (let p = 0; p < positions; p++) {
            best = Math.max(best, ins[0][p * c + ch]);
            total += ins[0][p * c + ch];
          }
          y[ch] = l.type.includes('max') ? requantize(best, f.inputFracs[0], out) : requantizeDiv(total, f.inputFracs[0], positions, out);
        }
        break;
      }
      case 'add': {
        const fmax = Math.max(...f.inputFracs);
        for (let i = 0; i < n; i++) {
          const total = ins.reduce((a, v, k) => a + alignFrac(v[i], f.inputFracs[k], fmax, knobs.rounding), 0);
          y[i] = act(l.activation, requantize(total, fmax, out), out, isOutput);
        }
        break;
      }
      case 'concatenate': {
        const axis = concatAxis(l.axis ?? -1, l.outputShape.length);
        const outer = sizeOf(l.outputShape.slice(0, axis)), inner = sizeOf(l.outputShape.slice(axis + 1));
        const total = l.outputShape[axis] * inner;
        let off = 0;
        l.inputShapes.forEach((s, k) => {
          const part = s[axis] * inner;
          for (let o = 0; o < outer; o++) for (let j = 0; j < part; j++) y[o * total + off + j] = requantize(ins[k][o * part + j], f.inputFracs[k], out);
          off += part;
        });
        break;
      }
      case 'zeropad2d': {
        const [h, w, c] = l.inputShapes[0];
        const [oh, ow] = l.outputShape;
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let ch = 0; ch < c; ch++) {
              const iy = oy - l.pads![0][0], ix = ox - l.pads![1][0];
              y[(oy * ow + ox) * c + ch] = iy >= 0 && iy < h && ix >= 0 && ix < w ? requantize(ins[0][(iy * w + ix) * c + ch], f.inputFracs[0], out) : 0;
            }
        break;
      }
      case 'flatten':
      case 'reshape':
        values.set(l.name, ins[0]);
        continue;
      case 'activation':
        for (let i = 0; i < n; i++) y[i] = act(l.activation, requantize(ins[0][i], f.inputFracs[0], out), out, isOutput);
        break;
      default:
        throw new Error(`oracle: layer type ${(l as Layer).type}`);
    }
    values.set(l.name, y);
  }
  return values;
}
