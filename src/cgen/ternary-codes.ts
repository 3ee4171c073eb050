/**
 * The stored form of ternary layers in model.c (src/cgen/ternary.ts for convolutions and dense
 * layers, src/cgen/recurrent.ts for recurrent ones): 2-bit codes packed four per byte, and the
 * literals of their byte and float arrays.
 */
import { encodeTernary } from '../numerics/fixed';
import { floatLiteral } from './expr';

/** The kernel's codes, four per byte: 00 = 0, 01 = +1, 11 = -1 (src/numerics/fixed.ts encodeTernary), weight i in bits 2·(i mod 4)..+1 of byte i/4, in Keras's kernel order. */
export function packTernaryKernel(t: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(t.length / 4));
  for (let i = 0; i < t.length; i++) {
    const v = t[i];
    if (v !== 0 && v !== 1 && v !== -1) throw new Error(`ternary kernel value ${v} at ${i} is not -1, 0 or 1`);
    out[i >> 2] |= encodeTernary(v as -1 | 0 | 1) << ((i & 3) * 2);
  }
  return out;
}

export function bytesLiteral(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) out.push(`    ${Array.from(bytes.subarray(i, i + 16), (b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')},`);
  return out;
}

export function floatsLiteral(v: ArrayLike<number>): string[] {
  const out: string[] = [];
  const lits = Array.from(v, (x) => floatLiteral(x));
  for (let i = 0; i < lits.length; i += 8) out.push(`    ${lits.slice(i, i + 8).join(', ')},`);
  return out;
}
