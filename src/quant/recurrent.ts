/**
 * The TF.js integer reference of the recurrent layers (LSTM, GRU with reset_after true and false,
 * SimpleRNN) and of Average and Multiply: the stored integers the fixed-point C computes
 * (src/cgen/recurrent.ts, src/cgen/layers.ts), from the quantized-model view (src/qmodel/lower.ts,
 * QRecurrent and the elementwise `average` / `multiply` ops), bit for bit.
 *
 * How it stays exact:
 *  - the gate sums Σ kernel·x (all time steps at once) and Σ recurrentKernel·h (per step, over the
 *    batch) are TensorFlow.js matrix products on integers (exact-linear.ts: float32 partial sums below
 *    2^24, digit-split when wider, combined in float64);
 *  - when a layer's largest possible gate sum (its integer weights and biases, the widest input and
 *    state values) and its cell products stay below 2^53, the rest is float64 arithmetic on exact
 *    integers (fixed.ts's requantize); otherwise the layer is computed in BigInt with the C's int64
 *    semantics (sums and products modulo 2^64, then the accumulator width), slower but exact for
 *    every format the C accepts;
 *  - the cell activations are src/numerics/recurrent.ts's exact functions of the stored integer,
 *    memoized per layer (a stored integer has one image);
 *  - ternary layers (FaCT-LSTM): x and h are ternarized against their integer thresholds, the gate
 *    sums are TF.js matrix products of codes (|sum| ≤ features + units, exact), each times its
 *    column's scale integer plus the bias, exact in float64 (the view bounds it below 2^53).
 */
import * as tf from '@tensorflow/tfjs';
import { fracBits, requantize, requantizeDiv, type FixedFormat } from '../numerics/fixed';
import { cellActivation, requantizeBig, requantizeDivBig, type CellActivation } from '../numerics/recurrent';
import type { QElementwise, QRecurrent } from '../qmodel/lower';
import { exactLinear } from './exact-linear';

type Values = Int32Array;

const EXACT = 2 ** 53;

/** The largest magnitude of a stored integer of a format. */
const maxStored = (f: FixedFormat) => 2 ** (f.bits - 1);

/** A cell activation on stored integers, memoized (the BigInt evaluation runs once per distinct integer). */
function memoized(a: CellActivation, out: FixedFormat, table: Int32Array): (z: number) => number {
  if (a.kind === 'linear') return (z) => z;
  if (a.kind === 'relu') return (z) => cellActivation(a, z, out, table);
  if (out.bits <= 16) {
    const lo = -maxStored(out);
    const values = new Int32Array(2 ** out.bits);
    const known = new Uint8Array(2 ** out.bits);
    return (z) => {
      const i = z - lo;
      if (!known[i]) {
        values[i] = cellActivation(a, z, out, table);
        known[i] = 1;
      }
      return values[i];
    };
  }
  const cache = new Map<number, number>();
  return (z) => {
    let y = cache.get(z);
    if (y === undefined) {
      y = cellActivation(a, z, out, table);
      cache.set(z, y);
    }
    return y;
  };
}

/** Columns [from, to) of a row-major [rows][cols] integer matrix. */
function columns(m: Int32Array, rows: number, cols: number, from: number, to: number): Int32Array {
  const out = new Int32Array(rows * (to - from));
  for (let r = 0; r < rows; r++) out.set(m.subarray(r * cols + from, r * cols + to), r * (to - from));
  return out;
}

/**
 * Whether float64 arithmetic on the layer's integers is exact: every gate sum (bias terms and both
 * reductions at the gate's frac, with the widest input and state values) and every sum of products
 * of stored values below 2^53.
 */
export function recurrentFitsDoubles(op: QRecurrent): boolean {
  const { units: u, features: F } = op;
  const m = maxStored(op.outFormat);
  // Ternary gate sums: code sums times scales, bounded below 2^53 by the view (src/qmodel/lower.ts).
  if (op.ternary) return 2 * m * m < EXACT;
  const cols = op.gates.length * u;
  const xMax = maxStored(op.inFormat) * 2 ** op.sx, hMax = maxStored(op.outFormat) * 2 ** op.sh;
  for (let col = 0; col < cols; col++) {
    let x = 0, h = 0;
    for (let i = 0; i < F; i++) x += Math.abs(op.kernel[i * cols + col]);
    for (let i = 0; i < u; i++) h += Math.abs(op.recurrentKernel[i * cols + col]);
    const b = Math.abs(op.bias[col]) + (op.resetAfter ? Math.abs(op.bias[cols + col]) : 0);
    if (b + x * xMax + h * hMax >= EXACT) return false;
  }
  // f·c + i·g; r·h, o·act(c); the GRU blend hh·2^H + z·(h − hh)·2^P and reset_after's x_q + r·h_q·2^P.
  return 2 * m * m < EXACT && m * 2 ** op.blendShiftH + 2 * m * m * 2 ** op.blendShiftP < EXACT;
}

/**
 * One recurrent layer on a batch: x [batch][T][F] in the input format -> [batch][T][u] (return
 * sequences) or [batch][u], in the output format.
 */
export function runRecurrent(op: QRecurrent, x: Values, batch: number): Values {
  const { timeSteps: T, features: F, units: u } = op;
  const cols = op.gates.length * u;
  const O = op.outFormat;
  const P = op.productFrac;
  const exact = recurrentFitsDoubles(op);
  const tern = op.ternary;
  if (tern && op.cell === 'gru') throw new Error(`runRecurrent: ternary GRU '${op.layer}'`);
  // Ternary: the gate products read codes (sums of at most features + units terms of ±1): exact in float32.
  const exactSums = exact || !!tern;
  const act = memoized(op.activation, O, op.tanhTable);
  const ract = memoized(op.recurrentActivation, O, op.tanhTable);

  // Integer products Σ m·v: TF.js matrix products in the float64 path, BigInt (modulo 2^64) otherwise.
  type Sums = Float64Array | BigInt64Array;
  const linear = (v: Int32Array, rows: number, k: number, m: Int32Array, n: number): Sums => {
    if (exactSums) return exactLinear((a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), v, [rows, k], m, [k, n], k);
    const out = new BigInt64Array(rows * n);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) {
        let s = 0n;
        for (let i = 0; i < k; i++) s += BigInt(v[r * k + i]) * BigInt(m[i * n + j]);
        out[r * n + j] = BigInt.asIntN(64, s);
      }
    }
    return out;
  };
  /**
   * A gate's (or a partial gate's) pre-activation: the bias terms bias[bi] (+ bias[bj]) + x sum·2^sx
   * + h sum·2^sh (xs, hs read at xi, hi; undefined: absent), wrapped to the accumulator width (the C
   * sums modulo 2^64, then dm_sext to ACC_BITS) and requantized once to O.
   */
  const preact = (bi: number, bj: number, xs: Sums | undefined, xi: number, hs: Sums | undefined, hi: number): number => {
    if (tern) {
      // y = Σ t_W·t_x · kernelScale + Σ t_U·t_h · recurrentScale + bias at the scale's frac: exact, no wrap.
      const col = bi;
      let y = op.bias[bi];
      if (xs) y += (xs as Float64Array)[xi] * tern.kernelScale[col];
      if (hs) y += (hs as Float64Array)[hi] * tern.recurrentScale[col];
      return requantize(y, P, O);
    }
    if (exact) {
      let total = op.bias[bi] + (bj >= 0 ? op.bias[bj] : 0);
      if (xs) total += (xs as Float64Array)[xi] * 2 ** op.sx;
      if (hs) total += (hs as Float64Array)[hi] * 2 ** op.sh;
      // |total| < 2^53: the int64 sum is the true sum.
      return requantize(wrapExact(total, op.accBits), P, O);
    }
    // dm_init's aligned bias is an int64 (dm_align shifts modulo 2^64).
    let total = BigInt.asIntN(64, BigInt(op.bias[bi])) + (bj >= 0 ? BigInt.asIntN(64, BigInt(op.bias[bj])) : 0n);
    if (xs) total += (xs as BigInt64Array)[xi] << BigInt(op.sx);
    if (hs) total += (hs as BigInt64Array)[hi] << BigInt(op.sh);
    return requantizeBig(BigInt.asIntN(op.accBits, BigInt.asIntN(64, total)), P, O);
  };
  /** a1·b1·2^s1 (+ a2·b2·2^s2) as the C's int64 (modulo 2^64), requantized once from `from` to O. */
  const productSum = (from: number, a1: number, b1: number, s1: number, a2 = 0, b2 = 0, s2 = 0): number =>
    exact
      ? requantize(a1 * b1 * 2 ** s1 + a2 * b2 * 2 ** s2, from, O)
      : requantizeBig(BigInt.asIntN(64, ((BigInt(a1) * BigInt(b1)) << BigInt(s1)) + ((BigInt(a2) * BigInt(b2)) << BigInt(s2))), from, O);
  const fo = fracBits(O);

  const outPer = op.returnSequences ? T * u : u;
  const out = new Int32Array(batch * outPer);
  // Σ kernel·x for every sample and step: rows (b, t), the columns of every gate.
  const xs = linear(tern ? ternarize(x, tern.inputThresholds) : x, batch * T, F, op.kernel, cols);
  const gru = op.cell === 'gru';
  // GRU (reset_after false): z and r read h, the h gate reads r ⊙ h.
  const split = gru && !op.resetAfter;
  const uzr = split ? columns(op.recurrentKernel, u, cols, 0, 2 * u) : op.recurrentKernel;
  const uh = split ? columns(op.recurrentKernel, u, cols, 2 * u, 3 * u) : undefined;
  const nzr = split ? 2 * u : cols;
  const h = new Int32Array(batch * u);
  const c = new Int32Array(batch * u);
  const z = new Int32Array(batch * u), r = new Int32Array(batch * u), hh = new Int32Array(batch * u), rh = new Int32Array(batch * u);
  for (let s = 0; s < T; s++) {
    const t = op.goBackwards ? T - 1 - s : s;
    // Every gate of this step reads the previous h (through these sums): h may be updated in place below.
    const hs = linear(tern ? ternarize(h, tern.stateThresholds) : h, batch, u, uzr, nzr);
    const xi = (b: number, col: number) => (b * T + t) * cols + col;
    if (op.cell === 'lstm') {
      for (let b = 0; b < batch; b++) {
        for (let o = 0; o < u; o++) {
          const k = b * u + o;
          const gateOf = (g: number, f: (v: number) => number) => f(preact(g * u + o, -1, xs, xi(b, g * u + o), hs, b * nzr + g * u + o));
          const gi = gateOf(0, ract), gf = gateOf(1, ract), gc = gateOf(2, act), go = gateOf(3, ract);
          c[k] = productSum(2 * fo, gf, c[k], 0, gi, gc, 0);
          h[k] = productSum(2 * fo, go, act(c[k]), 0);
        }
      }
    } else if (gru) {
      // reset_after: z and r add both bias rows (b_x + b_h).
      const second = (col: number) => (op.resetAfter ? cols + col : -1);
      for (let b = 0; b < batch; b++) {
        for (let o = 0; o < u; o++) {
          const k = b * u + o;
          z[k] = ract(preact(o, second(o), xs, xi(b, o), hs, b * nzr + o));
          r[k] = ract(preact(u + o, second(u + o), xs, xi(b, u + o), hs, b * nzr + u + o));
        }
      }
      if (op.resetAfter) {
        for (let b = 0; b < batch; b++) {
          for (let o = 0; o < u; o++) {
            const k = b * u + o, col = 2 * u + o;
            const qx = preact(col, -1, xs, xi(b, col), undefined, 0);
            const qh = preact(cols + col, -1, undefined, 0, hs, b * nzr + col);
            hh[k] = act(productSum(op.blendFrac, qx, 1, op.blendShiftH, r[k], qh, op.blendShiftP));
          }
        }
      } else {
        for (let k = 0; k < batch * u; k++) rh[k] = productSum(2 * fo, r[k], h[k], 0);
        const hr = linear(rh, batch, u, uh!, u);
        for (let b = 0; b < batch; b++) {
          for (let o = 0; o < u; o++) hh[b * u + o] = act(preact(2 * u + o, -1, xs, xi(b, 2 * u + o), hr, b * u + o));
        }
      }
      // z·h + (1 − z)·hh = hh + z·(h − hh), exact at the blend frac.
      for (let k = 0; k < batch * u; k++) h[k] = productSum(op.blendFrac, hh[k], 1, op.blendShiftH, z[k], h[k] - hh[k], op.blendShiftP);
    } else {
      for (let b = 0; b < batch; b++) for (let o = 0; o < u; o++) h[b * u + o] = act(preact(o, -1, xs, xi(b, o), hs, b * nzr + o));
    }
    if (op.returnSequences) {
      const pos = op.reverseOutput ? T - 1 - s : s;
      for (let b = 0; b < batch; b++) out.set(h.subarray(b * u, (b + 1) * u), b * outPer + pos * u);
    }
  }
  if (!op.returnSequences) out.set(h);
  return out;
}

/** The codes t = 1 (v ≥ θ), -1 (v ≤ -θ), 0 of stored integers, θ per element of the last axis (the C's DM_TCODE_AT). */
function ternarize(v: Int32Array, thresholds: number[]): Int32Array {
  const n = thresholds.length;
  return Int32Array.from(v, (q, i) => {
    const th = thresholds[i % n];
    return q >= th ? 1 : q <= -th ? -1 : 0;
  });
}

/** Two's complement wrap of an exact integer |q| < 2^53 to `bits` bits, exactly in float64. */
function wrapExact(q: number, bits: number): number {
  if (bits >= 54) return q;
  const m = 2 ** bits;
  let r = q % m;
  if (r >= m / 2) r -= m;
  else if (r < -m / 2) r += m;
  return r;
}

/**
 * Average: the exact sum at the largest input frac divided by the count with one rounding; Multiply:
 * the exact product of the first two inputs requantized once to the output, then each further input
 * (the C's int64 arithmetic; float64 where that is exact, else BigInt).
 */
export function runMerge(op: QElementwise, xs: Values[]): Values {
  const fracs = op.inFormats.map(fracBits);
  const O = op.outFormat;
  const n = xs[0].length;
  const out = new Int32Array(n);
  if (op.op === 'average') {
    const fmax = Math.max(...fracs);
    const bound = op.inFormats.reduce((a, f, k) => a + maxStored(f) * 2 ** (fmax - fracs[k]), 0);
    const big = bound >= EXACT;
    for (let i = 0; i < n; i++) {
      if (!big) {
        let total = 0;
        for (let k = 0; k < xs.length; k++) total += xs[k][i] * 2 ** (fmax - fracs[k]);
        out[i] = requantizeDiv(total, fmax, xs.length, O);
      } else {
        let total = 0n;
        for (let k = 0; k < xs.length; k++) total += BigInt(xs[k][i]) << BigInt(fmax - fracs[k]);
        out[i] = requantizeDivBig(BigInt.asIntN(64, total), fmax, BigInt(xs.length), O);
      }
    }
    return out;
  }
  if (op.op !== 'multiply') throw new Error(`runMerge: op ${op.op}`);
  for (let i = 0; i < n; i++) {
    let p = xs[0][i];
    let pf = fracs[0], pb = op.inFormats[0].bits;
    for (let k = 1; k < xs.length; k++) {
      const prod = pb + op.inFormats[k].bits <= 53 ? requantize(p * xs[k][i], pf + fracs[k], O) : requantizeBig(BigInt(p) * BigInt(xs[k][i]), pf + fracs[k], O);
      p = prod;
      pf = fracBits(O);
      pb = O.bits;
    }
    out[i] = p;
  }
  return out;
}
