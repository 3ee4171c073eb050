/**
 * The real evaluator: trains the candidate with src/nn's trainer at the task's fidelity (a seeded
 * subset of the training split, a few epochs) and measures the validation error. With
 * training.quantize (search.training.quantizedEpochs), the candidate's quantized twin is then
 * fine-tuned from the float weights on the same samples, with inputs quantized as the C quantizes
 * them, and its validation error is the result (quant/qat.ts fineTuneQuantized, what the train stage
 * does). Runs inside a worker process; the data is read once per process.
 */
import { readSplit, type Split } from '../data/tensors';
import type { FixedFormat } from '../numerics/fixed';
import { trainArchitecture, type EpochRecord, type TrainResult } from '../nn/train';
import { fineTuneQuantized, quantizeInputs } from '../quant/qat';
import type { EvaluationResult, EvaluationTask, EvaluatorRef } from './evaluation';

export const TRAIN_EVALUATOR: EvaluatorRef = { module: __filename.replace(/\.[cm]?[jt]s$/, ''), name: 'trainEvaluator', version: '1' };

let cached: { dir: string; train: Split; validation: Split; quantized?: { format: string; train: Split; validation: Split } } | undefined;

function data(dir: string) {
  if (!cached || cached.dir !== dir) cached = { dir, train: readSplit(dir, 'train'), validation: readSplit(dir, 'validation') };
  return cached;
}

/** The splits with inputs quantized to `f`, kept for the next task of this process. */
function quantizedData(dir: string, f: FixedFormat) {
  const d = data(dir);
  const format = JSON.stringify(f);
  if (d.quantized?.format !== format) d.quantized = { format, train: quantizeInputs(d.train, f), validation: quantizeInputs(d.validation, f) };
  return d.quantized;
}

export async function trainEvaluator(task: EvaluationTask, progress: (msg: string) => void): Promise<EvaluationResult> {
  const d = data(task.dataDir);
  const started = Date.now();
  const options = {
    batchSize: task.training.batchSize,
    learningRate: task.training.learningRate,
    optimizer: task.training.optimizer,
    backend: task.training.backend,
    augment: task.training.augment,
    batchNormStatistics: task.training.batchNormStatistics,
    seed: task.seed,
    subset: task.fidelity.subset,
    stratifySubset: task.fidelity.stratified ? { seed: task.subsetSeed ?? task.seed } : undefined,
    schedule: task.training.schedule,
    earlyStopping: task.training.earlyStopping,
    workers: 1,
  };
  const r = await trainArchitecture(task.arch, { train: d.train, validation: d.validation }, { ...options, epochs: task.fidelity.epochs, onEpoch: epochProgress(progress, task.fidelity.epochs) });
  const plan = task.training.quantize;
  if (!plan) {
    r.model.dispose();
    return trainingResult(r, started);
  }
  const q = await fineTuneQuantized({
    arch: task.arch,
    floatModel: r.model,
    plan,
    data: quantizedData(task.dataDir, plan.activations!),
    train: { ...options, onEpoch: epochProgress((m) => progress(`${plan.mode} ${m}`), plan.fineTune.epochs) },
  });
  r.model.dispose();
  q.training.model.dispose();
  return { ...trainingResult(q.training, started), epochs: r.epochs + q.training.epochs, floatError: 1 - r.validationAccuracy };
}

/** The progress line of each training epoch, for a worker's progress channel. */
export function epochProgress(progress: (msg: string) => void, epochs: number): (e: EpochRecord) => void {
  return (e) => progress(`epoch ${e.epoch}/${epochs}: loss ${e.loss.toFixed(4)}, validation accuracy ${e.validationAccuracy.toFixed(4)}, ${Math.round(e.imagesPerSecond)} images/s`);
}

/** What an evaluation reports of a finished training (started: Date.now() before it). */
export function trainingResult(r: TrainResult, started: number): EvaluationResult {
  return {
    error: 1 - r.validationAccuracy,
    validationAccuracy: r.validationAccuracy,
    validationLoss: r.validationLoss,
    epochs: r.epochs,
    seconds: (Date.now() - started) / 1000,
    imagesPerSecond: r.imagesPerSecond,
    backend: r.backend,
  };
}
