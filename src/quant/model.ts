/**
 * The quantization-aware twin of an Architecture's model: the same layer plan (src/nn/plan.ts),
 * the same names and weight variables, with the Conv2D, DepthwiseConv2D, Dense, Activation, average
 * pooling and (fixed mode) LSTM, GRU and SimpleRNN layers replaced by the quantized layers of layers.ts. Built through build.ts's `layerFactory`,
 * so the two models cannot drift apart; weights copy between them by layer name.
 *
 * Which value is quantized where:
 *  - every kernel: fixed mode to `weights`, ternary mode to α·t (per filter); fixed mode also puts
 *    every bias on its accumulator's grid (biasFormatOf);
 *  - every value that leaves a layer to the next in the C: fixed-point `activations` format, or, in
 *    ternary mode with ternary activations, t ∈ {-1,0,1} at every non-linear activation (the
 *    logits and any linear output stay in the `activations` format);
 *  - average pooling rounds its averages to the `activations` format (also after ternary outputs:
 *    an average of ternary values is not ternary);
 *  - recurrent layers (QuantRecurrent): kernel and recurrent kernel in the layer's `weights` format
 *    (fixed mode; the bias on the gate sums' grid) or α·t (ternary mode, LSTM and SimpleRNN, whose
 *    gate products also read ternarized x_t and h_{t-1}: FaCT-LSTM), and every value the cell stores
 *    (gate sums and outputs, c, r ⊙ h, h) in the `activations` format, as the C stores them;
 *  - a convolution followed by BatchNormalization is not quantized at its output: in the C the BN
 *    is folded into it and the value leaves after the BN's activation (ternary kernels stay ternary
 *    under that fold: it multiplies each filter's α by the BN scale).
 * The model input is quantized in the data (see qat.ts), like the C's input layer does.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Architecture } from '../nn/arch';
import { buildModel, type BuildOptions } from '../nn/build';
import { planArchitecture, type ArchitecturePlan, type PlannedLayer } from '../nn/plan';
import { fracBits, type FixedFormat } from '../numerics/fixed';
import { layerWeightFormat, type QuantizationPlan } from './config';
import { QuantActivation, QuantAveragePooling2D, QuantConv2D, QuantDense, QuantDepthwiseConv2D, QuantRecurrent, type OutputQuantizer, type QuantConvArgs, type QuantDenseArgs, type QuantDepthwiseArgs, type QuantRecurrentArgs, type WeightQuantizer } from './layers';

/** The quantizer on the value a planned layer hands on, or undefined when it is not quantized there. */
export function outputQuantizerOf(l: PlannedLayer, archPlan: ArchitecturePlan, q: QuantizationPlan): OutputQuantizer | undefined {
  if (q.mode === 'float') return undefined;
  if (archPlan.layers.some((c) => c.kind === 'BatchNormalization' && c.inputs.includes(l.name))) return undefined;
  const act = l.config.activation ?? 'linear';
  if (q.mode === 'ternary' && q.ternary!.activations && act !== 'linear' && act !== 'softmax') {
    return { kind: 'ternary', threshold: q.ternary!.threshold, momentum: q.ternary!.momentum };
  }
  return { kind: 'fixed', format: q.activations! };
}

export function weightQuantizerOf(q: QuantizationPlan, layer: string): WeightQuantizer | undefined {
  if (q.mode === 'fixed') return { kind: 'fixed', format: layerWeightFormat(q, layer)! };
  if (q.mode === 'ternary') return { kind: 'ternary', threshold: q.ternary!.threshold };
  return undefined;
}

/**
 * Fixed mode: the bias on the accumulator's grid (frac = weights' frac + input's frac, the input
 * being in the activations format), `biasBits` wide: the format src/qmodel/apply.ts gives the C when the
 * biases fit it, so training adds exactly the bias the C adds. A recurrent gate sums at
 * P = fw + max(fx, fo); its input and its state are both in the activations format, so P is the same.
 */
export function biasFormatOf(q: QuantizationPlan, layer: string): FixedFormat | undefined {
  if (q.mode !== 'fixed') return undefined;
  const w = layerWeightFormat(q, layer)!;
  const accFrac = fracBits(w) + fracBits(q.activations!);
  return { bits: q.biasBits, integer: q.biasBits - accFrac, rounding: w.rounding, overflow: 'saturate' };
}

export function quantizedLayerFactory(archPlan: ArchitecturePlan, q: QuantizationPlan): NonNullable<BuildOptions['layerFactory']> {
  return (planned, _defaults, args) => {
    if (q.mode === 'float') return undefined;
    const weights = weightQuantizerOf(q, planned.name);
    const bias = biasFormatOf(q, planned.name);
    const output = outputQuantizerOf(planned, archPlan, q);
    const a = args as Record<string, never>; // the standard layer's arguments: name, filters, kernelSize, strides, ...
    switch (planned.kind) {
      case 'Conv2D':
        return new QuantConv2D({ ...(a as unknown as QuantConvArgs), quantizers: { weights, bias, output } });
      case 'DepthwiseConv2D':
        return new QuantDepthwiseConv2D({ ...(a as unknown as QuantDepthwiseArgs), quantizers: { weights, bias, output } });
      case 'Dense':
        return new QuantDense({ ...(a as unknown as QuantDenseArgs), quantizers: { weights, bias, output } });
      case 'Activation':
        return new QuantActivation({ name: planned.name, activation: planned.config.activation, quantizers: { output } });
      case 'AveragePooling2D':
        return new QuantAveragePooling2D({ name: planned.name, poolSize: planned.config.pool, strides: planned.config.stride, quantizers: { output: { kind: 'fixed', format: q.activations! } } });
      case 'LSTM':
      case 'GRU':
      case 'SimpleRNN': {
        // Every stored value of the cell (gates, c, h) is in the layer's output format, the activations
        // format (src/qmodel/apply.ts). Ternary mode (FaCT-LSTM; qat.ts refuses ternary GRUs): ternary
        // kernels and ternarized operands x_t, h_{t-1} of the gate products.
        const c = planned.config;
        const ternary = q.mode === 'ternary';
        if (ternary && planned.kind === 'GRU') throw new Error(`no ternary twin of the GRU layer ${planned.name}`);
        return new QuantRecurrent({
          name: planned.name,
          cell: planned.kind === 'LSTM' ? 'lstm' : planned.kind === 'GRU' ? 'gru' : 'simple_rnn',
          units: c.units!,
          returnSequences: c.returnSequences,
          activation: c.activation,
          recurrentActivation: c.recurrentActivation,
          unitForgetBias: planned.kind === 'LSTM',
          kernelInitializer: (args as { kernelInitializer?: QuantRecurrentArgs['kernelInitializer'] }).kernelInitializer,
          recurrentInitializer: (args as { recurrentInitializer?: QuantRecurrentArgs['recurrentInitializer'] }).recurrentInitializer,
          quantizers: ternary
            ? { weights: weights!, output: { kind: 'fixed', format: q.activations! }, operands: { threshold: q.ternary!.threshold, momentum: q.ternary!.momentum } }
            : { weights: { kind: 'fixed', format: layerWeightFormat(q, planned.name)! }, bias, output: { kind: 'fixed', format: q.activations! } },
        });
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalAveragePooling1D':
        return new QuantAveragePooling2D({ name: planned.name, global: true, quantizers: { output: { kind: 'fixed', format: q.activations! } } });
      default:
        return undefined;
    }
  };
}

/**
 * The model factory trainArchitecture loads by module path (training workers build the same model
 * on their own threads): `{ module: QUANTIZED_MODEL_MODULE, exportName: 'buildQuantizedModel', options: plan }`.
 */
export function buildQuantizedModel(arch: Architecture, seed: number, plan: QuantizationPlan): tf.LayersModel {
  return buildModel(arch, { seed, layerFactory: quantizedLayerFactory(planArchitecture(arch), plan) });
}

/** This module's path, for ModelFactoryRef (the .ts file under tsx, the .js file when built). */
export const QUANTIZED_MODEL_MODULE = __filename;
