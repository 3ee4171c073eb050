/** Shared by the C tests: generate, compile with the strict flags (optionally sanitized), run through the harness. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateC, writeGeneratedC, type GeneratedC } from '../../src/cgen';
import type { NumberKnobs } from '../../src/qmodel/precision';
import { DEFAULT_KNOBS } from '../../src/qmodel/precision';
import type { ModelIR } from '../../src/ir/types';
import { compileHarness, run, runHarness } from '../../src/verify/run-c';


export const SANITIZE = ['-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'];

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `dm-${prefix}-`));
}

export const FLOAT: NumberKnobs = { ...DEFAULT_KNOBS, mode: 'float' };
export const FIXED16: NumberKnobs = { ...DEFAULT_KNOBS, mode: 'fixed' };

export interface Built {
  dir: string;
  gen: GeneratedC;
  exe: string;
}

export async function buildC(model: ModelIR, knobs: NumberKnobs, opts: { sanitize?: boolean; storage?: 'arrays' | 'files'; dir?: string } = {}): Promise<Built> {
  const dir = opts.dir ?? tmp('c');
  const gen = generateC(model, { knobs, weightStorage: opts.storage ?? 'files' });
  writeGeneratedC(dir, gen);
  const exe = await compileHarness(dir, {
    knobs,
    exe: `h-${knobs.mode}${opts.sanitize ? '-san' : ''}-${Math.random().toString(36).slice(2, 8)}`,
    optimize: opts.sanitize ? '-O1' : '-O2',
    extraFlags: opts.sanitize ? SANITIZE : [],
  });
  return { dir, gen, exe };
}

export async function runFloat(b: Built, x: Float32Array, count: number): Promise<Float32Array> {
  const r = await runHarness(b.exe, b.dir, x, count, b.gen.inputSize, b.gen.outputSize, { tag: `run-${Math.random().toString(36).slice(2, 8)}`, weightsDir: join(b.dir, 'weights') });
  return r.outputs;
}

/** The stored integers of the outputs (harness -r). */
export async function runRaw(b: Built, x: Float32Array, count: number): Promise<number[]> {
  const tag = Math.random().toString(36).slice(2, 8);
  const inFile = join(b.dir, `${tag}.in.f32`), outFile = join(b.dir, `${tag}.raw.dat`);
  writeFileSync(inFile, new Uint8Array(x.buffer, x.byteOffset, count * b.gen.inputSize * 4));
  const r = await run(b.exe, ['-r', '-w', join(b.dir, 'weights'), inFile, outFile], b.dir);
  if (r.code !== 0) throw new Error(`harness failed: ${r.stderr}`);
  return readFileSync(outFile, 'utf8').trim().split(/\s+/).map(Number);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
