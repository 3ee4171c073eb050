/**
 * Verilog-2005 text helpers for the emitters: widths, sized literals, sign extension, and the one
 * requantizer (src/numerics/fixed.ts `requantize` + overflow + activation) as combinational logic.
 */
import type { FixedFormat } from '../numerics/fixed';
import { maxInt, minInt } from '../numerics/fixed';
import type { QAct } from '../qmodel/lower';

/** Bits to count 0..n-1 (at least 1). */
export function clog2(n: number): number {
  let b = 1;
  while (2 ** b < n) b++;
  return b;
}

/** A sized two's-complement literal, e.g. lit(-3, 8) = "-8'sd3"; written as an unsigned pattern to avoid sign surprises. */
export function lit(v: number, width: number): string {
  const u = BigInt.asUintN(width, BigInt(v));
  return `${width}'h${u.toString(16)}`;
}

/** Unsigned sized literal. */
export function ulit(v: number, width: number): string {
  return `${width}'d${v}`;
}

/** `expr` (a signed value of `from` bits) sign-extended or truncated to `to` bits, as an expression. */
export function sext(expr: string, from: number, to: number): string {
  if (to === from) return expr;
  if (to < from) return `${expr}[${to - 1}:0]`;
  return `{{${to - from}{${expr}[${from - 1}]}}, ${expr}}`;
}

/**
 * The ternary code of the signed `W`-bit value `v` against the threshold `th` (a positive `TW`-bit
 * value, TW > W): 2'b01 (+1) if v ≥ th, 2'b11 (−1) if v ≤ −th, else 2'b00 (the C's DM_TCODE_AT).
 * Declares the wires `names.ext` (v widened), `names.neg` (−th) and `names.code`, and returns the code's name.
 */
export function emitTernaryCompare(L: Lines, v: string, W: number, th: string, TW: number, names: { ext: string; neg: string; code: string }): string {
  L.line(`wire [${TW - 1}:0] ${names.ext} = ${sext(v, W, TW)};`);
  L.line(`wire [${TW - 1}:0] ${names.neg} = -${th};`);
  L.line(`wire [1:0] ${names.code} = ($signed(${names.ext}) >= $signed(${th})) ? 2'b01 : (($signed(${names.ext}) <= $signed(${names.neg})) ? 2'b11 : 2'b00);`);
  return names.code;
}

/** Collects lines with indentation. */
export class Lines {
  private readonly out: string[] = [];
  private depth = 0;
  line(s = ''): this {
    this.out.push(s === '' ? '' : '  '.repeat(this.depth) + s);
    return this;
  }
  lines(ss: string[]): this {
    for (const s of ss) this.line(s);
    return this;
  }
  indent(f: () => void): this {
    this.depth++;
    f();
    this.depth--;
    return this;
  }
  toString(): string {
    return this.out.join('\n') + '\n';
  }
}

/**
 * Combinational requantizer: the signed `inBits`-bit wire `src` with `shift` = (frac in − frac out)
 * bits too many is rounded (truncate = arithmetic shift; half-even = banker's), brought to the output
 * width by the overflow rule, then through the activation. Declares wires prefixed `p` and returns
 * the name of the `outFmt.bits`-bit result wire.
 */
export function emitRequantize(L: Lines, p: string, src: string, inBits: number, shift: number, outFmt: FixedFormat, act: QAct): string {
  const { r, R } = emitRound(L, p, src, inBits, shift, outFmt);
  return emitSaturate(L, p, r, R, outFmt, act);
}

/**
 * The first half of emitRequantize: the value shifted to the output's fraction bits and rounded (a
 * carry chain), `R` bits wide, not yet saturated. A pipelined writer registers it before emitSaturate.
 */
export function emitRound(L: Lines, p: string, src: string, inBits: number, shift: number, outFmt: FixedFormat): { r: string; R: number } {
  let r: string;
  let R: number;
  if (shift > 0) {
    // Widen so that the shifted value keeps at least its sign bit.
    const W = Math.max(inBits, shift + 1);
    L.line(`wire [${W - 1}:0] ${p}_w = ${sext(src, inBits, W)};`);
    const FL = W - shift;
    L.line(`wire [${FL - 1}:0] ${p}_fl = ${p}_w[${W - 1}:${shift}];`);
    if (outFmt.rounding === 'truncate') {
      r = `${p}_fl`;
      R = FL;
    } else {
      // rem > half: the top remainder bit and any bit below it; rem == half: top bit only, round to even.
      const rest = shift >= 2 ? `(|${p}_w[${shift - 2}:0])` : `1'b0`;
      L.line(`wire ${p}_up = ${p}_w[${shift - 1}] & (${rest} | ${p}_fl[0]);`);
      L.line(`wire [${FL}:0] ${p}_rd = ${sext(`${p}_fl`, FL, FL + 1)} + {{${FL}{1'b0}}, ${p}_up};`);
      r = `${p}_rd`;
      R = FL + 1;
    }
  } else if (shift < 0) {
    R = inBits - shift;
    L.line(`wire [${R - 1}:0] ${p}_sh = {${src}, ${-shift}'d0};`);
    r = `${p}_sh`;
  } else {
    r = src;
    R = inBits;
  }
  return { r, R };
}

/** The second half of emitRequantize: `r` (R bits, rounded) saturated or wrapped to the output format, then the activation. */
export function emitSaturate(L: Lines, p: string, r: string, R: number, outFmt: FixedFormat, act: QAct): string {
  const B = outFmt.bits;
  let y: string;
  if (R <= B) {
    L.line(`wire [${B - 1}:0] ${p}_ov = ${sext(r, R, B)};`);
  } else if (outFmt.overflow === 'wrap') {
    L.line(`wire [${B - 1}:0] ${p}_ov = ${r}[${B - 1}:0];`);
  } else {
    // In range iff bits R-1 .. B-1 are all equal.
    L.line(`wire ${p}_hi1 = &${r}[${R - 1}:${B - 1}];`);
    L.line(`wire ${p}_hi0 = ~|${r}[${R - 1}:${B - 1}];`);
    L.line(
      `wire [${B - 1}:0] ${p}_ov = (${p}_hi1 | ${p}_hi0) ? ${r}[${B - 1}:0] : (${r}[${R - 1}] ? ${lit(minInt(B), B)} : ${lit(maxInt(B), B)});`,
    );
  }
  y = `${p}_ov`;
  if (act.relu) {
    L.line(`wire [${B - 1}:0] ${p}_relu = ${y}[${B - 1}] ? ${B}'d0 : ${y};`);
    y = `${p}_relu`;
  }
  if (act.max !== undefined) {
    L.line(`wire [${B - 1}:0] ${p}_clamp = ($signed(${y}) > $signed(${lit(act.max, B)})) ? ${lit(act.max, B)} : ${y};`);
    y = `${p}_clamp`;
  }
  return y;
}

/** A hex image for $readmemh: one word per line, `width` bits, two's complement, padded with zeros to `depth` words. */
export function hexImage(words: ArrayLike<number | bigint>, width: number, depth: number): string {
  const digits = Math.ceil(width / 4);
  const lines: string[] = new Array(depth);
  for (let i = 0; i < depth; i++) {
    const v = i < words.length ? words[i] : 0;
    lines[i] = BigInt.asUintN(width, BigInt(v)).toString(16).padStart(digits, '0');
  }
  return lines.join('\n') + '\n';
}

/** Verilog identifier from an IR layer name. */
export function ident(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `l_${s}`;
}
