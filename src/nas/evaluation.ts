/**
 * One evaluation = one training of one architecture at one fidelity. Its identity is a content
 * address: sha256 over the canonical architecture, the fidelity, the training settings, the data's
 * hash, the search seed and the evaluator. The training seed is derived from that key, so a result
 * depends only on what is being evaluated, never on which worker ran it or in what order; and a
 * stored result can stand for a rerun.
 */
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { seedFromKey } from '../moo/rng';
import type { QuantizationPlan } from '../quant/config';
import type { Architecture } from '../nn/arch';
import type { Augmentation } from '../nn/augment';
import type { BatchNormStatistics } from '../nn/batchnorm-statistics';
import { canonicalJson, sha256, writeFileAtomically } from '../util/fs';

export interface Fidelity {
  /** Training epochs at this rung. */
  epochs: number;
  /** Training samples (a seeded subset of the training split; all of it when at least its size). */
  subset: number;
  /**
   * The subset keeps the training split's class proportions and is drawn from the search's seed, so
   * every candidate of a search is trained on the same samples. Absent (not false) for the plain
   * random subset drawn from each training's own seed, so that keys of searches without it are unchanged.
   */
  stratified?: true;
}

export interface SearchTraining {
  batchSize: number;
  learningRate: number;
  optimizer: 'adam' | 'sgd' | 'rmsprop';
  backend: 'auto' | 'node' | 'wasm' | 'cpu';
  /** Absent unless the spec augments, so keys of searches without augmentation are unchanged. */
  augment?: Augmentation;
  /** Absent unless the spec sets it, likewise. */
  batchNormStatistics?: BatchNormStatistics;
  /** Learning-rate schedule; only the confirmation rung sets it (cosine), so low-fidelity keys are unchanged. */
  schedule?: 'cosine';
  /**
   * Absent unless search.training.quantizedEpochs is set, so keys of float-ranked searches are
   * unchanged: the quantize plan (formats, ternary options; fineTune.epochs = quantizedEpochs).
   * After the float training, the candidate's quantized twin is fine-tuned from it and its
   * validation error is the candidate's error: what the C and the RTL will compute.
   */
  quantize?: QuantizationPlan;
  /** Absent except in a confirmation with the train stage's recipe (search.fidelity.final.recipe train): train.earlyStopping. */
  earlyStopping?: { patience: number };
  /**
   * Absent except in a confirmation with the train stage's recipe: train.seed, the training's seed (otherwise derived
   * from the key), so that the confirmed network trains exactly as the train stage will train it.
   */
  seed?: number;
}

/**
 * The seed a stratified subset is drawn from: a function of the search seed alone, so that every
 * candidate of a search (on any machine: queue workers derive it from the job's search seed) trains
 * on the same samples.
 */
export function stratifiedSubsetSeed(searchSeed: number): number {
  return seedFromKey(`subset:${searchSeed}`);
}

export interface EvaluationTask {
  key: string;
  arch: Architecture;
  fidelity: Fidelity;
  training: SearchTraining;
  /** Derived from the key (seedFromKey). */
  seed: number;
  /** With a stratified fidelity: the seed the subset is drawn from (derived from the search seed, the same for every candidate). */
  subsetSeed?: number;
  /** dist/data of the project. */
  dataDir: string;
}

export interface EvaluationResult {
  /** 1 - validation accuracy. */
  error: number;
  validationAccuracy: number;
  validationLoss?: number;
  /** Epochs run. */
  epochs: number;
  /** Wall time of the training, seconds. */
  seconds: number;
  imagesPerSecond?: number;
  backend?: string;
  /** With training.quantize: the float network's error before fine-tuning its quantized twin. */
  floatError?: number;
  /** Who trained it (`host:pid`, or a queue worker's name); informative only, never part of a result's meaning. */
  worker?: string;
}

/** A module exporting an Evaluator under `name`; `module` is an absolute path without extension (so it loads from src/ under tsx and from build/). */
export interface EvaluatorRef {
  module: string;
  name: string;
  /** Part of every key: bump when the evaluator's results change meaning. */
  version: string;
}

export type Evaluator = (task: EvaluationTask, progress: (msg: string) => void) => Promise<EvaluationResult>;

export interface KeyParts {
  arch: Architecture;
  fidelity: Fidelity;
  training: SearchTraining;
  dataHash: string;
  seed: number;
  evaluator: EvaluatorRef;
}

export function evaluationKey(p: KeyParts): string {
  return sha256(
    canonicalJson(
      {
        arch: p.arch,
        fidelity: { epochs: p.fidelity.epochs, subset: p.fidelity.subset, ...(p.fidelity.stratified ? { stratified: true } : {}) },
        training: p.training,
        data: p.dataHash,
        seed: p.seed,
        evaluator: `${p.evaluator.name}@${p.evaluator.version}`,
      },
      0,
    ),
  );
}

export interface StoredEvaluation {
  key: string;
  fidelity: Fidelity;
  result: EvaluationResult;
}

/**
 * Finished evaluations, one JSON file per key (evals/<first two hex>/<key>.json), each written
 * through a temporary file and a rename: a kill at any moment leaves either the whole record or
 * none, and nothing ever has to be repaired before a rerun.
 */
export class EvaluationStore {
  constructor(readonly dir: string) {}

  private file(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  get(key: string): StoredEvaluation | undefined {
    const f = this.file(key);
    if (!existsSync(f)) return undefined;
    try {
      const rec = JSON.parse(readFileSync(f, 'utf8')) as StoredEvaluation;
      return rec.key === key ? rec : undefined;
    } catch {
      return undefined; // unreadable: evaluate again (and overwrite)
    }
  }

  put(rec: StoredEvaluation): void {
    writeFileAtomically(this.file(rec.key), JSON.stringify(rec) + '\n');
  }
}
