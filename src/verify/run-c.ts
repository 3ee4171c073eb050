/**
 * Compiling the generated C with the host compiler and running its harness through the
 * file-to-memory interface (binary float32 in, binary float32 out, optional per-layer trace).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NumberKnobs } from '../qmodel/precision';
import { DeepMakerError } from '../util/errors';

export const STRICT_CFLAGS = ['-std=c99', '-pedantic', '-Wall', '-Wextra', '-Werror'];

/** The knobs as -D flags (what model.h's #ifndef defaults give way to). */
export function knobDefines(k: NumberKnobs): string[] {
  if (k.mode === 'float') return ['-DDM_FIXED=0'];
  return [
    '-DDM_FIXED=1',
    `-DDM_W_BITS=${k.weights.bits}`,
    `-DDM_W_INT=${k.weights.integer}`,
    `-DDM_B_BITS=${k.biases.bits}`,
    `-DDM_B_INT=${k.biases.integer}`,
    `-DDM_A_BITS=${k.activations.bits}`,
    `-DDM_A_INT=${k.activations.integer}`,
    `-DDM_ACC_BITS=${k.accumulatorBits}`,
    `-DDM_ROUNDING=${k.rounding === 'truncate' ? 'DM_TRUNCATE' : 'DM_HALF_EVEN'}`,
    `-DDM_OVERFLOW=${k.overflow === 'wrap' ? 'DM_WRAP' : 'DM_SATURATE'}`,
  ];
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], cwd: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new DeepMakerError(`the C compiler '${cmd}' was not found`, {}, 'install a C compiler (e.g. apt-get install gcc) or set verify.compiler'));
      else reject(e);
    });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface CompileOptions {
  compiler?: string;
  knobs: NumberKnobs;
  /** Output executable name inside dir. */
  exe: string;
  optimize?: string;
  /** e.g. ['-fsanitize=address,undefined', '-fno-sanitize-recover=all'] */
  extraFlags?: string[];
  /** false: compile with model.h's own defaults (no -D knobs). */
  defines?: boolean;
}

/** Compiles harness.c + model.c (+ weights.c) in `dir` with the strict flags; throws with the compiler's messages on failure. */
export async function compileHarness(dir: string, opts: CompileOptions): Promise<string> {
  const sources = ['harness.c', 'model.c', ...(existsSync(join(dir, 'weights.c')) ? ['weights.c'] : [])];
  const cc = opts.compiler ?? 'cc';
  const args = [...STRICT_CFLAGS, opts.optimize ?? '-O2', ...(opts.extraFlags ?? []), ...(opts.defines === false ? [] : knobDefines(opts.knobs)), '-o', opts.exe, ...sources, '-lm'];
  const r = await run(cc, args, dir);
  if (r.code !== 0) {
    throw new DeepMakerError(`the generated C does not compile (${cc} ${args.join(' ')}):\n${r.stderr.slice(0, 4000)}`, { file: dir });
  }
  return join(dir, opts.exe);
}

export interface HarnessRun {
  outputs: Float32Array;
  trace?: Float32Array;
  /** CPU seconds spent in dm_infer, as the harness measured it. */
  inferenceSeconds: number;
  samples: number;
}

/** Runs the harness on `count` samples of width `inputSize` (written as float32), reading back the outputs (and trace). */
export async function runHarness(exe: string, dir: string, x: Float32Array, count: number, inputSize: number, outputSize: number, opts: { tag: string; weightsDir?: string; trace?: boolean }): Promise<HarnessRun> {
  const inFile = join(dir, `${opts.tag}.in.f32`);
  const outFile = join(dir, `${opts.tag}.out.f32`);
  const traceFile = join(dir, `${opts.tag}.trace.f32`);
  writeFileSync(inFile, new Uint8Array(x.buffer, x.byteOffset, count * inputSize * 4));
  const args = [...(opts.weightsDir ? ['-w', opts.weightsDir] : []), ...(opts.trace ? ['-x', traceFile] : []), inFile, outFile];
  const r = await run(exe, args, dir);
  if (r.code !== 0) throw new DeepMakerError(`the C model failed (exit ${r.code}): ${r.stderr.slice(0, 4000)}`, { file: exe });
  const m = /samples (\d+), inference ([\d.]+) s/.exec(r.stderr);
  const bytes = readFileSync(outFile);
  const outputs = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  if (outputs.length !== count * outputSize) throw new DeepMakerError(`the C model wrote ${outputs.length} values, expected ${count * outputSize}`, { file: outFile });
  let trace: Float32Array | undefined;
  if (opts.trace) {
    const t = readFileSync(traceFile);
    trace = new Float32Array(t.buffer.slice(t.byteOffset, t.byteOffset + t.byteLength));
  }
  return { outputs, trace, inferenceSeconds: m ? Number(m[2]) : NaN, samples: m ? Number(m[1]) : count };
}
