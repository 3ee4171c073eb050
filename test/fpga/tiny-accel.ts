/**
 * The hand-written test accelerator (fixtures/tiny_accel.v) and its reference model: a 64 -> 32 dense
 * layer of signed 8-bit weights and inputs with exact sums. Used until the rtl stage generates designs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TINY_ACCEL = join(__dirname, 'fixtures', 'tiny_accel.v');
export const TINY = { inputs: 64, outputs: 32, outBits: 24, classBits: 5 };

/** A small deterministic generator (tests must not depend on Math.random). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 8;
  };
}

/** 256 words of 64 bits: word o*8 + c holds w[o][c*8 + j] in bits [8j+7 : 8j]. */
export function randomWeights(seed: number): string[] {
  const rnd = lcg(seed);
  const words: string[] = [];
  for (let i = 0; i < 256; i++) {
    let w = '';
    for (let j = 0; j < 8; j++) w = (rnd() & 255).toString(16).padStart(2, '0') + w;
    words.push(w);
  }
  return words;
}

export function writeWeights(file: string, words: string[]): void {
  writeFileSync(file, words.join('\n') + '\n');
}

const s8 = (b: number) => (b >= 128 ? b - 256 : b);

export function weight(words: string[], o: number, i: number): number {
  const word = words[o * 8 + (i >> 3)];
  const j = i & 7;
  return s8(parseInt(word.slice(14 - 2 * j, 16 - 2 * j), 16));
}

export function referenceLogits(words: string[], x: Uint8Array): number[] {
  const out: number[] = [];
  for (let o = 0; o < TINY.outputs; o++) {
    let acc = 0;
    for (let i = 0; i < TINY.inputs; i++) acc += weight(words, o, i) * s8(x[i]);
    out.push(acc);
  }
  return out;
}

export function argmax(v: number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

export function randomSamples(n: number, seed: number): Uint8Array[] {
  const rnd = lcg(seed);
  return Array.from({ length: n }, () => Uint8Array.from({ length: TINY.inputs }, () => rnd() & 255));
}
