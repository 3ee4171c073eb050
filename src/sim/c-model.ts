/**
 * The C fixed-point model (dist/convert) as the reference of the simulations: compiled once in a work
 * folder, run through its file-to-memory harness with `-r` (the stored integers of the outputs).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NumberKnobs } from '../qmodel/precision';
import { compileHarness, run } from '../verify/run-c';
import { DeepMakerError } from '../util/errors';
import { sha256 } from '../util/fs';

/** Compiles dist/convert's C (cached by the hash of its sources) and returns the harness path. */
export async function buildCModel(convertDir: string, knobs: NumberKnobs, workDir: string, compiler?: string): Promise<string> {
  const parts = ['harness.c', 'model.c', 'model.h', 'weights.c', 'weights.h'].filter((f) => existsSync(join(convertDir, f)));
  const hash = sha256(parts.map((f) => sha256(readFileSync(join(convertDir, f)))).join(',') + JSON.stringify(knobs) + (compiler ?? '')).slice(0, 16);
  const dir = join(workDir, `c-${hash}`);
  const exe = join(dir, 'harness');
  if (existsSync(exe)) return exe;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of parts) cpSync(join(convertDir, f), join(dir, f));
  if (existsSync(join(convertDir, 'weights'))) cpSync(join(convertDir, 'weights'), join(dir, 'weights'), { recursive: true });
  await compileHarness(dir, { knobs, exe: 'harness', compiler });
  return exe;
}

/** Runs the C model on `count` float32 samples; returns the stored integers of its outputs per sample. */
export async function runCModelRaw(exe: string, x: Float32Array, count: number, inputSize: number, outputSize: number, tag = 'sim'): Promise<Int32Array[]> {
  const dir = join(exe, '..');
  const inFile = join(dir, `${tag}.in.f32`);
  const outFile = join(dir, `${tag}.raw.txt`);
  writeFileSync(inFile, new Uint8Array(x.buffer, x.byteOffset, count * inputSize * 4));
  const args = ['-r', ...(existsSync(join(dir, 'weights')) ? ['-w', join(dir, 'weights')] : []), inFile, outFile];
  const r = await run(exe, args, dir);
  if (r.code !== 0) throw new DeepMakerError(`the C model failed (exit ${r.code}): ${r.stderr.slice(0, 2000)}`, { file: exe });
  const lines = readFileSync(outFile, 'utf8').trim().split('\n');
  if (lines.length !== count) throw new DeepMakerError(`the C model wrote ${lines.length} results for ${count} samples`, { file: outFile });
  return lines.map((l, i) => {
    const v = Int32Array.from(l.trim().split(/\s+/).map(Number));
    if (v.length !== outputSize) throw new DeepMakerError(`the C model wrote ${v.length} values for sample ${i}, expected ${outputSize}`, { file: outFile, line: i + 1 });
    return v;
  });
}
