/**
 * The fixed-point arithmetic of the recurrent cells (LSTM, GRU, SimpleRNN), as exact functions of
 * stored integers: the one definition the C writer (src/cgen/recurrent.ts writes the table and the
 * dm_rnn_* helpers from it), the quantized-model view (src/qmodel/lower.ts) and the TF.js integer
 * reference (src/quant) share.
 *
 *  - tanh: a table T[k] = round(tanh(k / 2^TANH_STEP_LOG2) · 2^TANH_Q), k = 0..TANH_TABLE_SIZE
 *    (step 1/64, [0, 8]); tanh(z / 2^f) is sign(z) times the linear interpolation of T at |z| / 2^f,
 *    computed exactly in integers (T[k]·2^s + (T[k+1] − T[k])·r at frac TANH_Q + s, s = f − 6), and
 *    T[N] beyond 8; then ONE rounding to the output format;
 *  - sigmoid(x) = (1 + tanh(x / 2)) / 2: the same table read at frac f + 1, exact, one rounding;
 *  - hard_sigmoid with slope 1/d: the exact rational (2z + d·2^f) / (2d·2^f), clipped to [0, 1], one
 *    rounding (d = 5: Keras 2 and TF.js; d = 6: Keras 3);
 *  - relu: max(z, 0) (and a clamp to a quantized maximum); linear: z.
 * The functions take and return plain numbers (stored integers of at most 32 bits) and compute in
 * BigInt, so they are exact for every format the C accepts (−24..39 fractional bits).
 */
import { fracBits, type FixedFormat } from './fixed';

/** Table values are tanh · 2^TANH_Q, rounded to nearest. */
export const TANH_Q = 24;
/** The grid step is 2^-TANH_STEP_LOG2. */
export const TANH_STEP_LOG2 = 6;
/** Grid points 0..TANH_TABLE_SIZE cover [0, 8]. */
export const TANH_TABLE_SIZE = 8 << TANH_STEP_LOG2;

/** The tanh table: TANH_TABLE_SIZE + 1 values round(tanh(k / 2^TANH_STEP_LOG2) · 2^TANH_Q), k = 0..N, covering [0, 8]. */
export function tanhTable(): Int32Array {
  return Int32Array.from({ length: TANH_TABLE_SIZE + 1 }, (_, k) => Math.round(Math.tanh(k / 2 ** TANH_STEP_LOG2) * 2 ** TANH_Q));
}

/** The divisor d of a hard_sigmoid slope 1/d (0.2 -> 5, 1/6 -> 6). */
export function hardSigmoidDivisor(alpha: number | undefined): number {
  const a = alpha ?? 0.2;
  const d = Math.round(1 / a);
  if (d < 1 || Math.abs(1 / d - a) > 1e-12) throw new Error(`hard_sigmoid slope ${a} is not 1/d for an integer d; fixed point implements 0.2 (Keras 2, TF.js) and 1/6 (Keras 3)`);
  return d;
}

const pow2 = (n: number): bigint => 1n << BigInt(n);

/** floor(num / den), den > 0. */
function floorDiv(num: bigint, den: bigint): bigint {
  const q = num / den;
  return num % den !== 0n && num < 0n ? q - 1n : q;
}

/** num / den (den > 0) rounded to an integer by the format's rule (truncate = floor; half-even). */
function roundDiv(num: bigint, den: bigint, f: FixedFormat): bigint {
  const fl = floorDiv(num, den);
  if (f.rounding === 'truncate') return fl;
  const twice = 2n * (num - fl * den);
  if (twice > den) return fl + 1n;
  if (twice < den) return fl;
  return fl % 2n === 0n ? fl : fl + 1n;
}

/** The format's overflow rule to its width. */
function overflowBig(q: bigint, f: FixedFormat): number {
  const bits = BigInt(f.bits);
  return Number(f.overflow === 'wrap' ? BigInt.asIntN(f.bits, q) : ((): bigint => {
    const hi = (1n << (bits - 1n)) - 1n, lo = -(1n << (bits - 1n));
    return q > hi ? hi : q < lo ? lo : q;
  })());
}

/** An exact value v / 2^fromFrac brought to `out` (one rounding, then the overflow rule): the C's dm_requant on an int64. */
export function requantizeBig(v: bigint, fromFrac: number, out: FixedFormat): number {
  const s = fracBits(out) - fromFrac;
  return overflowBig(s >= 0 ? v * pow2(s) : roundDiv(v, pow2(-s), out), out);
}

/** v / (n · 2^fromFrac) rounded once to `out`, then the overflow rule: the C's dm_requant_div. */
export function requantizeDivBig(v: bigint, fromFrac: number, n: bigint, out: FixedFormat): number {
  const s = fracBits(out) - fromFrac;
  return overflowBig(s >= 0 ? roundDiv(v * pow2(s), n, out) : roundDiv(v, n * pow2(-s), out), out);
}

/** tanh(z / 2^f) as the exact value y / 2^frac: sign(z) times the interpolated table at |z| / 2^f, the end value beyond 8 (the C's dm_tanh_raw). */
export function tanhRaw(table: Int32Array, z: number, f: number): { y: bigint; frac: number } {
  const n = table.length - 1;
  const a = BigInt(Math.abs(z));
  const s = f - TANH_STEP_LOG2;
  let y: bigint;
  let frac: number;
  if (s <= 0) {
    frac = TANH_Q;
    const k = a * pow2(-s);
    y = a === 0n ? 0n : k >= BigInt(n) ? BigInt(table[n]) : BigInt(table[Number(k)]);
  } else {
    const k = a >> BigInt(s), r = a - (k << BigInt(s));
    frac = TANH_Q + s;
    if (k >= BigInt(n)) y = BigInt(table[n]) * pow2(s);
    else {
      const i = Number(k);
      y = BigInt(table[i]) * pow2(s) + BigInt(table[i + 1] - table[i]) * r;
    }
  }
  return { y: z < 0 ? -y : y, frac };
}

/** A recurrent cell's activation in fixed point, as data (the quantized-model view holds it). */
export type CellActivation =
  | { kind: 'linear' }
  /** max(z, 0), then min(·, max) when ReLU has a max_value (max: an output-format integer, quantized saturating). */
  | { kind: 'relu'; max?: number }
  | { kind: 'tanh' }
  | { kind: 'sigmoid' }
  /** clip(x / divisor + 1/2, 0, 1). */
  | { kind: 'hard_sigmoid'; divisor: number };

/**
 * The activation of the stored integer z (in `out`, whose frac is f) into `out`: the C's dm_rnn_tanh,
 * dm_rnn_sigmoid, dm_rnn_hard_sigmoid, relu (dm_max_i32 / dm_min_i32) and linear.
 */
export function cellActivation(a: CellActivation, z: number, out: FixedFormat, table: Int32Array): number {
  const f = fracBits(out);
  switch (a.kind) {
    case 'linear':
      return z;
    case 'relu': {
      const y = z > 0 ? z : 0;
      return a.max !== undefined ? Math.min(y, a.max) : y;
    }
    case 'tanh': {
      const t = tanhRaw(table, z, f);
      return requantizeBig(t.y, t.frac, out);
    }
    case 'sigmoid': {
      const t = tanhRaw(table, z, f + 1);
      return requantizeBig(pow2(t.frac) + t.y, t.frac + 1, out);
    }
    case 'hard_sigmoid': {
      const d = BigInt(a.divisor);
      const from = f < 0 ? 0 : f;
      const num = f < 0 ? 2n * BigInt(z) * pow2(-f) + d : 2n * BigInt(z) + d * pow2(f);
      if (num <= 0n) return 0;
      if (num >= 2n * d * pow2(from)) return requantizeBig(1n, 0, out);
      return requantizeDivBig(num, from, 2n * d, out);
    }
  }
}
