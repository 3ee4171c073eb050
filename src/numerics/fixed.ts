/**
 * Fixed-point numerics: the one source of truth shared by quantization-aware training, the C model
 * (src/cgen emits exactly these operations), the TensorFlow.js quantized reference and the RTL.
 *
 * A format is signed two's complement: `bits` in all, `integer` of them before the binary point
 * (sign included), `frac = bits - integer` after it. A real value v is stored as the integer
 * q = quantize(v * 2^frac). `integer` may be negative or larger than `bits` (frac < 0 or > bits).
 *
 * Arithmetic contract (C and RTL agree bit for bit):
 *  - a product w*x is exact: frac = fw + fx;
 *  - sums are accumulated exactly and wrapped modulo 2^accBits (wrapping is order-independent, so
 *    any number of MAC lanes in any order gives the same sum); the bias is aligned to the product's
 *    frac with `alignFrac` before it is added;
 *  - the sum is brought to the output format once, by `requantize`: shift to the output frac with the
 *    format's rounding, then the overflow rule (wrap or saturate) to the output width.
 */
export type Rounding = 'truncate' | 'half-even';
export type Overflow = 'wrap' | 'saturate';

export interface FixedFormat {
  bits: number;
  integer: number;
  rounding: Rounding;
  overflow: Overflow;
}

export function fracBits(f: Pick<FixedFormat, 'bits' | 'integer'>): number {
  return f.bits - f.integer;
}

export function minInt(bits: number): number {
  return -(2 ** (bits - 1));
}
export function maxInt(bits: number): number {
  return 2 ** (bits - 1) - 1;
}

/** Two's complement wrap of an integer to `bits` bits (bits ≤ 52 keeps it exact in a double). */
export function wrap(q: number, bits: number): number {
  const m = 2 ** bits;
  let r = ((q % m) + m) % m;
  if (r >= m / 2) r -= m;
  return r;
}

export function saturate(q: number, bits: number): number {
  return Math.min(maxInt(bits), Math.max(minInt(bits), q));
}

export function applyOverflow(q: number, bits: number, overflow: Overflow): number {
  return overflow === 'wrap' ? wrap(q, bits) : saturate(q, bits);
}

/** Rounds a real number to an integer: truncate is floor (toward -inf, an arithmetic shift); half-even is banker's rounding. */
export function roundReal(x: number, rounding: Rounding): number {
  if (rounding === 'truncate') return Math.floor(x);
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Real value -> stored integer in format f. */
export function quantize(v: number, f: FixedFormat): number {
  if (Number.isNaN(v)) return 0;
  const scaled = v * 2 ** fracBits(f);
  if (!Number.isFinite(scaled)) return f.overflow === 'saturate' ? (scaled > 0 ? maxInt(f.bits) : minInt(f.bits)) : 0;
  return applyOverflow(roundReal(scaled, f.rounding), f.bits, f.overflow);
}

/** Stored integer -> real value. */
export function dequantize(q: number, f: Pick<FixedFormat, 'bits' | 'integer'>): number {
  return q * 2 ** -fracBits(f);
}

/** Quantize then dequantize: the value the hardware actually holds. */
export function fakeQuantize(v: number, f: FixedFormat): number {
  return dequantize(quantize(v, f), f);
}

/**
 * Integer shift right by s ≥ 0 with rounding, as the C model and RTL do it:
 * truncate = arithmetic shift (floor); half-even = add half, shift, and fix ties to even.
 */
export function shiftRightRound(q: number, s: number, rounding: Rounding): number {
  if (s <= 0) return q * 2 ** -s;
  const d = 2 ** s;
  const fl = Math.floor(q / d);
  if (rounding === 'truncate') return fl;
  const rem = q - fl * d;
  const half = d / 2;
  if (rem > half) return fl + 1;
  if (rem < half) return fl;
  return fl % 2 === 0 ? fl : fl + 1;
}

/** Moves an integer from `fromFrac` fractional bits to `toFrac` (left shifts are exact). */
export function alignFrac(q: number, fromFrac: number, toFrac: number, rounding: Rounding): number {
  return toFrac >= fromFrac ? q * 2 ** (toFrac - fromFrac) : shiftRightRound(q, fromFrac - toFrac, rounding);
}

/** An exact sum with `fromFrac` fractional bits, brought to format `out` (rounding, then overflow). */
export function requantize(acc: number, fromFrac: number, out: FixedFormat): number {
  return applyOverflow(alignFrac(acc, fromFrac, fracBits(out), out.rounding), out.bits, out.overflow);
}

/**
 * Division of an exact sum by a positive integer count, brought to format `out` (average pooling):
 * the real value acc / (n · 2^fromFrac) rounded once to out's frac with out's rounding (truncate =
 * floor), then out's overflow rule. Computed on integers, so C and RTL can match it exactly.
 */
export function requantizeDiv(acc: number, fromFrac: number, n: number, out: FixedFormat): number {
  const fo = fracBits(out);
  const num = fo >= fromFrac ? acc * 2 ** (fo - fromFrac) : acc;
  const den = fo >= fromFrac ? n : n * 2 ** (fromFrac - fo);
  const fl = Math.floor(num / den);
  let q = fl;
  if (out.rounding === 'half-even') {
    const twiceRem = 2 * (num - fl * den);
    if (twiceRem > den) q = fl + 1;
    else if (twiceRem === den && fl % 2 !== 0) q = fl + 1;
  }
  return applyOverflow(q, out.bits, out.overflow);
}

/**
 * A constant (ReLU's max_value, a threshold) in format f: quantized with f's rounding and always
 * saturated, so a clamp never wraps to the other sign.
 */
export function quantizeConstant(v: number, f: FixedFormat): number {
  return quantize(v, { ...f, overflow: 'saturate' });
}

/**
 * Activations in fixed point. A layer's sum is requantized once to its output format (`z`, an
 * integer with frac(out) fractional bits); then:
 *  - linear: z;  relu: max(z, 0), clamped to quantizeConstant(maxValue) when ReLU has a max_value;
 *  - thresholded_relu: dequantize(z) > theta ? z : 0;
 *  - every other function f (leaky_relu, elu, sigmoid, tanh, hard_sigmoid) is a table on z:
 *    quantize(f(dequantize(z)), out), f evaluated in double precision (what a ROM indexed by z holds);
 *  - softmax: over the last axis, quantize(softmax(dequantize(z))_i, out) in double precision, except
 *    on a model output, where the C model outputs z itself (the logits: argmax is unchanged, and a
 *    classifier on an FPGA needs no exponentials).
 * C's libm and JavaScript's Math may differ in the last bit of exp/tanh; after quantization that can
 * only matter when f(x)·2^frac lands within an ulp of a rounding boundary.
 */
export function activationTable(kind: string, x: number, alpha = 0): number {
  switch (kind) {
    case 'leaky_relu':
      return x < 0 ? alpha * x : x;
    case 'elu':
      return x > 0 ? x : alpha * Math.expm1(x);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'tanh':
      return Math.tanh(x);
    case 'hard_sigmoid':
      return Math.min(1, Math.max(0, alpha * x + 0.5));
  }
  throw new Error(`activation '${kind}' is not a table activation`);
}

/** Parses `fixed<16,6>` / `ap_fixed<16,6>` / `16,6`. */
export function parseFixed(text: string, rounding: Rounding = 'half-even', overflow: Overflow = 'saturate'): FixedFormat {
  const m = /^(?:ap_)?(?:fixed)?\s*<?\s*(\d+)\s*,\s*(-?\d+)\s*>?$/.exec(text.trim());
  if (!m) throw new Error(`not a fixed-point format: '${text}' (write fixed<bits,integer>, e.g. fixed<16,6>)`);
  const bits = Number(m[1]);
  if (bits < 2 || bits > 32) throw new Error(`fixed-point width ${bits} is outside 2..32`);
  return { bits, integer: Number(m[2]), rounding, overflow };
}

export function formatName(f: Pick<FixedFormat, 'bits' | 'integer'>): string {
  return `fixed<${f.bits},${f.integer}>`;
}

/**
 * Ternary weights and activations (ToT-Net): values in {-1, 0, 1} coded in 2 bits, sign-magnitude:
 * MSB = sign, LSB = magnitude. 0 -> 00, +1 -> 01, -1 -> 11 (10, "-0", also reads as 0).
 * The product of two codes is O_MSB = W_MSB xor I_MSB, O_LSB = W_LSB and I_LSB.
 */
export function encodeTernary(t: -1 | 0 | 1): number {
  return t === 0 ? 0b00 : t === 1 ? 0b01 : 0b11;
}
export function decodeTernary(code: number): -1 | 0 | 1 {
  if ((code & 1) === 0) return 0;
  return code & 2 ? -1 : 1;
}
export function ternaryProductCode(w: number, x: number): number {
  const msb = ((w >> 1) ^ (x >> 1)) & 1;
  const lsb = w & x & 1;
  return (msb << 1) | lsb;
}
