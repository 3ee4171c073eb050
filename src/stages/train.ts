/**
 * The train stage: trains at full fidelity the architecture the nas stage selected
 * (dist/nas/selected.json) or the one written in the spec (train.architecture), measures the test
 * accuracy once at the end, and writes
 *   dist/train/model/{model.json, group1-shard*.bin}  TensorFlow.js layers format, logits out
 *   dist/train/architecture.json                       the Architecture trained
 *   dist/train/report.json                             TrainReport
 * When the spec names an existing model (`model:`), there is nothing to train: the report says so
 * and convert reads that model.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageContext } from './context';
import type { TrainSpec } from '../spec/types';
import { readDataReport, readSplit } from '../data/tensors';
import { DeepMakerError } from '../util/errors';
import { canonicalJson, readJson } from '../util/fs';
import type { ArchNode, Architecture } from '../nn/arch';
import { describeBackend } from '../nn/backend';
import { floatCheckpointKey, loadFloatCheckpoint, saveFloatCheckpoint } from '../nn/float-checkpoint';
import { architectureCost, type LayerCost } from '../nn/cost';
import { saveModel } from '../nn/save';
import { evaluate, trainArchitecture, type EpochRecord } from '../nn/train';
import { quantizationEnabled, quantizeTrainedModel, type QuantizeView } from '../quant/train-stage';
import { assertQuantizable, type QuantizationReport } from '../quant/qat';

export interface TrainView extends QuantizeView {
  train: TrainSpec;
  /** The spec's `model:` (an existing model): nothing to train. */
  model?: string;
}

export type TrainReport =
  | { skipped: true; reason: string }
  | {
      skipped: false;
      /** Where the architecture came from. */
      architectureSource: 'spec' | 'nas';
      validationAccuracy: number;
      validationLoss: number;
      testAccuracy: number;
      testLoss: number;
      params: number;
      macs: number;
      /** Kernel and bias values to store in hardware (BatchNorm folded). */
      weights: number;
      backend: 'node' | 'wasm' | 'cpu';
      /** e.g. "wasm (SIMD, 1 thread)". */
      backendDetail: string;
      workers: number;
      imagesPerSecond: number;
      epochs: number;
      bestEpoch: number;
      stoppedEarly: boolean;
      trainSamples: number;
      seconds: number;
      /** Quantization-aware runs: the float network was taken from the work folder's checkpoint of an earlier run, not trained in this one (history, epochs and imagesPerSecond are that run's). */
      floatFromCheckpoint?: boolean;
      history: EpochRecord[];
      layers: LayerCost[];
      files: string[];
      /** Quantization-aware training (quantize.mode fixed/ternary): testAccuracy above is the quantized model's. */
      quantization?: QuantizationReport['quantization'];
      sparsity?: QuantizationReport['sparsity'];
      weightBits?: number;
      weightMemory?: QuantizationReport['weightMemory'];
    };

/** The architecture to train: the spec's layer list, or nas's selected.json. */
export function resolveArchitecture(ctx: StageContext<TrainView>, input: number[], classes: number): { arch: Architecture; source: 'spec' | 'nas' } {
  const spec = ctx.spec.train.architecture;
  if (Array.isArray(spec)) return { arch: { input, classes, layers: spec as unknown as ArchNode[] }, source: 'spec' };
  const file = join(ctx.inputDir('nas'), 'selected.json');
  if (!existsSync(file)) {
    throw new DeepMakerError(
      'train.architecture is `selected` but there is no architecture selected by the nas stage',
      { file, where: 'train.architecture' },
      'run the nas stage (search.enabled: true), or write the layers under train.architecture (see models/lenet5/deepmaker.yaml)',
    );
  }
  const arch = readJson<Architecture>(file);
  if (arch.input.join('x') !== input.join('x') || arch.classes !== classes) {
    throw new DeepMakerError(`the selected architecture is for inputs [${arch.input}] and ${arch.classes} classes, the data has [${input}] and ${classes}`, { file }, 'rerun the nas stage on this data');
  }
  return { arch, source: 'nas' };
}

export async function runTrainStage(ctx: StageContext<TrainView>): Promise<void> {
  const report = (r: TrainReport) => writeFileSync(join(ctx.outDir, 'report.json'), canonicalJson(r));
  if (ctx.spec.model) {
    const reason = `the spec starts from an existing model (${ctx.spec.model}); convert reads it directly`;
    ctx.log.info(`nothing to train: ${reason}`);
    return report({ skipped: true, reason });
  }
  const started = Date.now();
  const t = ctx.spec.train;
  const dataDir = ctx.inputDir('data');
  const info = readDataReport(dataDir);
  const { arch, source } = resolveArchitecture(ctx, info.shape, info.classes);
  const cost = architectureCost(arch);
  if (quantizationEnabled(ctx.spec)) assertQuantizable(arch, ctx.spec.quantize!.mode);
  ctx.log.info(`architecture from ${source === 'spec' ? 'the spec' : 'nas'}: ${cost.params} params, ${cost.macs} MACs, ${cost.weights} stored weights`);
  const data = { train: readSplit(dataDir, 'train'), validation: readSplit(dataDir, 'validation') };

  const options = {
    batchSize: t.batchSize,
    learningRate: t.learningRate,
    schedule: t.schedule,
    optimizer: t.optimizer,
    seed: t.seed,
    earlyStopping: t.earlyStopping,
    backend: t.backend,
    workers: t.workers,
    augment: t.augment,
    batchNormStatistics: t.batchNormStatistics,
    log: ctx.log,
  };
  // Before a quantization-aware fine-tuning, the float network is kept in the work folder: a run interrupted after it
  // takes it from there (src/nn/float-checkpoint.ts).
  const checkpoint = quantizationEnabled(ctx.spec) ? floatCheckpointKey({ arch, options, epochs: t.epochs, data }) : undefined;
  const resumed = checkpoint ? await loadFloatCheckpoint(ctx.workDir, checkpoint, t.backend, ctx.log) : undefined;
  if (resumed) ctx.log.info(`float network from the checkpoint of an earlier run with the same architecture, options and data (${join(ctx.workDir, 'float-checkpoint')}; validation accuracy ${(resumed.validationAccuracy * 100).toFixed(2)}%); delete that folder to train it again`);
  const result = resumed ?? (await trainArchitecture(arch, data, { ...options, epochs: t.epochs }));
  if (checkpoint && !resumed) await saveFloatCheckpoint(ctx.workDir, checkpoint, result);

  // The test split is touched once per model, here, after every training decision was made.
  const testSplit = readSplit(dataDir, 'test');
  const test = evaluate(result.model, testSplit);
  ctx.log.info(`test accuracy ${(test.accuracy * 100).toFixed(2)}% on ${test.count} samples (validation ${(result.validationAccuracy * 100).toFixed(2)}%)`);

  // quantize.mode fixed/ternary: fine-tune quantization-aware from this float model (src/quant); the quantized model is the one handed on.
  const quantized = quantizationEnabled(ctx.spec)
    ? await quantizeTrainedModel({ view: ctx.spec, arch, data: { ...data, test: testSplit }, floatModel: result.model, train: options, modelDir: join(ctx.outDir, 'model'), floatAccuracy: { validation: result.validationAccuracy, test: test.accuracy } })
    : undefined;
  const modelFiles = quantized ? quantized.files : await saveModel(result.model, join(ctx.outDir, 'model'), { output: 'logits', classes: arch.classes });
  writeFileSync(join(ctx.outDir, 'architecture.json'), canonicalJson(arch));
  report({
    skipped: false,
    architectureSource: source,
    validationAccuracy: quantized ? quantized.validationAccuracy : result.validationAccuracy,
    validationLoss: quantized ? quantized.validationLoss : result.validationLoss,
    testAccuracy: quantized ? quantized.testAccuracy : test.accuracy,
    testLoss: quantized ? quantized.testLoss : test.loss,
    params: result.params,
    macs: result.macs,
    weights: cost.weights,
    backend: result.backend,
    backendDetail: describeBackend(result.backend),
    workers: result.workers,
    imagesPerSecond: result.imagesPerSecond,
    epochs: result.epochs,
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    trainSamples: result.trainSamples,
    seconds: (Date.now() - started) / 1000,
    ...(resumed ? { floatFromCheckpoint: true } : {}),
    history: result.history,
    layers: cost.layers,
    files: [...modelFiles.map((f) => `model/${f}`), 'architecture.json'],
    ...(quantized ? quantized.report : {}),
  });
  result.model.dispose();
}
