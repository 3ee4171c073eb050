/**
 * The `quantize` section of the spec, resolved into what quantization-aware training needs: the
 * mode, the fixed-point formats (with the rounding and overflow rules of the C, so that training
 * holds the values the C will hold) and the ternary options.
 */
import type { FixedFormat, Overflow, Rounding } from '../numerics/fixed';
import { DeepMakerError } from '../util/errors';
import { DEFAULT_THRESHOLD } from './ternary';

export type QuantMode = 'float' | 'fixed' | 'ternary';

/** The spec's `quantize` section (schemas/deepmaker.schema.json) after ajv filled the defaults. */
export interface QuantizeSpec {
  mode: QuantMode;
  /** Without `integer`: each layer's integer bits are fitted to its largest |weight| (see QuantizationPlan.weightIntegerAuto). */
  weights?: { bits: number; integer?: number };
  activations?: { bits: number; integer: number };
  ternary?: { activations?: boolean; threshold?: number; momentum?: number; scaleBits?: number };
  biasBits?: number;
  fineTune?: { epochs?: number; learningRate?: number; distill?: Distillation; earlyStopping?: FineTuneEarlyStopping; weightsFirst?: number };
}

export interface TernaryOptions {
  /** Ternarize activations too (ToT-Net), not only weights. */
  activations: boolean;
  /** Δ = threshold · mean|x|. */
  threshold: number;
  /** Moving-average momentum of the activation Δ (inference value). */
  momentum: number;
  /** Width of the per-filter scale α in the C (its integer bits are fitted to the largest α). */
  scaleBits: number;
}

/** What training and the quantization file need, fully resolved. */
export interface QuantizationPlan {
  mode: QuantMode;
  /**
   * Fixed mode: the kernels' format. With weightIntegerAuto its `integer` is only the fallback: the
   * format of each layer is in layerWeights.
   */
  weights?: FixedFormat;
  /**
   * Fixed mode without quantize.weights.integer: fine-tuning fits each layer's integer bits to the
   * largest |weight| of its (BatchNormalization-folded) float kernel and records them in layerWeights.
   * Folding often makes a few kernels large (a first conv's scale γ/σ), so one format for all
   * layers either saturates those or wastes the fraction bits of the rest.
   */
  weightIntegerAuto?: boolean;
  /** Per-layer kernel formats (by layer name), filled by quantization-aware training. */
  layerWeights?: Record<string, FixedFormat>;
  /** Fixed and ternary modes: every fixed-point activation (the input, hidden layers, the logits). */
  activations?: FixedFormat;
  ternary?: TernaryOptions;
  /**
   * Width of the biases in the C. Training keeps biases in float; the C stores each layer's biases
   * in this width with as many fractional bits as its largest bias allows, at most the
   * accumulator's (src/qmodel/apply.ts fits the format).
   */
  biasBits: number;
  fineTune: {
    epochs: number;
    learningRate?: number;
    distill?: Distillation;
    earlyStopping?: FineTuneEarlyStopping;
    /**
     * Ternary with ternary activations: this many epochs with ternary weights and fixed-point activations (the
     * activations format) before the `epochs` with both ternary, so that the weights settle before the activations
     * are cut to three levels (progressive quantization, Zhuang et al. 2018).
     */
    weightsFirst?: number;
  };
}

/**
 * quantize.fineTune.earlyStopping: the fine-tuning's own early stopping ({ patience }), or false for none (every epoch
 * runs and the last one is kept). Absent: train.earlyStopping's, as before it existed.
 */
export type FineTuneEarlyStopping = { patience: number } | false;

/** quantize.fineTune.distill: the float network teaches its quantized twin (src/nn/replica.ts Teacher). */
export interface Distillation {
  /** The soft targets' share of the loss, in (0, 1]. */
  weight: number;
  /** Softmax temperature of teacher and student in the soft term, ≥ 1. */
  temperature: number;
}

/**
 * The rate quantization-aware fine-tuning runs at: quantize.fineTune.learningRate, else a function of
 * the float training's rate. Fixed point starts close to the float network: a tenth of its rate.
 * Ternary starts far from it (10% validation accuracy on the default network before fine-tuning):
 * the full rate. The train stage and a quantization-aware search's twin (src/stages/nas.ts) both
 * take it from here, with the train stage's rate, so the search ranks the twin the train stage trains.
 */
export function fineTuneLearningRate(plan: Pick<QuantizationPlan, 'mode' | 'fineTune'>, floatRate: number): number {
  return plan.fineTune.learningRate ?? (plan.mode === 'fixed' ? floatRate / 10 : floatRate);
}

export const DEFAULT_WEIGHTS: { bits: number; integer?: number } = { bits: 8 };
/** The fallback integer bits of automatic weight formats (|w| < 1), used where no layer format applies. */
const AUTO_FALLBACK_INTEGER = 1;
export const DEFAULT_ACTIVATIONS = { bits: 8, integer: 4 };
/** The C's rounding and overflow when no convert section gives them (the schema's convert defaults). */
export const DEFAULT_NUMERICS: { rounding: Rounding; overflow: Overflow } = { rounding: 'half-even', overflow: 'saturate' };

/**
 * Resolves the section. `numerics` are the C's rounding and overflow (spec `convert`): the one
 * place they are chosen, so quantization-aware training and the C agree.
 */
export function resolveQuantization(spec: QuantizeSpec | undefined, numerics: { rounding: Rounding; overflow: Overflow }): QuantizationPlan {
  const mode = spec?.mode ?? 'float';
  const fmt = (f: { bits: number; integer: number }, where: string): FixedFormat => {
    if (!Number.isInteger(f.bits) || f.bits < 2 || f.bits > 32 || !Number.isInteger(f.integer)) {
      throw new DeepMakerError(`quantize.${where} = {bits: ${f.bits}, integer: ${f.integer}} is not a fixed-point format`, { where: `quantize.${where}` }, 'give bits in 2..32 and an integer number of integer bits');
    }
    return { bits: f.bits, integer: f.integer, rounding: numerics.rounding, overflow: numerics.overflow };
  };
  // Fine-tuning epochs: fixed point starts close to the float network (2 epochs at a tenth of its
  // rate, src/quant/qat.ts); ternary starts far from it and needs longer.
  const distill = spec?.fineTune?.distill;
  if (distill && !(distill.weight > 0 && distill.weight <= 1 && distill.temperature >= 1)) {
    throw new DeepMakerError(`quantize.fineTune.distill = {weight: ${distill.weight}, temperature: ${distill.temperature}}`, { where: 'quantize.fineTune.distill' }, 'give a weight in (0, 1] and a temperature of at least 1, e.g. { weight: 0.5, temperature: 2 }');
  }
  const stopping = spec?.fineTune?.earlyStopping;
  const weightsFirst = spec?.fineTune?.weightsFirst;
  if (weightsFirst !== undefined && !(mode === 'ternary' && spec?.ternary?.activations)) {
    throw new DeepMakerError(
      `quantize.fineTune.weightsFirst is ${weightsFirst} but ${mode === 'ternary' ? 'quantize.ternary.activations is not true' : `quantize.mode is ${mode}`}: it fine-tunes ternary weights before ternary activations`,
      { where: 'quantize.fineTune.weightsFirst' },
      'remove quantize.fineTune.weightsFirst, or set quantize.mode: ternary with ternary: { activations: true }',
    );
  }
  if (weightsFirst !== undefined && !(Number.isInteger(weightsFirst) && weightsFirst >= 1)) {
    throw new DeepMakerError(`quantize.fineTune.weightsFirst = ${weightsFirst}`, { where: 'quantize.fineTune.weightsFirst' }, 'give a whole number of epochs of at least 1');
  }
  if (stopping !== undefined && stopping !== false && !(Number.isInteger(stopping.patience) && stopping.patience >= 1)) {
    throw new DeepMakerError(`quantize.fineTune.earlyStopping.patience = ${stopping.patience}`, { where: 'quantize.fineTune.earlyStopping' }, 'give a whole number of epochs of at least 1, or false to run every fine-tuning epoch');
  }
  // Absent unless the spec distils or sets the fine-tuning's own early stopping, so that plans (and the search's keys
  // that hold them) stay the bytes they were.
  const fineTune = {
    epochs: spec?.fineTune?.epochs ?? (mode === 'ternary' ? 3 : 2),
    learningRate: spec?.fineTune?.learningRate,
    ...(distill ? { distill: { weight: distill.weight, temperature: distill.temperature } } : {}),
    ...(stopping !== undefined ? { earlyStopping: stopping === false ? (false as const) : { patience: stopping.patience } } : {}),
    ...(weightsFirst !== undefined ? { weightsFirst } : {}),
  };
  const biasBits = spec?.biasBits ?? 16;
  if (mode === 'float') return { mode, biasBits, fineTune };
  const activations = fmt(spec?.activations ?? DEFAULT_ACTIVATIONS, 'activations');
  if (mode === 'fixed') {
    const w = spec?.weights ?? DEFAULT_WEIGHTS;
    const auto = w.integer === undefined;
    return { mode, weights: fmt({ bits: w.bits, integer: w.integer ?? AUTO_FALLBACK_INTEGER }, 'weights'), ...(auto ? { weightIntegerAuto: true } : {}), activations, biasBits, fineTune };
  }
  const t = spec?.ternary ?? {};
  const ternary: TernaryOptions = {
    activations: t.activations ?? false,
    threshold: t.threshold ?? DEFAULT_THRESHOLD,
    momentum: t.momentum ?? 0.99,
    scaleBits: t.scaleBits ?? 16,
  };
  if (!(ternary.threshold > 0)) throw new DeepMakerError(`quantize.ternary.threshold = ${ternary.threshold}; need > 0`, { where: 'quantize.ternary.threshold' });
  return { mode, activations, ternary, biasBits, fineTune };
}

/** Bits per stored kernel value in a mode (the search's weight-memory objective uses the same figure). */
export function kernelBits(plan: QuantizationPlan): number {
  return plan.mode === 'ternary' ? 2 : plan.mode === 'fixed' ? plan.weights!.bits : 32;
}

/** The kernel format of one layer: its fitted format when there is one, else the plan's. */
export function layerWeightFormat(plan: QuantizationPlan, layer: string): FixedFormat | undefined {
  return plan.layerWeights?.[layer] ?? plan.weights;
}
