/**
 * Quantization-aware fine-tuning: start from the trained float model, train its quantized twin
 * (model.ts) for `fineTune.epochs` with the trainer of src/nn/train.ts, and hand on
 *  - a standard TF.js model whose kernels hold the quantized values (what convert reads),
 *  - quantization.json (file.ts),
 *  - the report fields: quantization (mode, formats, float and quantized accuracy), sparsity of
 *    weights and activations, and the weight memory in bits against the device's EBR.
 *
 * The inputs are quantized once, in the data, to the activations format: the C's input layer does
 * exactly that (quantize with the C's rounding, saturating), so training sees the C's input values.
 */
import * as tf from '@tensorflow/tfjs';
import type { Split } from '../data/tensors';
import { fakeQuantize, formatName, fracBits, maxInt, type FixedFormat } from '../numerics/fixed';
import type { Architecture } from '../nn/arch';
import { buildModel } from '../nn/build';
import { gatherRows, type Teacher } from '../nn/replica';
import { copyWeightsByName, evaluate, evenlySpaced, trainArchitecture, type TrainOptions, type TrainResult } from '../nn/train';
import { DeepMakerError } from '../util/errors';
import { silentLogger, type Logger } from '../util/log';
import { fineTuneLearningRate, kernelBits, type Distillation, type QuantizationPlan } from './config';
import { copyFoldedWeights, foldBatchNormArchitecture, hasFoldableBatchNorm } from './fold';
import { fitInteger } from '../qmodel/apply';
import type { LayerQuantization, QuantizationFile } from '../qmodel/file';
import { isQuantizedLayer, QuantConv2D, QuantDense, QuantDepthwiseConv2D, QuantRecurrent, type CalibrationParts, type QuantizedLayer } from './layers';
import { buildQuantizedModel, QUANTIZED_MODEL_MODULE } from './model';

export interface QatData {
  train: Split;
  validation: Split;
  test: Split;
}

export interface QatInput {
  arch: Architecture;
  data: QatData;
  floatModel: tf.LayersModel;
  plan: QuantizationPlan;
  /** The float training options; epochs and the learning rate come from plan.fineTune. */
  train: Omit<TrainOptions, 'epochs' | 'modelFactory' | 'initFrom'>;
  /** The target device's block RAM in bits (UP5K: 30 × 4096), for `weightMemory.fits`. */
  ebrBits?: number;
  /** Test samples the activation sparsity is measured on (default 2000). */
  sparsitySamples?: number;
  /** The float model's accuracies when the caller already measured them. */
  floatAccuracy?: { validation: number; test: number };
}

export interface LayerSparsity {
  name: string;
  /** Fraction of zero kernel values. */
  weights?: number;
  /** Fraction of zero output values (on the measured test samples). */
  activations?: number;
}

export interface WeightMemory {
  /** Bits per kernel value (2 for ternary). */
  kernelBits: number;
  kernels: number;
  biases: number;
  /** Ternary per-filter scales α. */
  scales: number;
  total: number;
  ebrBits?: number;
  fits?: boolean;
}

export interface QuantizationReport {
  quantization: {
    mode: 'fixed' | 'ternary';
    /** The kernels' format; `integer: 'per layer'` when layerWeights holds each layer's. */
    weights?: FixedFormat | (Omit<FixedFormat, 'integer'> & { integer: 'per layer' });
    layerWeights?: Record<string, { bits: number; integer: number }>;
    activations?: FixedFormat;
    ternary?: { threshold: number; activations: boolean; scaleBits: number };
    fineTuneEpochs: number;
    /** quantize.fineTune.weightsFirst: the phase with ternary weights and fixed-point activations before fineTuneEpochs. */
    weightsFirst?: { epochs: number; validationAccuracy: number; validationLoss: number };
    /** Fixed mode: BatchNormalization was folded into the layers before it for fine-tuning (fold.ts). */
    batchNormFolded: boolean;
    float: { validationAccuracy: number; testAccuracy: number };
    quantized: { validationAccuracy: number; validationLoss: number; testAccuracy: number; testLoss: number };
    /** quantized − float test accuracy, in points (percent). */
    testAccuracyDeltaPoints: number;
    /** The fine-tuning epochs (loss, accuracy, validation loss and accuracy, images/s). */
    history: TrainResult['history'];
  };
  sparsity: { weights: number; activations: number; samples: number; layers: LayerSparsity[] };
  /** Total weight memory in bits (kernels + biases + scales); breakdown in weightMemory. */
  weightBits: number;
  weightMemory: WeightMemory;
}

export interface QatResult {
  /** The quantization-aware model after fine-tuning. */
  model: tf.LayersModel;
  /** Standard layers holding the quantized kernels: save this as the trained model. */
  exported: tf.LayersModel;
  file: QuantizationFile;
  report: QuantizationReport;
  training: TrainResult;
  /** The data with inputs quantized to the activations format (what the C sees). */
  data: QatData;
  /** The architecture fine-tuned and exported (BN folded in fixed mode). */
  architecture: Architecture;
}

/** The split with every input value quantized to `f` (as the C's input layer does: saturating). */
export function quantizeInputs(split: Split, f: FixedFormat): Split {
  const sat: FixedFormat = { ...f, overflow: 'saturate' };
  const x = new Float32Array(split.x.length);
  for (let i = 0; i < x.length; i++) x[i] = fakeQuantize(split.x[i], sat);
  return { ...split, x };
}

/**
 * Refuses an architecture quantization-aware training cannot train as the C computes it: ternary
 * recurrent layers (FaCT-LSTM, layers.ts QuantRecurrent) are LSTM and SimpleRNN; a GRU's reset
 * product r ⊙ h would be a third operand to ternarize, which neither the twin nor the C does. Called
 * by the train stage before the float training, so a long run does not end in this error.
 */
export function assertQuantizable(arch: Architecture, mode: QuantizationPlan['mode']): void {
  if (mode !== 'ternary') return;
  const i = arch.layers.findIndex((n) => n.type === 'gru');
  if (i < 0) return;
  throw new DeepMakerError(
    `quantize.mode ternary: train.architecture[${i}] is a gru layer; ternary recurrent layers (FaCT-LSTM) are lstm and simple_rnn`,
    { where: `quantize.mode, train.architecture[${i}] (gru)` },
    'use lstm or simple_rnn layers for quantize.mode ternary, or quantize: { mode: fixed } (fixed-point quantization-aware training covers gru)',
  );
}

export async function quantizationAwareTraining(input: QatInput): Promise<QatResult> {
  const { arch } = input;
  let plan = input.plan;
  if (plan.mode === 'float') throw new Error('quantizationAwareTraining needs mode fixed or ternary');
  assertQuantizable(arch, plan.mode);
  const log = input.train.log ?? silentLogger;
  const data: QatData = {
    train: quantizeInputs(input.data.train, plan.activations!),
    validation: quantizeInputs(input.data.validation, plan.activations!),
    test: quantizeInputs(input.data.test, plan.activations!),
  };
  const floatVal = input.floatAccuracy?.validation ?? evaluate(input.floatModel, input.data.validation).accuracy;
  const floatTest = input.floatAccuracy?.test ?? evaluate(input.floatModel, input.data.test).accuracy;
  log.info(`float model: validation accuracy ${floatVal.toFixed(4)}, test accuracy ${floatTest.toFixed(4)}; fine-tuning ${plan.mode} for ${plan.fineTune.epochs} epochs`);

  const tuned = await fineTuneQuantized({ arch, floatModel: input.floatModel, plan, data, train: input.train, log });
  plan = tuned.plan;
  const { training, foldBn } = tuned;
  const qatArch = tuned.architecture;
  const model = training.model;
  const quantEval = evaluate(model, data.test);
  const quantTest = quantEval.accuracy;
  log.info(`${plan.mode} model: validation accuracy ${training.validationAccuracy.toFixed(4)}, test accuracy ${quantTest.toFixed(4)} (float ${floatTest.toFixed(4)})`);

  const exported = exportStandardModel(qatArch, input.train.seed, model);
  const file = quantizationFileOf(model, plan);
  const sparsity = measureSparsity(model, data.test, input.sparsitySamples ?? 2000);
  const memory = weightMemory(model, plan, input.ebrBits);
  const report: QuantizationReport = {
    quantization: {
      mode: plan.mode as 'fixed' | 'ternary',
      weights: plan.weightIntegerAuto ? { ...plan.weights!, integer: 'per layer' as const } : plan.weights,
      ...(plan.layerWeights ? { layerWeights: Object.fromEntries(Object.entries(plan.layerWeights).map(([n, f]) => [n, { bits: f.bits, integer: f.integer }])) } : {}),
      activations: plan.activations,
      ternary: plan.ternary ? { threshold: plan.ternary.threshold, activations: plan.ternary.activations, scaleBits: plan.ternary.scaleBits } : undefined,
      fineTuneEpochs: training.epochs,
      ...(tuned.weightsFirst ? { weightsFirst: tuned.weightsFirst } : {}),
      batchNormFolded: foldBn,
      float: { validationAccuracy: floatVal, testAccuracy: floatTest },
      quantized: { validationAccuracy: training.validationAccuracy, validationLoss: training.validationLoss, testAccuracy: quantTest, testLoss: quantEval.loss },
      testAccuracyDeltaPoints: Math.round((quantTest - floatTest) * 1e4) / 1e2,
      history: training.history,
    },
    sparsity,
    weightBits: memory.total,
    weightMemory: memory,
  };
  return { model, exported, file, report, training, data, architecture: qatArch };
}

export interface QuantizedFineTuneInput {
  arch: Architecture;
  floatModel: tf.LayersModel;
  plan: QuantizationPlan;
  /** Inputs already quantized to plan.activations (quantizeInputs). */
  data: { train: Split; validation: Split };
  /** The float training's options; epochs and the learning rate come from plan.fineTune. */
  train: Omit<TrainOptions, 'epochs' | 'modelFactory' | 'initFrom'>;
  log?: Logger;
}

export interface QuantizedFineTune {
  /** The plan with the per-layer kernel formats filled in (fixed mode without quantize.weights.integer). */
  plan: QuantizationPlan;
  /** The architecture fine-tuned (BatchNormalization folded in fixed mode). */
  architecture: Architecture;
  foldBn: boolean;
  training: TrainResult;
  /** With quantize.fineTune.weightsFirst: the first phase (ternary weights, fixed-point activations) as it ended. */
  weightsFirst?: { epochs: number; validationAccuracy: number; validationLoss: number };
}

/**
 * The quantized twin of a trained float model (model.ts), fine-tuned for plan.fineTune.epochs: what
 * the train stage hands on, and what a quantization-aware search (search.training.quantizedEpochs)
 * measures a candidate's error on.
 */
export async function fineTuneQuantized(input: QuantizedFineTuneInput): Promise<QuantizedFineTune> {
  const { arch } = input;
  let plan = input.plan;
  const log = input.log ?? silentLogger;
  // Fixed point quantizes the BN-folded kernels, as the C does (fold.ts); ternary kernels stay ternary under the fold.
  const foldBn = plan.mode === 'fixed' && hasFoldableBatchNorm(arch);
  const qatArch = foldBn ? foldBatchNormArchitecture(arch) : arch;
  let init = input.floatModel;
  if (foldBn) {
    init = buildModel(qatArch, { seed: input.train.seed });
    copyFoldedWeights(arch, input.floatModel, init);
    log.info('BatchNormalization folded into the layers before it for fixed-point fine-tuning');
  }
  if (plan.weightIntegerAuto) {
    plan = { ...plan, layerWeights: fitLayerWeightFormats(init, plan.weights!) };
    log.info(`kernel formats fitted per layer: ${Object.entries(plan.layerWeights!).map(([n, f]) => `${n} fixed<${f.bits},${f.integer}>`).join(', ')}`);
  }
  const phase = (p: QuantizationPlan, epochs: number, from: tf.LayersModel, distill: Teacher | undefined) =>
    trainArchitecture(qatArch, { train: input.data.train, validation: input.data.validation }, {
      ...input.train,
      epochs,
      learningRate: fineTuneLearningRate(p, input.train.learningRate),
      earlyStopping: fineTuneEarlyStopping(p, input.train.earlyStopping),
      startIsCandidate: true,
      // Ternary layers' inference statistics, on training samples: before epoch 0 is judged, from the float weights (a
      // recurrent layer's operand Δ and β start at zero; a ternary output's Δ has no value yet); then a ternary output's Δ
      // again from each epoch's weights before it is validated (the moving average lags them). A recurrent layer's
      // operands keep their moving averages after epoch 0: recalibrated every epoch too, models/mnist-lstm-ternary was
      // stopped early at epoch 9 (kept 5) and tested 94.39 %, against 95.33 % with the moving averages (session 12).
      calibrate: (model, split, rows, epoch) => {
        const sample = evenlySpaced(rows, TERNARY_CALIBRATION_SAMPLES);
        const n = calibrateTernaryStatistics(model, split, sample, input.train.batchSize, { recurrent: epoch === 0 });
        if (n && epoch === 0) log.info(`inference statistics of ${n} ternary layer${n > 1 ? 's' : ''} calibrated on ${Math.min(TERNARY_CALIBRATION_SAMPLES, rows.length)} training samples`);
        // The twin's logits, before the first epoch: fitted into the output format (ternary mode; see fitLogits).
        if (epoch === 0 && p.mode === 'ternary' && p.activations) {
          const fit = fitLogits(model, split, sample, input.train.batchSize, p.activations);
          if (fit) log.info(`logits fitted into ${formatName(p.activations)}: ${fit.p99.toFixed(2)} (99th percentile of |logit − ${fit.offset.toFixed(2)}|) scaled by ${fit.scale.toPrecision(3)}`);
        }
      },
      modelFactory: { module: QUANTIZED_MODEL_MODULE, exportName: 'buildQuantizedModel', options: p },
      initFrom: from,
      ...(distill ? { distill } : {}),
    });
  const teacher = plan.fineTune.distill ? teacherTargets(input.floatModel, input.data.train, plan.fineTune.distill, log) : undefined;
  // quantize.fineTune.weightsFirst: ternary weights with fixed-point activations first, then both ternary from there.
  let weightsFirst: QuantizedFineTune['weightsFirst'];
  let from = init;
  if (plan.fineTune.weightsFirst && plan.mode === 'ternary' && plan.ternary?.activations) {
    const epochs = plan.fineTune.weightsFirst;
    log.info(`ternary weights first: ${epochs} epoch${epochs > 1 ? 's' : ''} with ${formatName(plan.activations!)} activations, then ${plan.fineTune.epochs} with ternary activations too`);
    const first = await phase({ ...plan, ternary: { ...plan.ternary, activations: false } }, epochs, init, teacher);
    weightsFirst = { epochs: first.epochs, validationAccuracy: first.validationAccuracy, validationLoss: first.validationLoss };
    log.info(`ternary weights, ${formatName(plan.activations!)} activations: validation accuracy ${first.validationAccuracy.toFixed(4)}; now ternary activations too`);
    from = first.model;
  }
  const training = await phase(plan, plan.fineTune.epochs, from, teacher);
  if (from !== init) from.dispose();
  if (init !== input.floatModel) init.dispose();
  return { plan, architecture: qatArch, foldBn, training, ...(weightsFirst ? { weightsFirst } : {}) };
}

/**
 * The early stopping fine-tuning runs with: quantize.fineTune.earlyStopping when the spec gives it (false: none, every
 * epoch runs and the last is kept), else the float training's. A ternary twin's validation loss jumps from epoch to
 * epoch while the cosine schedule has not yet come down (session 15's ternary pick, session 16: train's patience 3 stopped
 * 30 fine-tuning epochs at epoch 11, 95.67 % test, against 96.90 % for 25 without stopping), and the epochs the schedule
 * anneals are the ones that settle the ternary weights.
 */
export function fineTuneEarlyStopping(plan: Pick<QuantizationPlan, 'fineTune'>, floatStopping: TrainOptions['earlyStopping']): TrainOptions['earlyStopping'] {
  const own = plan.fineTune.earlyStopping;
  if (own === undefined) return floatStopping;
  return own === false ? undefined : own;
}

/**
 * The float network as the teacher of its quantized twin (quantize.fineTune.distill): its class
 * probabilities at the temperature, softmax(logits / T), for every training sample, on the inputs the
 * twin trains on (quantized as the C quantizes them).
 */
export function teacherTargets(floatModel: tf.LayersModel, split: Split, d: Distillation, log: Logger): Teacher {
  const view = { x: split.x, sampleSize: split.shape.reduce((a, b) => a * b, 1) };
  const classes = (floatModel.outputs[0].shape as number[]).at(-1)!;
  const probabilities = new Float32Array(split.count * classes);
  const step = 512;
  for (let start = 0; start < split.count; start += step) {
    const rows = Array.from({ length: Math.min(step, split.count - start) }, (_, i) => start + i);
    const p = tf.tidy(() => tf.softmax(tf.div(floatModel.predict(tf.tensor(gatherRows(view, rows), [rows.length, ...split.shape])) as tf.Tensor2D, tf.scalar(d.temperature))));
    probabilities.set(p.dataSync(), start * classes);
    p.dispose();
  }
  log.info(`distilling from the float network: weight ${d.weight}, temperature ${d.temperature}, targets of ${split.count} training samples`);
  return { probabilities, weight: d.weight, temperature: d.temperature };
}

/** The share of the output format's largest value that fitLogits scales the logits' 99th percentile to. */
export const LOGIT_FIT_TARGET = 0.9;

/**
 * Fits a ternary twin's logits into their fixed-point format before fine-tuning. Its logits are not the
 * float network's: on an MNIST chain network the float logits had means of -1.5 to -10 while its twin's
 * sat at the format's top (7.94 of fixed<8,4>) for most classes and samples: argmax then ties, the
 * saturated quantizer passes no gradient, and fine-tuning stayed at 21 % validation accuracy; in a search of
 * models/mnist-ternary-nas, 4 of its 7 best candidates at the first rung were lost this way at the second (session 13). When the 99th percentile over `rows` of each
 * sample's largest |logit − m| (m: the mean logit, an offset common to all classes) exceeds the format's
 * largest value, the last layer (a linear QuantDense) is rescaled to y ← s·(y − m), s putting that
 * percentile at LOGIT_FIT_TARGET of the range: argmax is unchanged, softmax's temperature is not.
 * Returns what was done, or undefined when the logits fit already or the last layer is not a linear dense layer.
 */
export function fitLogits(model: tf.LayersModel, split: Split, rows: ArrayLike<number>, batchSize: number, format: FixedFormat): { offset: number; p99: number; scale: number } | undefined {
  const last = model.layers.at(-1);
  if (!(last instanceof QuantDense) || !last.calibratable.range || last.getConfig().activation !== 'linear') return undefined;
  runCalibration(model, split, rows, batchSize, [{ l: last, parts: { range: true } }]);
  const r = last.outputRange!;
  const offset = last.useBias ? r.offset : 0;
  const p99 = last.useBias ? r.p99 : r.p99Raw;
  const top = maxInt(format.bits) / 2 ** fracBits(format);
  if (!(p99 > top)) return undefined;
  const scale = (LOGIT_FIT_TARGET * top) / p99;
  last.rescaleOutput(scale, offset);
  return { offset, p99, scale };
}

/** Training samples the ternary inference statistics are calibrated on (before fine-tuning; ternary outputs also after each epoch). */
export const TERNARY_CALIBRATION_SAMPLES = 2048;

/**
 * Sets the inference statistics of every ternary layer to their means over batches of `batchSize`
 * of the training samples `rows` (each batch's statistics are the ones training computes), through
 * each layer's calibration (layers.ts beginCalibration): a ternary output's Δ per channel and a
 * recurrent layer's operand Δ and β (x_t, h_{t-1}). Without this a recurrent layer's start at zero
 * (every operand code 0: the starting point, epoch 0, scores chance), and a ternary output's moving
 * average lags the weights it is validated with. `which.recurrent: false` leaves the recurrent
 * operands out. Returns the layers calibrated.
 */
export function calibrateTernaryStatistics(model: tf.LayersModel, split: Split, rows: ArrayLike<number>, batchSize: number, which: { recurrent?: boolean } = {}): number {
  const layers = quantizedLayers(model)
    .map((l) => ({ l, parts: { output: l.calibratable.output, operands: which.recurrent !== false && l.calibratable.operands } }))
    .filter(({ parts }) => parts.output || parts.operands);
  if (!layers.length || rows.length === 0) return 0;
  runCalibration(model, split, rows, batchSize, layers);
  return layers.length;
}

/** Forward passes over `rows` in batches with each layer's calibration of `parts` open (layers.ts beginCalibration). */
function runCalibration(model: tf.LayersModel, split: Split, rows: ArrayLike<number>, batchSize: number, layers: { l: QuantizedLayer; parts: Partial<CalibrationParts> }[]): void {
  const view = { x: split.x, sampleSize: split.shape.reduce((a, b) => a * b, 1) };
  const step = Math.max(1, Math.floor(batchSize));
  for (const { l, parts } of layers) l.beginCalibration(parts);
  try {
    for (let start = 0; start < rows.length; start += step) {
      const part = Array.from({ length: Math.min(step, rows.length - start) }, (_, i) => rows[start + i]);
      tf.tidy(() => {
        model.predict(tf.tensor(gatherRows(view, part), [part.length, ...split.shape]));
      });
    }
  } finally {
    for (const { l } of layers) l.endCalibration();
  }
}

function quantizedLayers(model: tf.LayersModel): QuantizedLayer[] {
  return model.layers.filter(isQuantizedLayer);
}

type WeightedLayer = QuantConv2D | QuantDepthwiseConv2D | QuantDense;

function isWeighted(l: QuantizedLayer): l is WeightedLayer {
  return l instanceof QuantConv2D || l instanceof QuantDepthwiseConv2D || l instanceof QuantDense;
}

/** The layer's kernels as the quantized model computes with them (α·t, or fixed-point values; a recurrent layer's kernel and recurrent kernel). */
function effectiveKernels(l: QuantizedLayer): tf.Tensor[] {
  if (l instanceof QuantRecurrent) return l.effectiveKernels();
  return isWeighted(l) ? [l.effectiveKernel()] : [];
}

/**
 * The float architecture's model with the quantized model's weights: each quantized kernel
 * replaced by the values it computes with, every other weight (biases, BatchNormalization) copied.
 */
export function exportStandardModel(arch: Architecture, seed: number, quantized: tf.LayersModel): tf.LayersModel {
  const out = buildModel(arch, { seed });
  copyWeightsByName(quantized, out);
  // Quantized layers carry extra state (a ternary output's moving Δ), so their weights are set here
  // explicitly: the kernel and the bias they compute with.
  for (const l of quantizedLayers(quantized)) {
    if (l instanceof QuantRecurrent) {
      const [k, r] = l.effectiveKernels();
      const b = l.quantizeBias(l.bias!.read());
      out.getLayer(l.name).setWeights([k, r, b]);
      tf.dispose([k, r, b]);
      continue;
    }
    if (!isWeighted(l)) continue;
    const k = l.effectiveKernel();
    const b = l.bias ? l.quantizeBias(l.bias.read()) : undefined;
    out.getLayer(l.name).setWeights(b ? [k, b] : [k]);
    tf.dispose([k, b]);
  }
  return out;
}

/**
 * Per weighted layer (Conv2D, DepthwiseConv2D, Dense, and LSTM, GRU, SimpleRNN, whose kernel and
 * recurrent kernel share one format in the C) of `model`: `base`'s width with the integer bits the
 * largest |kernel value| needs (as src/qmodel/apply.ts fits any other value).
 */
export function fitLayerWeightFormats(model: tf.LayersModel, base: FixedFormat): Record<string, FixedFormat> {
  const out: Record<string, FixedFormat> = {};
  for (const l of model.layers) {
    const cls = l.getClassName();
    const kernels = cls === 'Conv2D' || cls === 'DepthwiseConv2D' || cls === 'Dense' ? 1 : cls === 'LSTM' || cls === 'GRU' || cls === 'SimpleRNN' ? 2 : 0;
    if (!kernels) continue;
    const maxAbs = tf.tidy(() => Math.max(...l.getWeights().slice(0, kernels).map((w) => w.abs().max().dataSync()[0])));
    out[l.name] = { ...base, integer: fitInteger(maxAbs, base.bits, base.rounding) };
  }
  return out;
}

export function quantizationFileOf(model: tf.LayersModel, plan: QuantizationPlan): QuantizationFile {
  const layers: Record<string, LayerQuantization> = {};
  for (const l of quantizedLayers(model)) {
    const q = l.quantizers();
    const entry: LayerQuantization = {};
    if (q.weights) entry.weights = q.weights.kind;
    const own = plan.layerWeights?.[l.name];
    if (own) entry.weightFormat = { bits: own.bits, integer: own.integer };
    if (q.output?.kind === 'fixed') entry.output = { kind: 'fixed' };
    if (q.output?.kind === 'ternary') entry.output = { kind: 'ternary', thresholds: Array.from(l.ternaryDelta()!) };
    const operands = l instanceof QuantRecurrent ? l.ternaryOperands() : undefined;
    if (operands) entry.operands = operands;
    layers[l.name] = entry;
  }
  const fmt = (f?: FixedFormat) => (f ? { bits: f.bits, integer: f.integer } : undefined);
  return {
    format: 'deepmaker-quantization',
    version: 1,
    mode: plan.mode as 'fixed' | 'ternary',
    rounding: plan.activations!.rounding,
    overflow: plan.activations!.overflow,
    weights: fmt(plan.weights),
    activations: fmt(plan.activations)!,
    biasBits: plan.biasBits,
    ternary: plan.ternary ? { threshold: plan.ternary.threshold, activations: plan.ternary.activations, scaleBits: plan.ternary.scaleBits } : undefined,
    layers,
  };
}

/** Zero fractions of the quantized kernels and of the quantized layer outputs on the first `samples` of `split`. */
export function measureSparsity(model: tf.LayersModel, split: Split, samples: number): QuantizationReport['sparsity'] {
  const layers: LayerSparsity[] = [];
  let wZero = 0, wAll = 0;
  const probes: QuantizedLayer[] = [];
  for (const l of quantizedLayers(model)) {
    const entry: LayerSparsity = { name: l.name };
    const ks = effectiveKernels(l);
    if (ks.length) {
      let z = 0, all = 0;
      for (const k of ks) {
        const v = k.dataSync();
        for (let i = 0; i < v.length; i++) if (v[i] === 0) z++;
        all += v.length;
      }
      entry.weights = z / all;
      wZero += z;
      wAll += all;
      tf.dispose(ks);
    }
    if (l.quantizers().output) probes.push(l);
    layers.push(entry);
  }
  const n = Math.min(samples, split.count);
  const per = split.shape.reduce((a, b) => a * b, 1);
  const zeros = new Array(probes.length).fill(0), totals = new Array(probes.length).fill(0);
  if (probes.length && n > 0) {
    const probeModel = tf.model({ inputs: model.inputs, outputs: probes.map((p) => p.output as tf.SymbolicTensor) });
    for (let start = 0; start < n; start += 250) {
      const m = Math.min(250, n - start);
      tf.tidy(() => {
        const x = tf.tensor(split.x.subarray(start * per, (start + m) * per), [m, ...split.shape]);
        const outs = probeModel.predict(x) as tf.Tensor | tf.Tensor[];
        (Array.isArray(outs) ? outs : [outs]).forEach((o, i) => {
          const v = o.dataSync();
          for (let j = 0; j < v.length; j++) if (v[j] === 0) zeros[i]++;
          totals[i] += v.length;
        });
      });
    }
  }
  probes.forEach((p, i) => (layers.find((l) => l.name === p.name)!.activations = totals[i] ? zeros[i] / totals[i] : 0));
  // The activations figure covers the hidden outputs (the logits are not a stored activation).
  const output = model.outputs[0];
  let aZero = 0, aAll = 0;
  probes.forEach((p, i) => {
    if (p.output === output) return;
    aZero += zeros[i];
    aAll += totals[i];
  });
  return { weights: wAll ? wZero / wAll : 0, activations: aAll ? aZero / aAll : 0, samples: n, layers };
}

/** Kernel, bias and scale bits of every quantized layer (BatchNormalization folded: it adds a bias per channel). */
export function weightMemory(model: tf.LayersModel, plan: QuantizationPlan, ebrBits?: number): WeightMemory {
  const bitsPerKernel = kernelBits(plan);
  let kernels = 0, biases = 0, scales = 0;
  for (const l of quantizedLayers(model)) {
    if (l instanceof QuantRecurrent) {
      kernels += (l.kernel!.read().size + l.recurrentKernel!.read().size) * bitsPerKernel;
      biases += l.bias!.read().size * plan.biasBits;
      // Ternary (FaCT-LSTM): one scale α·β per column of the kernel and of the recurrent kernel.
      if (plan.mode === 'ternary') scales += 2 * l.bias!.read().size * plan.ternary!.scaleBits;
      continue;
    }
    if (!isWeighted(l)) continue;
    const kernel = l.kernel!.read();
    const channels = l instanceof QuantDepthwiseConv2D ? kernel.shape[2]! * kernel.shape[3]! : kernel.shape[kernel.rank - 1]!;
    kernels += kernel.size * bitsPerKernel;
    const feedsBn = model.layers.some((c) => c.getClassName() === 'BatchNormalization' && c.inboundNodes.some((nd) => nd.inboundLayers.includes(l)));
    if (l.bias || feedsBn) biases += channels * plan.biasBits;
    if (plan.mode === 'ternary') scales += channels * plan.ternary!.scaleBits;
  }
  const total = kernels + biases + scales;
  return { kernelBits: bitsPerKernel, kernels, biases, scales, total, ebrBits, fits: ebrBits === undefined ? undefined : total <= ebrBits };
}
