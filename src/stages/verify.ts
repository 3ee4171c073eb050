/**
 * The verify stage: dist/convert (the IR, the C, the knobs, the source model) + dist/data (the
 * test split) -> dist/verify/{report.json, precision-sweep.svg, trace.json}. The delivered C
 * (dist/convert as written) is also compiled as is and must give exactly the outputs of the build
 * verification uses.
 */
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readSplit } from '../data/tensors';
import { importModel } from '../importers';
import { readModelIR } from '../ir/serialize';
import type { NumberKnobs } from '../qmodel/precision';
import type { StageContext } from './context';
import { DeepMakerError } from '../util/errors';
import { readJson } from '../util/fs';
import { compileHarness, runHarness } from '../verify/run-c';
import { formatVerification, writeVerification } from '../verify/report';
import { verifyC } from '../verify/verify';
import { checkQuantizedReference } from '../quant/verify';

import type { VerifySpec } from '../spec/types';
export type { VerifySpec };

export async function runVerifyStage(ctx: StageContext<{ verify: VerifySpec }>): Promise<void> {
  const spec = ctx.spec.verify ?? {};
  const convDir = ctx.inputDir('convert');
  const model = readModelIR(convDir);
  const knobs = readJson<NumberKnobs>(join(convDir, 'knobs.json'));
  const conv = readJson<{ source: { copy: string; weights?: string }; inputSize: number; outputSize: number }>(join(convDir, 'report.json'));
  const test = readSplit(ctx.inputDir('data'), 'test');
  const width = test.shape.reduce((a, b) => a * b, 1);
  if (width !== conv.inputSize) {
    throw new DeepMakerError(`the test samples have ${width} values ([${test.shape.join(', ')}]) but the model takes ${conv.inputSize}`, { file: join(ctx.inputDir('data'), 'test_x.npy') }, 'the model was not made for this dataset');
  }
  const n = Math.min(spec.samples ?? 10000, test.count);
  // The sweep chooses integer bits on validation samples when dist/data has them; test samples are only measured.
  let search: { x: Float32Array; count: number; labels: Int32Array } | undefined;
  if (existsSync(join(ctx.inputDir('data'), 'validation_x.npy'))) {
    const v = readSplit(ctx.inputDir('data'), 'validation');
    search = { x: v.x, count: v.count, labels: v.y };
  }
  const source = join(convDir, conv.source.copy);
  const imported = await importModel(source, { weights: conv.source.weights ? join(convDir, conv.source.weights) : undefined });
  const result = await verifyC({
    model,
    imported,
    modelFile: source,
    x: test.x,
    count: n,
    labels: test.y.subarray(0, n),
    fixed: knobs,
    sweep: spec.sweep ?? [4, 6, 8, 10, 12, 16],
    tolerance: spec.tolerance ?? 0.01,
    compiler: spec.compiler,
    workDir: ctx.workDir,
    log: ctx.log,
    traceSamples: spec.traceSamples,
    searchSamples: spec.searchSamples,
    searchRadius: spec.searchRadius,
    search,
    sanitizeSamples: spec.sanitizeSamples ?? 20,
    backend: spec.backend,
  });
  // The delivered C, compiled as written (its model.h defaults), against the same build here.
  const delivered = join(ctx.workDir, 'delivered');
  rmSync(delivered, { recursive: true, force: true });
  mkdirSync(delivered, { recursive: true });
  for (const f of ['model.h', 'model.c', 'harness.c', 'weights.c', 'weights.h', 'weights']) {
    if (existsSync(join(convDir, f))) cpSync(join(convDir, f), join(delivered, f), { recursive: true });
  }
  const exe = await compileHarness(delivered, { compiler: spec.compiler, knobs, exe: 'harness', defines: false });
  const dn = Math.min(n, 200);
  const run = await runHarness(exe, delivered, test.x, dn, conv.inputSize, conv.outputSize, { tag: 'delivered', weightsDir: join(delivered, 'weights') });
  const mine = knobs.mode === 'float' ? result.outputs.float : result.outputs.fixed;
  let differing = 0;
  for (let i = 0; i < run.outputs.length; i++) if (run.outputs[i] !== mine[i]) differing++;
  if (differing) throw new DeepMakerError(`the delivered C (dist/convert, compiled as written) differs from the verified build on ${differing} output values`, { file: convDir }, 'rerun convert; if it persists, report a bug');
  ctx.log.info(`the delivered C (${knobs.mode}, as written) compiles with ${spec.compiler ?? 'cc'} -std=c99 -pedantic -Wall -Wextra -Werror and gives the verified outputs on ${dn} samples`);
  // Fixed point: the TF.js integer reference must give the C's very integers (src/quant/verify.ts),
  // recurrent, average and multiply layers included.
  const quantizedReference = knobs.mode === 'fixed' ? checkQuantizedReference(model, knobs, test.x, n, result.outputs.fixed, ctx.log) : undefined;
  // A quantization-aware trained model: its TF.js graph (model.json) runs in float, without the
  // trained quantizers (ternary weights and thresholds, fixed-point rounding), so its accuracy is
  // not the delivered network's; say so beside the figure.
  const trainedQuantized = model.layers.some((l) => l.precision !== undefined || l.activation.thresholds !== undefined);
  const referenceNote = trainedQuantized
    ? { referenceNote: 'quantization-aware trained model: `reference` is its TF.js graph (model.json) run in float, without the trained quantizers; the delivered network is `fixed` (C), and `quantizedReference` checks it integer for integer against TF.js' }
    : {};
  ctx.log.info(formatVerification(result) + (trainedQuantized ? `\nnote: ${referenceNote.referenceNote}` : ''));
  writeVerification(ctx.outDir, result, { delivered: { mode: knobs.mode, samples: dn, identical: true }, ...(quantizedReference ? { quantizedReference } : {}), ...referenceNote });
}
