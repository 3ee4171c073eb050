/**
 * Shared by the quantization tests: a tiny architecture trained for a few steps with ternary (or
 * fixed) quantization, exported as the train stage does (standard TF.js model + quantization.json),
 * converted to the IR with the real importer and passes, and the generated C compiled and run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { generateC, writeGeneratedC, type NumberKnobs } from '../../src/cgen';
import { importModel } from '../../src/importers';
import { normalize } from '../../src/ir/passes/normalize';
import type { ModelIR } from '../../src/ir/types';
import type { Architecture } from '../../src/nn/arch';
import { saveModel } from '../../src/nn/save';
import { resolveQuantization, type QuantizeSpec } from '../../src/quant/config';
import { readQuantizationFile, writeQuantizationFile } from '../../src/qmodel/file';
import { annotateImportedModel, applyQuantization } from '../../src/qmodel/apply';
import { buildQuantizedModel } from '../../src/quant/model';
import { exportStandardModel, quantizationFileOf } from '../../src/quant/qat';

/** Deterministic pseudo-random values in [0, 1). */
export function uniform(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  });
}

/** 8x8 single-channel inputs: conv -> maxpool -> depthwise with BatchNormalization -> dense classifier. */
export const TINY_ARCH: Architecture = {
  input: [8, 8, 1],
  classes: 3,
  layers: [
    { type: 'conv2d', filters: 4, kernel: 3, padding: 'same', activation: 'relu' },
    { type: 'maxpool2d', pool: 2 },
    { type: 'depthwise_conv2d', kernel: 3, padding: 'same', activation: 'relu', batchnorm: true },
    { type: 'conv2d', filters: 5, kernel: 2, stride: 2, activation: 'relu' },
    { type: 'dense', units: 3 },
  ],
};

export interface ConvertedModel {
  ir: ModelIR;
  quantModel: tf.LayersModel;
  dir: string;
}

/**
 * The quantization-aware model of `arch` after `steps` SGD steps on random labels (so kernels and
 * moving thresholds are not at their initial values) and with non-trivial BN statistics, saved
 * and converted.
 */
export async function trainedAndConverted(arch: Architecture, spec: QuantizeSpec, seed = 3, steps = 5): Promise<ConvertedModel> {
  const plan = resolveQuantization(spec, { rounding: 'half-even', overflow: 'saturate' });
  const model = buildQuantizedModel(arch, seed, plan);
  const n = 32;
  const size = arch.input.reduce((a, b) => a * b, 1);
  const x = tf.tensor(uniform(n * size, seed), [n, ...arch.input]);
  const y = tf.oneHot(tf.tensor1d(Array.from(uniform(n, seed + 1), (v) => Math.floor(v * arch.classes)), 'int32'), arch.classes);
  const opt = tf.train.sgd(0.05);
  for (let step = 0; step < steps; step++) {
    opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
  }
  // One forward pass in training mode at least: it sets the moving Δ of ternary activations.
  if (steps === 0) tf.tidy(() => {
    model.apply(x, { training: true });
  });
  // Non-trivial BatchNormalization statistics (including a negative gamma) so folding is exercised.
  for (const l of model.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    const c = l.getWeights()[0].shape[0];
    const r = uniform(4 * c, seed + 7);
    l.setWeights([
      tf.tensor1d(Array.from({ length: c }, (_, i) => (i === 0 ? -0.8 : 0.5 + r[i]))),
      tf.tensor1d(Array.from({ length: c }, (_, i) => r[c + i] - 0.5)),
      tf.tensor1d(Array.from({ length: c }, (_, i) => r[2 * c + i] * 0.2)),
      tf.tensor1d(Array.from({ length: c }, (_, i) => 0.5 + r[3 * c + i])),
    ]);
  }
  const dir = mkdtempSync(join(tmpdir(), 'dm-quant-'));
  const modelDir = join(dir, 'model');
  await saveModel(exportStandardModel(arch, seed, model), modelDir, { output: 'logits', classes: arch.classes });
  writeQuantizationFile(modelDir, quantizationFileOf(model, plan));
  const q = readQuantizationFile(modelDir)!;
  const imported = await importModel(join(modelDir, 'model.json'));
  annotateImportedModel(imported, q);
  const ir = applyQuantization(normalize(imported), q);
  return { ir, quantModel: model, dir };
}

export function fixedKnobs(q: { activations: { bits: number; integer: number } }): NumberKnobs {
  return { mode: 'fixed', weights: { bits: 8, integer: 1 }, biases: { bits: 16, integer: 6 }, activations: q.activations, accumulatorBits: 0, rounding: 'half-even', overflow: 'saturate' };
}

/** Generates, compiles (strict C99) and runs the C on `count` samples; returns the raw integer outputs (fixed) or values (float). */
export function runGeneratedC(ir: ModelIR, knobs: NumberKnobs, x: Float32Array, count: number, dir: string, opts: { storage?: 'arrays' | 'files' } = {}): { values: number[][]; modelC: string } {
  const gen = generateC(ir, { knobs, weightStorage: opts.storage ?? 'arrays' });
  const out = join(dir, `c-${knobs.mode}-${opts.storage ?? 'arrays'}`);
  writeGeneratedC(out, gen);
  const sources = ['harness.c', 'model.c', ...(gen.files['weights.c'] ? ['weights.c'] : [])];
  const cc = spawnSync('cc', ['-std=c99', '-pedantic', '-Wall', '-Wextra', '-Werror', '-O1', `-DDM_FIXED=${knobs.mode === 'fixed' ? 1 : 0}`, '-o', 'harness', ...sources, '-lm'], { cwd: out, encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc failed:\n${cc.stderr}`);
  writeFileSync(join(out, 'in.f32'), new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  const args = [...(knobs.mode === 'fixed' ? ['-r'] : []), 'in.f32', 'out.dat'];
  const run = spawnSync('./harness', args, { cwd: out, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`harness failed:\n${run.stderr}`);
  const values = readFileSync(join(out, 'out.dat'), 'utf8').trim().split('\n').map((line) => line.trim().split(/\s+/).map(Number));
  if (values.length !== count) throw new Error(`harness wrote ${values.length} samples, expected ${count}`);
  return { values, modelC: gen.files['model.c'] };
}
