/**
 * The nas-regret bench's full-fidelity evaluator: trains a network as the train stage does (its
 * epochs, batch size, learning rate and schedule, optimizer, early stopping, seed; float, no
 * quantization) on all the training data, and measures the validation and the test accuracy. Runs
 * in the search's worker processes (src/nas/pool.ts), and its results go into the evaluation store
 * under keys that hold every one of those settings, so an interrupted bench takes them from there.
 */
import { readSplit, type Split } from '../src/data/tensors';
import type { EvaluationResult, EvaluationTask, EvaluatorRef, SearchTraining } from '../src/nas/evaluation';
import { evaluate, trainArchitecture } from '../src/nn/train';
import { epochProgress, trainingResult } from '../src/nas/train-evaluator';

export const FULL_FIDELITY_EVALUATOR: EvaluatorRef = { module: __filename.replace(/\.[cm]?[jt]s$/, ''), name: 'fullFidelityEvaluator', version: '1' };

/** search.training's fields plus the train stage's that a full training needs. */
export interface FullTraining extends SearchTraining {
  schedule?: 'cosine';
  earlyStopping?: { patience: number };
}

export interface FullResult extends EvaluationResult {
  testAccuracy: number;
  testCount: number;
  bestEpoch: number;
}

let cached: { dir: string; train: Split; validation: Split; test: Split } | undefined;

export async function fullFidelityEvaluator(task: EvaluationTask, progress: (msg: string) => void): Promise<FullResult> {
  if (!cached || cached.dir !== task.dataDir) cached = { dir: task.dataDir, train: readSplit(task.dataDir, 'train'), validation: readSplit(task.dataDir, 'validation'), test: readSplit(task.dataDir, 'test') };
  const t = task.training as FullTraining;
  const started = Date.now();
  const r = await trainArchitecture(task.arch, { train: cached.train, validation: cached.validation }, {
    epochs: task.fidelity.epochs,
    batchSize: t.batchSize,
    learningRate: t.learningRate,
    optimizer: t.optimizer,
    backend: t.backend,
    schedule: t.schedule,
    earlyStopping: t.earlyStopping,
    augment: t.augment,
    batchNormStatistics: t.batchNormStatistics,
    seed: task.seed,
    workers: 1,
    onEpoch: epochProgress(progress, task.fidelity.epochs),
  });
  const test = evaluate(r.model, cached.test);
  r.model.dispose();
  return { ...trainingResult(r, started), bestEpoch: r.bestEpoch, testAccuracy: test.accuracy, testCount: test.count };
}
