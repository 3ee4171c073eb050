/**
 * One copy of the model being trained, with its optimizer: what the main thread holds and what
 * each extra training worker (train-worker.ts) holds. A training step is split into
 * `computeGradients` (this replica's share of the batch) and `applyGradients` (the summed update),
 * so that replicas on several cores apply bit-identical updates and stay equal.
 *
 * The loss of a share is sum_i CE(logits_i, y_i) / batchSize over the share's rows, so the sum of
 * every share's gradient is exactly the gradient of the batch's mean loss whatever the split.
 */
import * as tf from '@tensorflow/tfjs';
import type { Architecture } from './arch';
import { augments, translateBatch, type Augmentation } from './augment';
import { buildModel } from './build';

export type OptimizerName = 'adam' | 'sgd' | 'rmsprop';

/**
 * Where a custom model builder lives (quantization-aware training): a module exporting
 * `exportName(arch, seed, options) => tf.LayersModel`. A module path rather than a function so that
 * training workers on other threads can build the same model (functions do not cross threads).
 */
export interface ModelFactoryRef {
  module: string;
  exportName: string;
  options?: unknown;
}

export interface ReplicaSpec {
  arch: Architecture;
  seed: number;
  optimizer: OptimizerName;
  learningRate: number;
  modelFactory?: ModelFactoryRef;
  /** Training-time augmentation of every batch (augment.ts). */
  augment?: Augmentation;
}

/** A batch share as plain arrays: rows of the training set (indices) and where the data is. */
export interface DataView {
  x: Float32Array;
  y: Int32Array;
  /** Values per sample (product of the sample shape). */
  sampleSize: number;
  shape: number[];
  /** Knowledge distillation (TrainOptions.distill): a teacher's softened class probabilities per sample. */
  teacher?: Teacher;
}

/**
 * Knowledge distillation (Hinton et al. 2015): each sample's loss is (1 − weight)·CE(label, logits)
 * + weight·T²·CE(p_teacher, logits/T), p_teacher = softmax(teacher logits / T). T² keeps the soft
 * term's gradients at the hard term's scale as T grows.
 */
export interface Teacher {
  /** softmax(teacher logits / temperature), `classes` values a training sample (the split's row order). */
  probabilities: Float32Array;
  /** The soft term's share of the loss, in (0, 1]. */
  weight: number;
  /** T ≥ 1. */
  temperature: number;
}

export interface ShareResult {
  /** Gradient tensors keyed by variable name (owned by the replica until applied). */
  grads: tf.NamedTensorMap;
  /** Sum of the cross-entropy over the share's rows. */
  lossSum: number;
  correct: number;
}

export async function createModel(spec: ReplicaSpec): Promise<tf.LayersModel> {
  if (!spec.modelFactory) return buildModel(spec.arch, { seed: spec.seed });
  // require, not import(): our modules are CommonJS, and in a worker thread under tsx only its
  // require hook is registered (train.ts starts workers with require('tsx/cjs')).
  const mod = require(spec.modelFactory.module);
  const factory = mod[spec.modelFactory.exportName];
  if (typeof factory !== 'function') throw new Error(`model factory ${spec.modelFactory.module}#${spec.modelFactory.exportName} is not a function`);
  return await factory(spec.arch, spec.seed, spec.modelFactory.options);
}

export function makeOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
  switch (name) {
    case 'sgd':
      return tf.train.momentum(learningRate, 0.9);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate);
    default:
      return tf.train.adam(learningRate);
  }
}

/** The x values of `rows`, copied in row order into one array. */
export function gatherRows(data: Pick<DataView, 'x' | 'sampleSize'>, rows: ArrayLike<number>): Float32Array {
  const xs = new Float32Array(rows.length * data.sampleSize);
  for (let i = 0; i < rows.length; i++) xs.set(data.x.subarray(rows[i] * data.sampleSize, (rows[i] + 1) * data.sampleSize), i * data.sampleSize);
  return xs;
}

/**
 * Copies a batch's rows into one tensor (the x values are gathered in row order), augmented when
 * `augment` is given (with the batch's seed).
 */
export function gatherBatch(
  data: DataView,
  rows: ArrayLike<number>,
  classes: number,
  augment?: { with: Augmentation; seed: number },
): { x: tf.Tensor; labels: tf.Tensor1D; oneHot: tf.Tensor2D } {
  const n = rows.length;
  const xs = gatherRows(data, rows);
  const ys = Int32Array.from(rows, (r) => data.y[r]);
  if (augment && augments(augment.with)) translateBatch(xs, data.shape, rows, augment.seed, augment.with.shift);
  const labels = tf.tensor1d(ys, 'int32');
  return { x: tf.tensor(xs, [n, ...data.shape]), labels, oneHot: tf.oneHot(labels, classes) as tf.Tensor2D };
}

export class Replica {
  readonly model: tf.LayersModel;
  readonly optimizer: tf.Optimizer;
  private readonly vars: tf.Variable[];
  private readonly dropouts: { layer: tf.layers.Layer; seed: number | undefined }[];
  private readonly classes: number;
  private readonly augment: Augmentation | undefined;

  private constructor(model: tf.LayersModel, spec: ReplicaSpec) {
    this.model = model;
    this.optimizer = makeOptimizer(spec.optimizer, spec.learningRate);
    this.vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.classes = spec.arch.classes;
    this.augment = spec.augment;
    this.dropouts = model.layers.filter((l) => l.getClassName() === 'Dropout').map((layer) => ({ layer, seed: (layer as unknown as { seed?: number }).seed }));
  }

  /** Sets the optimizer's learning rate for the next steps (a schedule). */
  setLearningRate(lr: number): void {
    // SGD and momentum cache -lr in a tensor and offer setLearningRate; Adam and RMSprop read the field at every step.
    const o = this.optimizer as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
    if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
    else o.learningRate = lr;
  }

  static async create(spec: ReplicaSpec): Promise<Replica> {
    return new Replica(await createModel(spec), spec);
  }

  /**
   * Gradients of this share's loss, sum of CE over `rows` divided by `batchSize`. `dropoutSeed`
   * reseeds every Dropout layer for this step: tfjs' Dropout draws the same mask on every call
   * when seeded, and an unseeded one draws from Math.random. `augmentSeed` is the batch's
   * augmentation seed (the same on every replica; used when the spec augments).
   */
  computeGradients(data: DataView, rows: ArrayLike<number>, batchSize: number, dropoutSeed: number, augmentSeed = 0): ShareResult {
    if (rows.length === 0) {
      const grads: tf.NamedTensorMap = {};
      for (const v of this.vars) grads[v.name] = tf.zerosLike(v);
      return { grads, lossSum: 0, correct: 0 };
    }
    this.dropouts.forEach((d, i) => ((d.layer as unknown as { seed?: number }).seed = (dropoutSeed + i * 7919) % 2147483647));
    const { x, labels, oneHot } = gatherBatch(data, rows, this.classes, this.augment && { with: this.augment, seed: augmentSeed });
    const t = data.teacher;
    const soft = t ? tf.tensor2d(gatherRows({ x: t.probabilities, sampleSize: this.classes }, rows), [rows.length, this.classes]) : undefined;
    let correct = 0;
    const { value, grads } = tf.variableGrads(() => {
      const logits = this.model.apply(x, { training: true }) as tf.Tensor2D;
      correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32')).dataSync()[0]);
      const ce = tf.losses.softmaxCrossEntropy(oneHot, logits, undefined, 0, tf.Reduction.SUM);
      if (!t || !soft) return tf.div(ce, tf.scalar(batchSize)) as tf.Scalar;
      const distilled = tf.losses.softmaxCrossEntropy(soft, tf.div(logits, tf.scalar(t.temperature)), undefined, 0, tf.Reduction.SUM);
      const loss = tf.add(tf.mul(ce, tf.scalar(1 - t.weight)), tf.mul(distilled, tf.scalar(t.weight * t.temperature * t.temperature)));
      return tf.div(loss, tf.scalar(batchSize)) as tf.Scalar;
    }, this.vars);
    const lossSum = value.dataSync()[0] * batchSize;
    tf.dispose([value, x, labels, oneHot, ...(soft ? [soft] : [])]);
    return { grads, lossSum, correct };
  }

  /**
   * Applies the sum of every replica's share, added in rank order so that all replicas compute
   * the same bits; a share is this replica's tensors or another's arrays. Disposes the tensors.
   */
  applyShares(shares: (tf.NamedTensorMap | Float32Array[])[]): void {
    const total: tf.NamedTensorMap = {};
    tf.tidy(() => {
      this.vars.forEach((v, i) => {
        const parts = shares.map((s) => (Array.isArray(s) ? tf.tensor(s[i], v.shape) : s[v.name]));
        total[v.name] = tf.keep(parts.length === 1 ? tf.clone(parts[0]) : parts.slice(1).reduce((a, b) => tf.add(a, b), parts[0]));
      });
    });
    this.optimizer.applyGradients(total);
    tf.dispose(Object.values(total));
    for (const s of shares) if (!Array.isArray(s)) tf.dispose(Object.values(s));
  }

  /** The gradients as arrays in trainable-variable order (what crosses to other replicas). */
  gradientArrays(grads: tf.NamedTensorMap): Float32Array[] {
    return this.vars.map((v) => grads[v.name].dataSync() as Float32Array);
  }

  /** Puts back the dropout seeds the model was built with (they are part of its saved config). */
  restoreDropoutSeeds(): void {
    for (const d of this.dropouts) (d.layer as unknown as { seed?: number }).seed = d.seed;
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}
