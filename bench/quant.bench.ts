/**
 * Quantization on MNIST (the README "Quantization" table): the float model of
 * models/mnist-ternary's architecture, then, fine-tuned from it, ternary weights and activations,
 * ternary weights only, and 8-bit fixed point. For each: TF.js test accuracy, the accuracy of the
 * generated fixed-point C on every test image, how many images the C and the TF.js integer
 * reference give identical integer logits on, sparsity and weight bits.
 *
 * The data come from the data stage (the same split as `nx run mnist-ternary:train`), training is
 * deterministic for the seed, so the figures are the project's. It trains for real: expect 30-60
 * minutes on 2 cores. BENCH_QUANT_EPOCHS overrides the 6 float epochs (the fine-tuning epochs are
 * the table's); BENCH_QUANT_SUBSET trains on that many images only (a quick smoke run).
 * Usage: npm run bench -- quant
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { recordBench, timed } from './util';
import { readSplit } from '../src/data/tensors';
import { generateC, writeGeneratedC, type NumberKnobs } from '../src/cgen';
import { importForConversion } from '../src/cgen/convert';
import type { Architecture } from '../src/nn/arch';
import { evaluate, trainArchitecture } from '../src/nn/train';
import { saveModel } from '../src/nn/save';
import { runStage } from '../src/stages/run';
import { resolveQuantization, type QuantizeSpec } from '../src/quant/config';
import { writeQuantizationFile } from '../src/qmodel/file';
import { quantizationAwareTraining } from '../src/quant/qat';
import { runQuantizedReference } from '../src/quant/reference';
import { loadSpec } from '../src/spec/load';
import { silentLogger } from '../src/util/log';

const PROJECT = join(__dirname, '..', 'models', 'mnist-ternary');

const MODES: { name: string; quantize: QuantizeSpec }[] = [
  { name: 'ternary weights and activations', quantize: { mode: 'ternary', activations: { bits: 8, integer: 4 }, ternary: { activations: true }, fineTune: { epochs: 3 } } },
  { name: 'ternary weights', quantize: { mode: 'ternary', activations: { bits: 8, integer: 4 }, ternary: { activations: false }, fineTune: { epochs: 2 } } },
  { name: 'fixed 8-bit', quantize: { mode: 'fixed', weights: { bits: 8, integer: 1 }, activations: { bits: 8, integer: 4 }, fineTune: { epochs: 1 } } },
];

/** The generated fixed-point C run on every sample: the stored integer logits, per sample. */
function runC(dir: string, gen: ReturnType<typeof generateC>, x: Float32Array, count: number): number[][] {
  writeGeneratedC(dir, gen);
  const cc = spawnSync('cc', ['-std=c99', '-O2', '-DDM_FIXED=1', '-o', 'harness', 'harness.c', 'model.c', ...(gen.files['weights.c'] ? ['weights.c'] : []), '-lm'], { cwd: dir, encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(cc.stderr);
  writeFileSync(join(dir, 'in.f32'), new Uint8Array(x.buffer, x.byteOffset, count * gen.inputSize * 4));
  const run = spawnSync('./harness', ['-r', 'in.f32', 'out.dat'], { cwd: dir, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return readFileSync(join(dir, 'out.dat'), 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'dm-quant-bench-'));
  writeFileSync(join(work, 'deepmaker.yaml'), 'name: quant-bench\ndata:\n  dataset: mnist\n');
  await runStage('spec', work, join(__dirname, '..'), silentLogger);
  await runStage('data', work, join(__dirname, '..'), silentLogger);
  const dataDir = join(work, 'dist', 'data');
  const data = { train: readSplit(dataDir, 'train'), validation: readSplit(dataDir, 'validation'), test: readSplit(dataDir, 'test') };
  const spec = loadSpec(join(PROJECT, 'deepmaker.yaml'));
  const arch: Architecture = { input: data.train.shape, classes: 10, layers: spec.train.architecture as unknown as Architecture['layers'] };
  const t = spec.train;
  const subset = process.env.BENCH_QUANT_SUBSET ? Number(process.env.BENCH_QUANT_SUBSET) : undefined;
  const base = { batchSize: t.batchSize, learningRate: t.learningRate, optimizer: t.optimizer, seed: t.seed, earlyStopping: t.earlyStopping, backend: t.backend, subset };
  const loadBefore = loadavg()[0];
  const [float, floatSeconds] = await timed(() => trainArchitecture(arch, data, { ...base, epochs: Number(process.env.BENCH_QUANT_EPOCHS ?? t.epochs) }));
  const floatTest = evaluate(float.model, data.test).accuracy;
  const figures: Record<string, unknown> = { architecture: arch.layers, backend: float.backend, trainSamples: float.trainSamples, float: { testAccuracy: floatTest, validationAccuracy: float.validationAccuracy, epochs: float.epochs, seconds: floatSeconds } };
  for (const m of MODES) {
    const plan = resolveQuantization(m.quantize, { rounding: 'half-even', overflow: 'saturate' });
    const [r, seconds] = await timed(() => quantizationAwareTraining({ arch, data, floatModel: float.model, plan, train: base, ebrBits: 30 * 4096, floatAccuracy: { validation: float.validationAccuracy, test: floatTest } }));
    const dir = mkdtempSync(join(work, 'model-'));
    await saveModel(r.exported, dir);
    writeQuantizationFile(dir, r.file);
    const { model: ir, quant } = await importForConversion(join(dir, 'model.json'));
    const q = quant!;
    const knobs: NumberKnobs = { mode: 'fixed', weights: q.weights ?? { bits: 8, integer: 1 }, biases: { bits: q.biasBits, integer: 6 }, activations: q.activations, accumulatorBits: 0, rounding: q.rounding, overflow: q.overflow };
    const n = data.test.count;
    const c = runC(join(dir, 'c'), generateC(ir, { knobs, weightStorage: 'arrays' }), data.test.x, n);
    const ref = runQuantizedReference(ir, knobs, data.test.x, n);
    let correct = 0, identical = 0;
    c.forEach((v, i) => {
      if (v.indexOf(Math.max(...v)) === data.test.y[i]) correct++;
      if (v.join() === Array.from(ref.raw.subarray(i * ref.outputSize, (i + 1) * ref.outputSize)).join()) identical++;
    });
    const rep = r.report;
    figures[m.name] = {
      quantize: m.quantize,
      testAccuracy: rep.quantization.quantized.testAccuracy,
      cTestAccuracy: correct / n,
      deltaPoints: rep.quantization.testAccuracyDeltaPoints,
      identicalLogits: { c: identical, of: n },
      sparsity: { weights: rep.sparsity.weights, activations: rep.sparsity.activations },
      weightBits: rep.weightBits,
      fitsUp5kEbr: rep.weightMemory.fits,
      fineTuneSeconds: seconds,
    };
    r.model.dispose();
    r.exported.dispose();
  }
  figures.loadAverage = { before: loadBefore, after: loadavg()[0] };
  recordBench('quant', figures);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
