/**
 * A small fixed-point interpreter of the quantized model (src/qmodel/lower.ts) as the RTL computes it
 * (src/rtl/lower.ts checks it first), written straight from src/numerics/fixed.ts with plain loops in
 * the reference (Keras) order; recurrent layers run the TF.js integer reference of the cells
 * (src/quant/recurrent.ts, bit-exact with the C). It is the oracle of the RTL unit tests; the sim stage compares against
 * the C fixed-point model (src/cgen) instead.
 */
import { fracBits, requantize, requantizeDiv, wrap } from '../numerics/fixed';
import type { QAct, QElementwise, QMac, QModel, QPool } from '../qmodel/lower';
import { runRecurrent } from '../quant/recurrent';

export interface ReferenceResult {
  /** Integer logits of the output tensor. */
  output: Int32Array;
  /** argmax, first index on ties. */
  cls: number;
  /** Every computed tensor by name (traces). */
  tensors: Map<string, Int32Array>;
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

function applyAct(y: number, act: QAct): number {
  let r = y;
  if (act.relu && r < 0) r = 0;
  if (act.max !== undefined && r > act.max) r = act.max;
  return r;
}

export function runReference(q: QModel, input: ArrayLike<number>): ReferenceResult {
  for (const op of q.ops) {
    // Sums are exact in a double up to 2^53; wider accumulators would need BigInt here.
    if (op.kind === 'mac' && (op.accBits > 52 || op.weightFormat.bits + op.inFormat.bits > 52)) throw new Error(`reference: accumulator of ${op.accBits} bits at '${op.layer}' exceeds exact double arithmetic`);
  }
  const tensors = new Map<string, Int32Array>();
  if (input.length !== q.inputs[0].size) throw new Error(`input has ${input.length} elements, the model takes ${q.inputs[0].size}`);
  tensors.set(q.inputs[0].name, Int32Array.from(input));
  const get = (n: string) => {
    const t = tensors.get(q.alias.get(n) ?? n);
    if (!t) throw new Error(`reference: tensor '${n}' not computed`);
    return t;
  };
  for (const op of q.ops) {
    const x = op.inputs.map(get);
    let y: Int32Array;
    if (op.kind === 'mac') y = runMac(op, x[0]);
    else if (op.kind === 'pool') y = runPool(op, x[0]);
    else if (op.kind === 'recurrent') y = runRecurrent(op, x[0], 1);
    else y = runElementwise(op, x);
    tensors.set(op.output, y);
  }
  const output = get(q.outputs[0]);
  return { output, cls: argmax(output), tensors };
}

function runMac(op: QMac, x: Int32Array): Int32Array {
  const [ih, iw, cin] = op.in;
  const [oh, ow, cout] = op.out;
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.stride;
  const [pt, pl] = op.pad;
  const y = new Int32Array(oh * ow * cout);
  const m = op.multiplier;
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let co = 0; co < cout; co++) {
        let acc = 0;
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const iy = oy * sh - pt + ky;
            const ix = ox * sw - pl + kx;
            if (iy < 0 || iy >= ih || ix < 0 || ix >= iw) continue;
            if (op.conv === 'depthwise') {
              const c = Math.floor(co / m);
              const w = op.weights[((ky * kw + kx) * cin + c) * m + (co % m)];
              acc = wrap(acc + w * x[(iy * iw + ix) * cin + c], op.accBits);
            } else {
              for (let ci = 0; ci < cin; ci++) {
                const w = op.weights[((ky * kw + kx) * cin + ci) * cout + co];
                acc = wrap(acc + w * x[(iy * iw + ix) * cin + ci], op.accBits);
              }
            }
          }
        let v: number;
        if (op.ternaryScale) v = acc * op.ternaryScale[co] + op.bias[co]; // exact (C: int64)
        else v = wrap(acc + op.bias[co], op.accBits);
        const th = op.act.ternary;
        y[(oy * ow + ox) * cout + co] = th ? (v >= th[co] ? 1 : v <= -th[co] ? -1 : 0) : applyAct(requantize(v, op.prodFrac, op.outFormat), op.act);
      }
  return y;
}

function runPool(op: QPool, x: Int32Array): Int32Array {
  const [ih, iw, c] = op.in;
  const [oh, ow] = op.out;
  const [kh, kw] = op.window;
  const [sh, sw] = op.stride;
  const [pt, pl] = op.pad;
  const fx = fracBits(op.inFormat);
  const y = new Int32Array(oh * ow * c);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let ch = 0; ch < c; ch++) {
        let best = -Infinity;
        let sum = 0;
        let n = 0;
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const iy = oy * sh - pt + ky;
            const ix = ox * sw - pl + kx;
            if (iy < 0 || iy >= ih || ix < 0 || ix >= iw) continue;
            const v = x[(iy * iw + ix) * c + ch];
            if (v > best) best = v;
            sum += v;
            n++;
          }
        let r: number;
        if (op.op === 'max') r = requantize(best, fx, op.outFormat);
        else r = requantizeDiv(sum, fx, n, op.outFormat);
        y[(oy * ow + ox) * c + ch] = applyAct(r, op.act);
      }
  return y;
}

function runElementwise(op: QElementwise, xs: Int32Array[]): Int32Array {
  const [oh, ow, oc] = op.out;
  const y = new Int32Array(oh * ow * oc);
  const fo = op.outFormat;
  if (op.op === 'map') {
    const f = fracBits(op.inFormats[0]);
    for (let i = 0; i < y.length; i++) y[i] = applyAct(requantize(xs[0][i], f, fo), op.act);
  } else if (op.op === 'add') {
    const F = Math.max(...op.inFormats.map(fracBits));
    for (let i = 0; i < y.length; i++) {
      let s = 0;
      for (let k = 0; k < xs.length; k++) s += xs[k][i] * 2 ** (F - fracBits(op.inFormats[k]));
      y[i] = applyAct(requantize(s, F, fo), op.act);
    }
  } else if (op.op === 'concat') {
    for (let p = 0; p < oh * ow; p++) {
      let off = 0;
      for (let k = 0; k < xs.length; k++) {
        const ck = op.inShapes[k][2];
        const f = fracBits(op.inFormats[k]);
        for (let c = 0; c < ck; c++) y[p * oc + off + c] = applyAct(requantize(xs[k][p * ck + c], f, fo), op.act);
        off += ck;
      }
    }
  } else {
    const [ih, iw] = op.inShapes[0];
    const [pt, pl] = op.pad!;
    const f = fracBits(op.inFormats[0]);
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let c = 0; c < oc; c++) {
          const iy = oy - pt;
          const ix = ox - pl;
          const v = iy >= 0 && iy < ih && ix >= 0 && ix < iw ? xs[0][(iy * iw + ix) * oc + c] : 0;
          y[(oy * ow + ox) * oc + c] = applyAct(requantize(v, f, fo), op.act);
        }
  }
  return y;
}
