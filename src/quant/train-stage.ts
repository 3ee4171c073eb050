/**
 * The train stage's quantization step (called by src/stages/train.ts after float training, when the
 * spec's `quantize.mode` is fixed or ternary): fine-tunes the float model quantization-aware,
 * saves the model that convert reads (standard TF.js layers holding the quantized kernels) with
 * quantization.json beside it, and returns the report fields:
 *   quantization {mode, weights, activations, ternary, fineTuneEpochs, float {...}, quantized {...}},
 *   sparsity {weights, activations, layers}, weightBits, weightMemory {..., ebrBits, fits}.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Split } from '../data/tensors';
import type { Overflow, Rounding } from '../numerics/fixed';
import type { Architecture } from '../nn/arch';
import { saveModel } from '../nn/save';
import type { TrainOptions } from '../nn/train';
import { DEFAULT_NUMERICS, resolveQuantization, type QuantizeSpec } from './config';
import { QUANTIZATION_FILE, writeQuantizationFile } from '../qmodel/file';
import { quantizationAwareTraining, type QuantizationReport } from './qat';

/** What the train stage's spec view carries for quantization (src/stages/registry.ts). */
export interface QuantizeView {
  quantize?: QuantizeSpec;
  /** The C's rounding and overflow (spec `convert`): training must hold the values the C holds. */
  numerics?: { rounding: Rounding; overflow: Overflow };
  /** The target device's block RAM, for weightMemory.fits. */
  ebrBits?: number;
}

export interface QuantizedTraining {
  report: QuantizationReport;
  /** Files written into the model folder (model.json, shards, quantization.json). */
  files: string[];
  /** The quantized model's figures (the model handed on). */
  testAccuracy: number;
  testLoss: number;
  validationAccuracy: number;
  validationLoss: number;
}

export function quantizationEnabled(view: QuantizeView): boolean {
  return !!view.quantize && view.quantize.mode !== 'float';
}

/**
 * Runs quantization-aware fine-tuning and writes the model folder (model.json, shards, quantization.json).
 */
export async function quantizeTrainedModel(args: {
  view: QuantizeView;
  arch: Architecture;
  data: { train: Split; validation: Split; test: Split };
  floatModel: tf.LayersModel;
  train: Omit<TrainOptions, 'epochs' | 'modelFactory' | 'initFrom'>;
  modelDir: string;
  /** The float model's accuracies as the train stage measured them (the test split is evaluated once per model). */
  floatAccuracy?: { validation: number; test: number };
}): Promise<QuantizedTraining> {
  const plan = resolveQuantization(args.view.quantize, args.view.numerics ?? DEFAULT_NUMERICS);
  const r = await quantizationAwareTraining({ arch: args.arch, data: args.data, floatModel: args.floatModel, plan, train: args.train, ebrBits: args.view.ebrBits, floatAccuracy: args.floatAccuracy });
  const files = await saveModel(r.exported, args.modelDir, { output: 'logits', classes: args.arch.classes });
  writeQuantizationFile(args.modelDir, r.file);
  r.exported.dispose();
  r.model.dispose();
  const m = r.report.weightMemory;
  args.train.log?.info(
    `${plan.mode}: test accuracy ${(r.report.quantization.quantized.testAccuracy * 100).toFixed(2)}% (float ${(r.report.quantization.float.testAccuracy * 100).toFixed(2)}%), ` +
      `weight sparsity ${(r.report.sparsity.weights * 100).toFixed(1)}%, activation sparsity ${(r.report.sparsity.activations * 100).toFixed(1)}%, ` +
      `weights ${m.total} bits${m.ebrBits ? ` of ${m.ebrBits} EBR bits (${m.fits ? 'fits' : 'does not fit'})` : ''}`,
  );
  return {
    report: r.report,
    files: [...files, QUANTIZATION_FILE],
    ...r.report.quantization.quantized,
  };
}
