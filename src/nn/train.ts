/**
 * Training an Architecture on in-memory data (src/data/tensors.ts `Split`s): seeded, with early
 * stopping on validation loss (best weights restored), progress lines through a Logger, and
 * optionally data-parallel over `workers` threads (train-worker.ts) to use more than one core.
 *
 * Determinism: initial weights come from seeded initializers, the batch order and the dropout
 * masks from TrainRng(seed). Two runs with the same seed, data, options, backend and worker count
 * give identical weights (tested). A different worker count changes the floating-point summation
 * order and, with BatchNormalization, the batch statistics (each worker normalises its own share).
 */
import { Worker } from 'node:worker_threads';
import { extname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { stratifiedSubset } from '../data/shuffle';
import type { Split } from '../data/tensors';
import { DeepMakerError } from '../util/errors';
import { silentLogger, type Logger } from '../util/log';
import type { Architecture } from './arch';
import { selectBackend, type BackendName, type BackendPreference } from './backend';
import { augments, type Augmentation } from './augment';
import { PRECISE_BN_SAMPLES, recomputeBatchNormStatistics, type BatchNormStatistics } from './batchnorm-statistics';
import { architectureCost } from './cost';
import { Replica, type DataView, type ModelFactoryRef, type OptimizerName, type ReplicaSpec, type Teacher } from './replica';
import { TrainRng } from './rng';
import type { WorkerReply, WorkerRequest } from './train-worker';

export interface TrainData {
  train: Split;
  validation: Split;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Learning rate over the epochs (default constant); cosine: lr · ½(1 + cos(π(epoch − 1)/epochs)). */
  schedule?: LearningRateSchedule;
  optimizer: OptimizerName;
  seed: number;
  /** Train on a seeded random subset of this many training samples (the search's low fidelity). */
  subset?: number;
  /**
   * Draw that subset stratified by class (the training split's class proportions) from this seed
   * instead of from the training's random stream: every training given the same seed and size sees
   * the same samples (src/data/shuffle.ts stratifiedSubset).
   */
  stratifySubset?: { seed: number };
  /** Stop when the validation loss has not improved for `patience` epochs; the best epoch's weights are restored. */
  earlyStopping?: { patience: number };
  backend?: BackendPreference;
  /** Threads training data-parallel (1: this thread only). Each extra one loads its own backend. */
  workers?: number;
  log?: Logger;
  /** Training-time augmentation (augment.ts); validation is never augmented. */
  augment?: Augmentation;
  /**
   * BatchNormalization statistics the model is validated and returned with: `moving` (default),
   * Keras's moving averages; `precise`, recomputed with the epoch's final weights over training
   * images before every validation (batchnorm-statistics.ts).
   */
  batchNormStatistics?: BatchNormStatistics;
  /** Called after every epoch (after validation). */
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
  /**
   * Knowledge distillation: a teacher's softened probabilities for every sample of the training split
   * (replica.ts Teacher); each batch's loss blends them with the labels. Validation is against the labels.
   */
  distill?: Teacher;
  /** A custom model builder (quantization-aware training); default: build.ts buildModel. */
  modelFactory?: ModelFactoryRef;
  /** Start from these weights (matched by layer name) instead of the seeded initialisation, e.g. fine-tuning a float model. */
  initFrom?: tf.LayersModel;
  /**
   * With initFrom and earlyStopping: the starting weights are a candidate too (epoch 0). When no
   * epoch improves on their validation loss, they are what is returned (bestEpoch 0), so
   * fine-tuning never hands on a worse model than it started from.
   */
  startIsCandidate?: boolean;
  /** Progress lines per epoch (default 10). */
  progressLines?: number;
  /**
   * Called on the model to train after initFrom's weights are copied in, before anything is
   * evaluated or trained (epoch 0), and again after every epoch, before it is validated, with the
   * training split and the rows training draws from. Quantization-aware training sets the ternary
   * layers' inference statistics here (src/quant/qat.ts), as batchNormStatistics 'precise' does
   * for BatchNormalization: the epoch is then validated, and kept, with the statistics of its weights.
   */
  calibrate?: (model: tf.LayersModel, train: Split, rows: Int32Array, epoch: number) => void;
}

/**
 * A layer that keeps state outside its weights that inference depends on (a ternary recurrent
 * layer's operand statistics, src/quant/layers.ts): early stopping saves and restores it with the
 * weights, so the epoch it hands back is the model that was validated.
 */
export interface StatefulLayer {
  saveState(): tf.Tensor[];
  restoreState(state: tf.Tensor[]): void;
}

function isStateful(l: tf.layers.Layer): l is tf.layers.Layer & StatefulLayer {
  const c = l as unknown as Partial<StatefulLayer>;
  return typeof c.saveState === 'function' && typeof c.restoreState === 'function';
}

interface ModelSnapshot {
  weights: tf.Tensor[];
  states: { layer: StatefulLayer; state: tf.Tensor[] }[];
}

/** The model's weights and every stateful layer's state, kept (dispose with disposeSnapshot). */
export function snapshotModel(model: tf.LayersModel): ModelSnapshot {
  return {
    weights: model.getWeights().map((w) => tf.keep(w.clone())),
    states: model.layers.filter(isStateful).map((layer) => ({ layer, state: layer.saveState() })),
  };
}

export function restoreSnapshot(model: tf.LayersModel, s: ModelSnapshot): void {
  model.setWeights(s.weights);
  for (const { layer, state } of s.states) layer.restoreState(state);
}

function disposeSnapshot(s: ModelSnapshot): void {
  tf.dispose(s.weights);
  for (const { state } of s.states) tf.dispose(state);
}

export type LearningRateSchedule = 'constant' | 'cosine';

/** `count` rows spread evenly over `rows` (all of them when there are fewer): a fixed sample without drawing from the training's random stream. */
export function evenlySpaced(rows: Int32Array, count: number): Int32Array {
  if (rows.length <= count) return rows;
  return Int32Array.from({ length: count }, (_, i) => rows[Math.floor((i * rows.length) / count)]);
}

/** The learning rate of `epoch` (1-based) of `epochs` under a schedule. */
export function scheduledLearningRate(base: number, schedule: LearningRateSchedule | undefined, epoch: number, epochs: number): number {
  if (schedule !== 'cosine') return base;
  return base * 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / Math.max(1, epochs)));
}

export interface EpochRecord {
  epoch: number;
  /** The learning rate of this epoch. */
  learningRate: number;
  loss: number;
  accuracy: number;
  validationLoss: number;
  validationAccuracy: number;
  imagesPerSecond: number;
  seconds: number;
}

export interface TrainResult {
  model: tf.LayersModel;
  /** Of the returned weights (the best epoch when early stopping). */
  validationAccuracy: number;
  validationLoss: number;
  /** Epochs run. */
  epochs: number;
  bestEpoch: number;
  stoppedEarly: boolean;
  history: EpochRecord[];
  /** Training images per second over all epochs (forward + backward + update, validation excluded). */
  imagesPerSecond: number;
  backend: BackendName;
  workers: number;
  params: number;
  macs: number;
  trainSamples: number;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  count: number;
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Mean cross-entropy and accuracy of `model` (logits out) over a split, in batches. */
export function evaluate(model: tf.LayersModel, split: Split, batchSize = 256): Evaluation {
  const per = sizeOf(split.shape);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < split.count; start += batchSize) {
    const n = Math.min(batchSize, split.count - start);
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor(split.x.subarray(start * per, (start + n) * per), [n, ...split.shape]);
      const labels = tf.tensor1d(split.y.subarray(start, start + n), 'int32');
      const logits = model.predict(x) as tf.Tensor2D;
      const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits, undefined, 0, tf.Reduction.SUM);
      const ok = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32'));
      return [ce.dataSync()[0], ok.dataSync()[0]];
    });
    lossSum += l;
    correct += c;
  }
  return { loss: split.count ? lossSum / split.count : NaN, accuracy: split.count ? correct / split.count : NaN, count: split.count };
}

function checkData(arch: Architecture, data: TrainData): void {
  for (const name of ['train', 'validation'] as const) {
    const s = data[name];
    if (!s || s.count === 0) throw new DeepMakerError(`the ${name} split is empty`, { where: `data.${name}` }, 'check the data section (validationSplit, limit)');
    if (s.shape.join('x') !== arch.input.join('x')) {
      throw new DeepMakerError(`the architecture expects inputs [${arch.input.join(', ')}] but the ${name} data has [${s.shape.join(', ')}]`, { where: 'train.architecture' }, 'set the architecture input to the data shape');
    }
    for (let i = 0; i < s.count; i++) {
      if (s.y[i] < 0 || s.y[i] >= arch.classes) {
        throw new DeepMakerError(`${name} sample ${i} has label ${s.y[i]}, outside 0..${arch.classes - 1}`, { where: 'train.architecture.classes' }, 'set classes to the number of classes in the data');
      }
    }
  }
}

/** An extra replica on another thread. */
class RemoteReplica {
  private readonly worker: Worker;
  private readonly replies: WorkerReply[] = [];
  private waiting: ((r: WorkerReply) => void) | undefined;
  private failure: Error | undefined;

  constructor(init: Extract<WorkerRequest, { type: 'init' }>) {
    const file = join(__dirname, `train-worker${extname(__filename)}`);
    // From the TypeScript sources (tests, benches under tsx) the worker needs tsx's require hook too.
    this.worker = file.endsWith('.ts')
      ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(file)});`, { eval: true, workerData: init })
      : new Worker(file, { workerData: init });
    this.worker.on('message', (m: WorkerReply) => this.deliver(m));
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => { if (code !== 0) this.fail(new Error(`training worker exited with code ${code}`)); });
  }

  private deliver(m: WorkerReply): void {
    if (m.type === 'error') return this.fail(new Error(m.message));
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w(m);
    } else this.replies.push(m);
  }

  private fail(e: Error): void {
    this.failure = e;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w({ type: 'error', message: e.message });
    }
  }

  async next(): Promise<WorkerReply> {
    const r = this.replies.shift() ?? (this.failure ? { type: 'error' as const, message: this.failure.message } : await new Promise<WorkerReply>((res) => (this.waiting = res)));
    if (r.type === 'error') throw new Error(`training worker: ${r.message}`);
    return r;
  }

  post(m: WorkerRequest): void {
    this.worker.postMessage(m);
  }

  async close(): Promise<void> {
    this.worker.postMessage({ type: 'close' } satisfies WorkerRequest);
    await this.worker.terminate();
  }
}

function toShared<T extends Float32Array | Int32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as { new (b: SharedArrayBuffer): T };
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

export async function trainArchitecture(arch: Architecture, data: TrainData, opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? silentLogger;
  const cost = architectureCost(arch);
  checkData(arch, data);
  const backend = await selectBackend(opts.backend ?? 'auto', log);
  const workers = Math.max(1, Math.floor(opts.workers ?? 1));
  const rng = new TrainRng(opts.seed);

  // The training rows: all, or a seeded subset (drawn once, before any shuffling).
  let rows: Int32Array;
  if (opts.subset && opts.subset < data.train.count) rows = opts.stratifySubset ? stratifiedSubset(data.train.y, opts.subset, opts.stratifySubset.seed) : rng.permutation(data.train.count).slice(0, opts.subset).sort();
  else rows = Int32Array.from({ length: data.train.count }, (_, i) => i);
  const n = rows.length;
  const batchSize = Math.max(1, Math.min(opts.batchSize, n));
  const batches = Math.ceil(n / batchSize);

  const augment = augments(opts.augment) ? opts.augment : undefined;
  const spec: ReplicaSpec = { arch, seed: opts.seed, optimizer: opts.optimizer, learningRate: opts.learningRate, modelFactory: opts.modelFactory, augment };
  const local = await Replica.create(spec);
  if (opts.initFrom) copyWeightsByName(opts.initFrom, local.model);
  opts.calibrate?.(local.model, data.train, rows, 0);
  if (opts.distill && opts.distill.probabilities.length !== data.train.count * arch.classes) {
    throw new RangeError(`distillation targets hold ${opts.distill.probabilities.length} values, the training split needs ${data.train.count} x ${arch.classes}`);
  }
  const trainView: DataView = { x: data.train.x, y: data.train.y, sampleSize: sizeOf(data.train.shape), shape: data.train.shape, ...(opts.distill ? { teacher: opts.distill } : {}) };

  const remotes: RemoteReplica[] = [];
  try {
    if (workers > 1) {
      const shared: DataView = { ...trainView, x: toShared(trainView.x), y: toShared(trainView.y), ...(trainView.teacher ? { teacher: { ...trainView.teacher, probabilities: toShared(trainView.teacher.probabilities) } } : {}) };
      const weights = local.model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
      for (let r = 1; r < workers; r++) remotes.push(new RemoteReplica({ type: 'init', spec, backend, data: shared, weights }));
      for (const r of remotes) await r.next(); // ready
    }
    log.info(`training ${n} samples (${batches} batches of ${batchSize}${augment ? `, shifted by up to ${augment.shift} px` : ''}), ${cost.params} params, ${cost.macs} MACs, ${opts.epochs} epochs, ${workers} worker${workers > 1 ? 's' : ''}`);

    const history: EpochRecord[] = [];
    let best: { loss: number; epoch: number; snapshot: ModelSnapshot } | undefined;
    let start: { loss: number; accuracy: number } | undefined;
    if (opts.initFrom && opts.earlyStopping && opts.startIsCandidate) {
      start = evaluate(local.model, data.validation);
      best = { loss: start.loss, epoch: 0, snapshot: snapshotModel(local.model) };
      log.info(`epoch 0 (starting weights): validation loss ${start.loss.toFixed(4)} accuracy ${start.accuracy.toFixed(4)}`);
    }
    let trainSeconds = 0;
    let trainImages = 0;
    let stoppedEarly = false;
    const every = Math.max(1, Math.ceil(batches / Math.max(1, opts.progressLines ?? 10)));

    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      const order = rng.permutation(n);
      const learningRate = scheduledLearningRate(opts.learningRate, opts.schedule, epoch, opts.epochs);
      local.setLearningRate(learningRate);
      const t0 = process.hrtime.bigint();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let b = 0; b < batches; b++) {
        const idx = order.subarray(b * batchSize, Math.min(n, (b + 1) * batchSize));
        const batchRows = Int32Array.from(idx, (i) => rows[i]);
        const dropoutSeed = rng.nextUint32() % 2147483647;
        // Drawn only when augmenting, so that runs without augmentation keep their batch order and masks.
        const augmentSeed = augment ? rng.nextUint32() : 0;
        // Shares: contiguous slices of the batch, one per replica, rank 0 here.
        const share = Math.ceil(batchRows.length / workers);
        const slice = (r: number) => batchRows.subarray(Math.min(batchRows.length, r * share), Math.min(batchRows.length, (r + 1) * share));
        remotes.forEach((rem, k) => rem.post({ type: 'step', rows: slice(k + 1), batchSize: batchRows.length, dropoutSeed: (dropoutSeed + 104729 * (k + 1)) % 2147483647, augmentSeed, learningRate }));
        const own = local.computeGradients(trainView, slice(0), batchRows.length, dropoutSeed, augmentSeed);
        const others: Float32Array[][] = [];
        for (const rem of remotes) {
          const r = await rem.next();
          if (r.type !== 'grads') throw new Error(`training worker: unexpected reply ${r.type}`);
          others.push(r.grads);
          lossSum += r.lossSum;
          correct += r.correct;
        }
        if (remotes.length) {
          const ownArrays = local.gradientArrays(own.grads);
          remotes.forEach((rem, k) => rem.post({ type: 'apply', shares: [ownArrays, ...others.map((o, j) => (j === k ? null : o))] }));
        }
        local.applyShares([own.grads, ...others]);
        lossSum += own.lossSum;
        correct += own.correct;
        seen += batchRows.length;
        if ((b + 1) % every === 0 || b === batches - 1) {
          const s = Number(process.hrtime.bigint() - t0) / 1e9;
          log.info(`epoch ${epoch}/${opts.epochs} batch ${b + 1}/${batches} loss ${(lossSum / seen).toFixed(4)} accuracy ${(correct / seen).toFixed(4)} ${Math.round(seen / s)} images/s`);
        }
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      trainSeconds += seconds;
      trainImages += seen;
      if (opts.batchNormStatistics === 'precise') recomputeBatchNormStatistics(local.model, data.train, evenlySpaced(rows, PRECISE_BN_SAMPLES));
      opts.calibrate?.(local.model, data.train, rows, epoch);
      const val = evaluate(local.model, data.validation);
      const record: EpochRecord = { epoch, learningRate, loss: lossSum / seen, accuracy: correct / seen, validationLoss: val.loss, validationAccuracy: val.accuracy, imagesPerSecond: seen / seconds, seconds };
      history.push(record);
      log.info(`epoch ${epoch}/${opts.epochs} done: loss ${record.loss.toFixed(4)} accuracy ${record.accuracy.toFixed(4)} validation loss ${val.loss.toFixed(4)} accuracy ${val.accuracy.toFixed(4)} (${Math.round(record.imagesPerSecond)} images/s, ${seconds.toFixed(1)} s${opts.schedule === 'cosine' ? `, learning rate ${learningRate.toExponential(2)}` : ''})`);
      await opts.onEpoch?.(record);

      if (opts.earlyStopping) {
        if (!best || val.loss < best.loss) {
          if (best) disposeSnapshot(best.snapshot);
          best = { loss: val.loss, epoch, snapshot: snapshotModel(local.model) };
        } else if (epoch - best.epoch >= opts.earlyStopping.patience) {
          stoppedEarly = epoch < opts.epochs;
          log.info(`early stopping after epoch ${epoch}: validation loss has not improved since epoch ${best.epoch}`);
          break;
        }
      }
    }

    let bestEpoch = history.length;
    if (best) {
      restoreSnapshot(local.model, best.snapshot);
      disposeSnapshot(best.snapshot);
      bestEpoch = best.epoch;
      if (bestEpoch === 0) log.info('kept the starting weights: no epoch improved on their validation loss');
      else if (bestEpoch !== history.length) log.info(`restored the weights of epoch ${bestEpoch}`);
    }
    local.restoreDropoutSeeds();
    local.optimizer.dispose();
    const final = bestEpoch === 0 ? { validationAccuracy: start!.accuracy, validationLoss: start!.loss } : history[bestEpoch - 1];
    return {
      model: local.model,
      validationAccuracy: final.validationAccuracy,
      validationLoss: final.validationLoss,
      epochs: history.length,
      bestEpoch,
      stoppedEarly,
      history,
      imagesPerSecond: trainImages / trainSeconds,
      backend,
      workers,
      params: cost.params,
      macs: cost.macs,
      trainSamples: n,
    };
  } catch (e) {
    local.dispose();
    throw e;
  } finally {
    await Promise.all(remotes.map((r) => r.close()));
  }
}

/**
 * Copies weights layer by layer (by name) where the shapes agree: a float model into its
 * quantization-aware twin. Within a layer, weights pair up by their own name (kernel, bias,
 * recurrent_kernel, gamma...) when one layer's weight names are a subset of the other's: a
 * quantized layer's extra state (a ternary output's moving Δ `ternary_delta`) keeps its value and
 * does not stop the kernel and bias from being copied. Layers whose weight names do not pair up
 * copy by position when their weight lists have the same length and shapes. Returns the layers copied.
 */
export function copyWeightsByName(from: tf.LayersModel, to: tf.LayersModel): number {
  let copied = 0;
  for (const layer of to.layers) {
    let src: tf.layers.Layer;
    try {
      src = from.getLayer(layer.name);
    } catch {
      continue;
    }
    const a = src.weights, b = layer.weights;
    if (!a.length || !b.length) continue;
    const own = (w: tf.LayerVariable) => w.originalName.slice(w.originalName.lastIndexOf('/') + 1);
    const byName = new Map(a.map((w) => [own(w), w]));
    const pairs = b.filter((w) => byName.has(own(w))).map((w) => [byName.get(own(w))!, w] as const);
    const subset = pairs.length === Math.min(a.length, b.length) && new Set(a.map(own)).size === a.length && new Set(b.map(own)).size === b.length;
    if (subset && pairs.every(([x, y]) => x.shape.join() === y.shape.join())) {
      for (const [x, y] of pairs) y.write(x.read());
      copied++;
      continue;
    }
    const wa = src.getWeights(), wb = layer.getWeights();
    if (wa.length === wb.length && wa.every((w, i) => w.shape.join() === wb[i].shape.join())) {
      layer.setWeights(wa);
      copied++;
    }
  }
  return copied;
}
