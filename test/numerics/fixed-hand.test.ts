/**
 * Fixed-point cases computed by hand from the definitions, not from src/numerics/fixed.ts.
 *
 * Every other fixed-point check (C, TF.js integer reference, RTL, netlist) compares against code that
 * imports src/numerics/fixed.ts, so the chain is only self-consistent. These literals are derived
 * here, on paper, from the definitions the project promises (src/numerics/fixed.ts's header):
 *  - fixed<B,I>: signed two's complement, B bits, I integer bits (sign included), F = B − I
 *    fractional bits (F may be negative or exceed B); a real v is stored as q = round(v · 2^F);
 *    the stored range is [−2^(B−1), 2^(B−1) − 1];
 *  - rounding: truncate = floor (toward −∞, like an arithmetic right shift; −20.8 → −21, not −20);
 *    half-even = to the nearest integer, ties (x.5) to the even one (0.5 → 0, 1.5 → 2, −0.5 → 0,
 *    −1.5 → −2, −2.5 → −2);
 *  - overflow: saturate = clamp to the range; wrap = q mod 2^B brought into the range (add or
 *    subtract multiples of 2^B);
 *  - requantize(acc, F_in, out): acc is exact with F_in fractional bits: the real acc / 2^F_in is
 *    rounded to out's F (a right shift by F_in − F with out's rounding, or an exact left shift),
 *    then out's overflow rule;
 *  - requantizeDiv(acc, F_in, n, out) (average pooling): acc / (n · 2^F_in) rounded once to out's F.
 * Each row says how its value follows. The same table runs through the library (TypeScript) and the
 * C helpers every generated model contains (src/cgen/runtime.ts), compiled for each rounding and
 * overflow knob.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FIXED_RUNTIME_C } from '../../src/cgen/runtime';
import { alignFrac, applyOverflow, dequantize, quantize, requantize, requantizeDiv, saturate, shiftRightRound, wrap, type FixedFormat, type Overflow, type Rounding } from '../../src/numerics/fixed';

type Fmt = [bits: number, integer: number];
/** [value, format, truncate+saturate, truncate+wrap, half-even+saturate, half-even+wrap, derivation] */
type QuantizeCase = [number, Fmt, number, number, number, number, string];
/** [acc, fromFrac, format, trunc+sat, trunc+wrap, he+sat, he+wrap, derivation] */
type RequantizeCase = [number, number, Fmt, number, number, number, number, string];
/** [acc, fromFrac, n, format, trunc+sat, trunc+wrap, he+sat, he+wrap, derivation] */
type DivCase = [number, number, number, Fmt, number, number, number, number, string];

const QUANTIZE: QuantizeCase[] = [
  // fixed<8,4>: F = 4, scale 16, q in [-128, 127] (reals [-8, 7.9375])
  [1.3, [8, 4], 20, 20, 21, 21, '1.3·16 = 20.8: floor 20, nearest 21'],
  [-1.3, [8, 4], -21, -21, -21, -21, '-20.8: floor is -21 (toward -inf, not toward zero), nearest -21'],
  [0.03125, [8, 4], 0, 0, 0, 0, '0.5: floor 0; tie between 0 and 1, even 0'],
  [0.09375, [8, 4], 1, 1, 2, 2, '1.5: floor 1; tie, even 2'],
  [0.15625, [8, 4], 2, 2, 2, 2, '2.5: floor 2; tie, even 2'],
  [-0.03125, [8, 4], -1, -1, 0, 0, '-0.5: floor -1; tie between -1 and 0, even 0'],
  [-0.09375, [8, 4], -2, -2, -2, -2, '-1.5: floor -2; tie between -2 and -1, even -2'],
  [7.9375, [8, 4], 127, 127, 127, 127, '127 exactly: the largest value'],
  [-8, [8, 4], -128, -128, -128, -128, '-128 exactly: the smallest value'],
  [8, [8, 4], 127, -128, 127, -128, '128: saturates to 127; wraps to 128 - 256 = -128'],
  [10, [8, 4], 127, -96, 127, -96, '160: 127; 160 - 256 = -96'],
  [-9, [8, 4], -128, 112, -128, 112, '-144: -128; -144 + 256 = 112'],
  // fixed<4,2>: F = 2, scale 4, q in [-8, 7] (reals [-2, 1.75])
  [0.6, [4, 2], 2, 2, 2, 2, '2.4: 2 both ways'],
  [0.625, [4, 2], 2, 2, 2, 2, '2.5: floor 2; tie, even 2'],
  [0.875, [4, 2], 3, 3, 4, 4, '3.5: floor 3; tie, even 4'],
  [1.9, [4, 2], 7, 7, 7, -8, '7.6: floor 7 fits; nearest 8: saturates to 7, wraps to 8 - 16 = -8'],
  [-2.1, [4, 2], -8, 7, -8, -8, '-8.4: floor -9: saturates to -8, wraps to -9 + 16 = 7; nearest -8 fits'],
  [-2.2, [4, 2], -8, 7, -8, 7, '-8.8: floor -9 and nearest -9: -8; 7'],
  [3, [4, 2], 7, -4, 7, -4, '12: 7; 12 - 16 = -4'],
  // fixed<4,1>: F = 3, q in [-8, 7]
  [-0.0625, [4, 1], -1, -1, 0, 0, '-0.5: floor -1; tie, even 0'],
  [0.9375, [4, 1], 7, 7, 7, -8, '7.5: floor 7; tie between 7 and 8, even 8: 7 saturated, -8 wrapped'],
  // fixed<4,6>: F = -2 (integer bits beyond the width), scale 1/4, q in [-8, 7] (reals -32..28 in steps of 4)
  [10, [4, 6], 2, 2, 2, 2, '10/4 = 2.5: floor 2; tie, even 2 (the value held: 8)'],
  [-10, [4, 6], -3, -3, -2, -2, '-2.5: floor -3 (-12); tie between -3 and -2, even -2 (-8)'],
  [30, [4, 6], 7, 7, 7, -8, '7.5: floor 7; nearest (even) 8: 7 saturated, -8 wrapped (-32)'],
  // fixed<8,-2>: F = 10 (fraction bits beyond the width), scale 1024, q in [-128, 127] (reals about ±0.125)
  [0.1, [8, -2], 102, 102, 102, 102, '0.1·1024 = 102.4: 102'],
  [0.2, [8, -2], 127, -52, 127, -51, '204.8: floor 204 -> 127 or 204 - 256 = -52; nearest 205 -> 127 or -51'],
  // fixed<12,1>: F = 11, scale 2048, q in [-2048, 2047] (reals [-1, 1))
  [0.1, [12, 1], 204, 204, 205, 205, '204.8: floor 204, nearest 205'],
  [-0.1, [12, 1], -205, -205, -205, -205, '-204.8: floor -205, nearest -205'],
  [3 / 4096, [12, 1], 1, 1, 2, 2, '1.5: floor 1; tie, even 2'],
  [5 / 4096, [12, 1], 2, 2, 2, 2, '2.5: floor 2; tie, even 2'],
  [-3 / 4096, [12, 1], -2, -2, -2, -2, '-1.5: floor -2; tie, even -2'],
  [-5 / 4096, [12, 1], -3, -3, -2, -2, '-2.5: floor -3; tie, even -2'],
  [1, [12, 1], 2047, -2048, 2047, -2048, '2048: 2047; 2048 - 4096 = -2048'],
  // fixed<12,4>: F = 8
  [-7.99609375, [12, 4], -2047, -2047, -2047, -2047, '-2047 exactly'],
  [-8.001953125, [12, 4], -2048, 2047, -2048, -2048, '-2048.5: floor -2049: -2048, or -2049 + 4096 = 2047; tie, even -2048'],
  // fixed<16,6>: F = 10, scale 1024, q in [-32768, 32767] (reals [-32, 32))
  [3.14159, [16, 6], 3216, 3216, 3217, 3217, '3216.98816: floor 3216, nearest 3217'],
  [-3.14159, [16, 6], -3217, -3217, -3217, -3217, '-3216.98816: floor -3217, nearest -3217'],
  [2049 / 2048, [16, 6], 1024, 1024, 1024, 1024, '1024.5: floor 1024; tie, even 1024'],
  [2051 / 2048, [16, 6], 1025, 1025, 1026, 1026, '1025.5: floor 1025; tie, even 1026'],
  [-2051 / 2048, [16, 6], -1026, -1026, -1026, -1026, '-1025.5: floor -1026; tie between -1026 and -1025, even -1026'],
  [40, [16, 6], 32767, -24576, 32767, -24576, '40960: 32767; 40960 - 65536 = -24576'],
  [-40, [16, 6], -32768, 24576, -32768, 24576, '-40960: -32768; -40960 + 65536 = 24576'],
];

const REQUANTIZE: RequantizeCase[] = [
  // To fixed<8,4> (F = 4) from a product of two fixed<8,4> (F_in = 8): divide by 2^4 = 16.
  [1000, 8, [8, 4], 62, 62, 62, 62, '62.5: floor 62; tie, even 62'],
  [1016, 8, [8, 4], 63, 63, 64, 64, '63.5: floor 63; tie, even 64'],
  [-1000, 8, [8, 4], -63, -63, -62, -62, '-62.5: floor -63; tie, even -62'],
  [-1016, 8, [8, 4], -64, -64, -64, -64, '-63.5: floor -64; tie, even -64'],
  [1001, 8, [8, 4], 62, 62, 63, 63, '62.5625: floor 62, nearest 63'],
  [2100, 8, [8, 4], 127, -125, 127, -125, '131.25: 131 either way: 127; 131 - 256 = -125'],
  [-2100, 8, [8, 4], -128, 124, -128, 125, '-131.25: floor -132 -> -128 or -132 + 256 = 124; nearest -131 -> -128 or 125'],
  // From fewer fractional bits (F_in = 2): an exact left shift by 2.
  [5, 2, [8, 4], 20, 20, 20, 20, '5·4 = 20'],
  [40, 2, [8, 4], 127, -96, 127, -96, '160: 127; -96'],
  [-7, 2, [8, 4], -28, -28, -28, -28, '-7·4 = -28'],
  // To fixed<12,4> (F = 8) from F_in = 16: divide by 256.
  [100000, 16, [12, 4], 390, 390, 391, 391, '390.625: floor 390, nearest 391'],
  [640, 16, [12, 4], 2, 2, 2, 2, '2.5: floor 2; tie, even 2'],
  [896, 16, [12, 4], 3, 3, 4, 4, '3.5: floor 3; tie, even 4'],
  [-640, 16, [12, 4], -3, -3, -2, -2, '-2.5: floor -3; tie, even -2'],
  [600000, 16, [12, 4], 2047, -1753, 2047, -1752, '2343.75: floor 2343 -> 2047 or 2343 - 4096 = -1753; nearest 2344 -> 2047 or -1752'],
  // To fixed<16,6> (F = 10) from F_in = 20: divide by 1024.
  [1536, 20, [16, 6], 1, 1, 2, 2, '1.5: floor 1; tie, even 2'],
  [2560, 20, [16, 6], 2, 2, 2, 2, '2.5: floor 2; tie, even 2'],
  [-1536, 20, [16, 6], -2, -2, -2, -2, '-1.5: floor -2; tie, even -2'],
  [-2560, 20, [16, 6], -3, -3, -2, -2, '-2.5: floor -3; tie, even -2'],
  [40960000, 20, [16, 6], 32767, -25536, 32767, -25536, '40000 exactly: 32767; 40000 - 65536 = -25536'],
  [2 ** 35, 20, [16, 6], 32767, 0, 32767, 0, '2^25: 32767; 2^25 mod 2^16 = 0'],
  [-(2 ** 35) - 1024, 20, [16, 6], -32768, -1, -32768, -1, '-(2^25 + 1) exactly: -32768; 2^25 is a multiple of 2^16, so it wraps to -1'],
  // To fixed<4,1> (F = 3) from F_in = 6: divide by 8.
  [60, 6, [4, 1], 7, 7, 7, -8, '7.5: floor 7; tie, even 8: 7 saturated, -8 wrapped'],
  [-68, 6, [4, 1], -8, 7, -8, -8, '-8.5: floor -9 -> -8 or 7; tie between -9 and -8, even -8'],
];

const DIV: DivCase[] = [
  // Average pooling into fixed<8,4> (F = 4) from F_in = 4: the real sum / n, rounded once.
  [7, 4, 4, [8, 4], 1, 1, 2, 2, '7/4 = 1.75: floor 1, nearest 2'],
  [6, 4, 4, [8, 4], 1, 1, 2, 2, '1.5: floor 1; tie, even 2'],
  [10, 4, 4, [8, 4], 2, 2, 2, 2, '2.5: floor 2; tie, even 2'],
  [-6, 4, 4, [8, 4], -2, -2, -2, -2, '-1.5: floor -2; tie, even -2'],
  [-10, 4, 4, [8, 4], -3, -3, -2, -2, '-2.5: floor -3; tie, even -2'],
  [5, 4, 3, [8, 4], 1, 1, 2, 2, '5/3 = 1.67: floor 1, nearest 2'],
  [-5, 4, 3, [8, 4], -2, -2, -2, -2, '-1.67: floor -2, nearest -2'],
  [112, 8, 4, [8, 4], 1, 1, 2, 2, 'F_in = 8: 112/(4·16) = 1.75: 1, 2'],
  [1030, 4, 2, [8, 4], 127, 3, 127, 3, '515: 127; 515 - 2·256 = 3'],
  [9, 2, 9, [12, 4], 64, 64, 64, 64, 'F_in = 2 < F = 8: 9·2^6/9 = 64 exactly'],
];

const fmt = ([bits, integer]: Fmt, rounding: Rounding, overflow: Overflow): FixedFormat => ({ bits, integer, rounding, overflow });
const KNOBS: [Rounding, Overflow][] = [['truncate', 'saturate'], ['truncate', 'wrap'], ['half-even', 'saturate'], ['half-even', 'wrap']];

describe('fixed point by hand: the library', () => {
  it('quantize: rounding (truncate = floor, half-even ties), negative values and overflow at 4, 8, 12 and 16 bits', () => {
    for (const [v, f, ...rest] of QUANTIZE) {
      KNOBS.forEach(([r, o], k) => assert.equal(quantize(v, fmt(f, r, o)), rest[k], `quantize(${v}, fixed<${f}> ${r} ${o}): ${rest[4]}`));
    }
  });

  it('dequantize gives back the value of the stored integer: q / 2^F', () => {
    assert.equal(dequantize(21, { bits: 8, integer: 4 }), 1.3125); // 21/16
    assert.equal(dequantize(-205, { bits: 12, integer: 1 }), -0.10009765625); // -205/2048
    assert.equal(dequantize(-3, { bits: 4, integer: 6 }), -12); // -3·4
    assert.equal(dequantize(102, { bits: 8, integer: -2 }), 0.099609375); // 102/1024
  });

  it('requantize: the shift to the output format with its rounding, then its overflow', () => {
    for (const [acc, from, f, ...rest] of REQUANTIZE) {
      KNOBS.forEach(([r, o], k) => assert.equal(requantize(acc, from, fmt(f, r, o)), rest[k], `requantize(${acc}, ${from}, fixed<${f}> ${r} ${o}): ${rest[4]}`));
    }
  });

  it('requantizeDiv (average pooling): one rounding of sum / n', () => {
    for (const [acc, from, n, f, ...rest] of DIV) {
      KNOBS.forEach(([r, o], k) => assert.equal(requantizeDiv(acc, from, n, fmt(f, r, o)), rest[k], `requantizeDiv(${acc}, ${from}, ${n}, fixed<${f}> ${r} ${o}): ${rest[4]}`));
    }
  });

  it('wrap, saturate, the rounding shift and the bias alignment', () => {
    // wrap: into [-2^(B-1), 2^(B-1) - 1] by multiples of 2^B
    assert.deepEqual([wrap(128, 8), wrap(255, 8), wrap(256, 8), wrap(-129, 8), wrap(-256, 8)], [-128, -1, 0, 127, 0]);
    assert.deepEqual([wrap(8, 4), wrap(-9, 4), wrap(-1, 4), wrap(2048, 12), wrap(70000, 16)], [-8, 7, -1, -2048, 4464]); // 70000 - 65536
    assert.deepEqual([saturate(70000, 16), saturate(-70000, 16), saturate(-9, 4), saturate(7, 4)], [32767, -32768, -8, 7]);
    assert.deepEqual([applyOverflow(2048, 12, 'wrap'), applyOverflow(2048, 12, 'saturate')], [-2048, 2047]);
    // shiftRightRound(q, s): q / 2^s; truncate = arithmetic shift (floor): -3 >> 1 = -2
    assert.deepEqual([-3, -1, 5, 7, -5].map((q) => shiftRightRound(q, 1, 'truncate')), [-2, -1, 2, 3, -3]);
    assert.deepEqual([-3, -1, 5, 7, -5].map((q) => shiftRightRound(q, 1, 'half-even')), [-2, 0, 2, 4, -2]); // -1.5, -0.5, 2.5, 3.5, -2.5
    assert.deepEqual([shiftRightRound(-13, 2, 'truncate'), shiftRightRound(-13, 2, 'half-even')], [-4, -3]); // -3.25
    assert.equal(alignFrac(3, 4, 8, 'truncate'), 48); // 3/16 = 48/256: exact left shift
    assert.equal(alignFrac(-49, 8, 4, 'half-even'), -3); // -3.0625
  });

  it('NaN and infinities', () => {
    // NaN is stored as 0; an infinite value saturates, or is 0 when wrapping (no defined residue).
    assert.equal(quantize(NaN, fmt([8, 4], 'half-even', 'saturate')), 0);
    assert.equal(quantize(Infinity, fmt([8, 4], 'half-even', 'saturate')), 127);
    assert.equal(quantize(-Infinity, fmt([16, 6], 'truncate', 'saturate')), -32768);
    assert.equal(quantize(Infinity, fmt([8, 4], 'truncate', 'wrap')), 0);
  });
});

describe('fixed point by hand: the C helpers of every generated model', () => {
  it('dm_quantize, dm_requant and dm_requant_div give the same table, for each rounding and overflow knob', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dm-fixed-hand-'));
    try {
      KNOBS.forEach(([rounding, overflow], k) => {
        const lines: string[] = [];
        for (const [v, [b, i]] of QUANTIZE) lines.push(`    printf("%ld\\n", (long)dm_quantize(${v}, ${b}, ${b - i}, ${overflow === 'saturate' ? 1 : 0}));`);
        for (const [acc, from, [b, i]] of REQUANTIZE) lines.push(`    printf("%ld\\n", (long)dm_requant(INT64_C(${acc}), ${from}, ${b}, ${b - i}));`);
        for (const [acc, from, n, [b, i]] of DIV) lines.push(`    printf("%ld\\n", (long)dm_requant_div(INT64_C(${acc}), ${from}, ${n}, ${b}, ${b - i}));`);
        const src = [
          '#include <stdint.h>',
          '#include <stdio.h>',
          '#include <math.h>',
          '#define DM_TRUNCATE 0',
          '#define DM_HALF_EVEN 1',
          '#define DM_WRAP 0',
          '#define DM_SATURATE 1',
          `#define DM_ROUNDING ${rounding === 'truncate' ? 'DM_TRUNCATE' : 'DM_HALF_EVEN'}`,
          `#define DM_OVERFLOW ${overflow === 'wrap' ? 'DM_WRAP' : 'DM_SATURATE'}`,
          FIXED_RUNTIME_C,
          'int main(void)',
          '{',
          ...lines,
          '    return 0;',
          '}',
          '',
        ].join('\n');
        const c = join(dir, `t${k}.c`);
        const exe = join(dir, `t${k}`);
        writeFileSync(c, src);
        execFileSync('cc', ['-std=c99', '-pedantic', '-Wall', '-Wextra', '-O2', '-o', exe, c, '-lm']);
        const got = execFileSync(exe, { encoding: 'utf8' }).trim().split('\n').map(Number);
        const want = [...QUANTIZE.map((c) => c[2 + k] as number), ...REQUANTIZE.map((c) => c[3 + k] as number), ...DIV.map((c) => c[4 + k] as number)];
        const why = [...QUANTIZE.map((c) => `dm_quantize(${c[0]}, fixed<${c[1]}>): ${c[6]}`), ...REQUANTIZE.map((c) => `dm_requant(${c[0]}, ${c[1]}, fixed<${c[2]}>): ${c[7]}`), ...DIV.map((c) => `dm_requant_div(${c[0]}, ${c[1]}, ${c[2]}, fixed<${c[3]}>): ${c[8]}`)];
        assert.equal(got.length, want.length);
        got.forEach((g, j) => assert.equal(g, want[j], `${rounding} ${overflow}: ${why[j]}`));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
