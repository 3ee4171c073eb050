/**
 * The NAS hook: hardware objectives for the architecture search, from the DSE cost model.
 *
 *   cycles  predicted cycles per inference of the fastest directive set that fits target.device
 *           (exact for the RTL that would be generated; src/dse/cost-model.ts hardwareObjective)
 *   luts    the logic cells of that point once packed with the board top (the calibrated predictor
 *           and src/dse/packing.ts): what the device will use
 *
 * Both are known before training: the candidate's layer plan (src/nn/plan.ts) becomes an IR with
 * placeholder weights (resources and cycles do not depend on weight values) at the quantize
 * section's precision. Recurrent layers (LSTM, GRU with reset_after false, SimpleRNN) map to the IR
 * the converter builds for them, so a recurrent search ranks by the recurrent engine's cycles.
 * A network the RTL cannot build (an activation it lacks, an activation format wider than the recurrent tables take) or that does not fit
 * even with one lane per layer gets UNBUILDABLE, so constraint-domination and the objective push it
 * out. Results are memoised per candidate, so asking for both objectives costs one evaluation.
 */
import type { NumberKnobs } from '../qmodel/precision';
import { getDevice } from '../fpga/devices';
import type { Activation, Layer, LayerType, ModelIR, RecurrentConfig, WeightTensor } from '../ir/types';
import { recurrentWeightShape } from '../ir/recurrent';
import { assignLoopNestIds } from '../ir/assignLoopNestIds';
import { registerObjectiveProvider, type CandidateFacts } from '../nas/objectives';
import type { ArchActivation, Architecture, RecurrentActivation } from '../nn/arch';
import { planArchitecture } from '../nn/plan';
import type { QuantizationPlan } from '../quant/config';
import { DeepMakerError, isDeepMakerError } from '../util/errors';
import { hardwareObjective, HardwareObjective } from './cost-model';

/** The value a hardware objective takes for a network the RTL cannot build or the device cannot hold. */
export const UNBUILDABLE = 1e12;

function activation(a: ArchActivation | RecurrentActivation | undefined): Activation {
  if (!a || a === 'linear' || a === 'softmax') return { kind: 'linear' };
  if (a === 'relu6') return { kind: 'relu', maxValue: 6 };
  // As TF.js defines it (the train stage's models come from TF.js): clip(0.2x + 0.5, 0, 1).
  if (a === 'hard_sigmoid') return { kind: 'hard_sigmoid', alpha: 0.2 };
  return { kind: a };
}

/** The IR the convert stage would produce for this architecture (BatchNormalization folded, Dropout gone), with zero weights. */
export function architectureIR(arch: Architecture, plan: QuantizationPlan, name = 'candidate'): ModelIR {
  const p = planArchitecture(arch);
  const layers: Layer[] = [{ name: 'input', type: 'input', inputs: [], inputShapes: [], outputShape: [...arch.input], activation: { kind: 'linear' }, weights: {} }];
  const shapeOf = new Map<string, number[]>([['input', [...arch.input]]]);
  const rename = new Map<string, string>([['input', 'input']]);
  const src = (n: string) => rename.get(n) ?? n;
  const ternary = plan.mode === 'ternary';
  const fmt = (bits: number, integer: number) => ({ bits, integer, rounding: 'half-even' as const, overflow: 'saturate' as const });
  for (const l of p.layers) {
    const inputs = l.inputs.map(src);
    const inputShapes = inputs.map((n) => shapeOf.get(n)!);
    const mac = l.kind === 'Conv2D' || l.kind === 'Dense' || l.kind === 'DepthwiseConv2D';
    if (l.kind === 'Dropout' || l.kind === 'BatchNormalization') {
      // Gone after the normalizing passes (BatchNormalization folds into the layer before it).
      rename.set(l.name, inputs[0]);
      continue;
    }
    if (l.kind === 'Activation') {
      // A post-BatchNormalization activation fuses into the convolution before it.
      const prev = layers[layers.length - 1];
      if (prev.name === inputs[0] && MAC_KINDS.has(prev.type) && prev.activation.kind === 'linear') {
        prev.activation = activation(l.config.activation);
        rename.set(l.name, prev.name);
        continue;
      }
    }
    const type = IR_TYPE[l.kind];
    const cell = RECURRENT_CELL[l.kind];
    if (cell) {
      // As the converter imports a trained recurrent layer: Keras's weight layout, the cell's
      // functions in `recurrent`, the layer's own activation linear (src/ir/types.ts RecurrentConfig).
      const recurrent: RecurrentConfig = {
        cell,
        activation: activation(l.config.activation ?? 'tanh'),
        recurrentActivation: cell === 'simple_rnn' ? { kind: 'linear' } : activation(l.config.recurrentActivation ?? 'sigmoid'),
        returnSequences: !!l.config.returnSequences,
        goBackwards: false,
        ...(cell === 'gru' ? { resetAfter: !!l.config.resetAfter } : {}),
      };
      const layer: Layer = { name: l.name, type: cell, inputs, inputShapes, outputShape: l.outputShape, activation: { kind: 'linear' }, weights: {}, units: l.config.units, recurrent, useBias: true };
      const tensor = (slot: 'kernel' | 'recurrentKernel' | 'bias') => zeros(recurrentWeightShape(layer, slot));
      layer.weights = { kernel: tensor('kernel'), recurrentKernel: tensor('recurrentKernel'), bias: tensor('bias') };
      layers.push(layer);
      shapeOf.set(l.name, l.outputShape);
      continue;
    }
    if (!type) {
      throw new DeepMakerError(
        `layer ${l.name} (${l.kind}) is not mapped by the search's hardware objective yet, so the hardware cost model cannot cost it`,
        { where: `architecture.layers[${l.node}]` },
        'search recurrent networks without the hardware objectives (cycles, luts) and constraints (maxCycles, maxLuts)',
      );
    }
    const cin = inputShapes[0][inputShapes[0].length - 1];
    const cout = l.outputShape[l.outputShape.length - 1];
    const layer: Layer = { name: l.name, type, inputs, inputShapes, outputShape: l.outputShape, activation: activation(l.config.activation), weights: {} };
    if (mac) {
      const k = l.config.kernel ?? 1;
      const kernelShape = l.kind === 'Dense' ? [cin, cout] : l.kind === 'DepthwiseConv2D' ? [k, k, cin, 1] : [k, k, cin, cout];
      layer.weights = { kernel: zeros(kernelShape), bias: zeros([cout]) };
      layer.useBias = true;
      if (l.kind !== 'Dense') Object.assign(layer, { kernel: [k, k], strides: [l.config.stride ?? 1, l.config.stride ?? 1], dilation: [1, 1], padding: l.config.padding ?? 'valid' });
      if (l.kind === 'Dense') layer.units = cout;
      else if (l.kind === 'Conv2D') layer.filters = cout;
      else layer.depthMultiplier = 1;
      if (ternary) {
        layer.ternary = { scale: new Float32Array(cout).fill(1) };
        layer.precision = { weights: fmt(2, 2), scale: fmt(plan.ternary?.scaleBits ?? 16, 1) };
      }
    } else if (l.kind === 'MaxPooling2D' || l.kind === 'AveragePooling2D') {
      Object.assign(layer, { pool: [l.config.pool!, l.config.pool!], strides: [l.config.stride ?? l.config.pool!, l.config.stride ?? l.config.pool!], padding: 'valid' });
    } else if (l.kind === 'Concatenate') {
      layer.axis = -1;
    }
    layers.push(layer);
    shapeOf.set(l.name, l.outputShape);
  }
  const ir: ModelIR = { name, source: { format: 'tfjs-layers', file: 'architecture' }, layers, inputs: ['input'], outputs: [src(p.output)] };
  return assignLoopNestIds(ir);
}

/** A placeholder weight tensor: resources and cycles do not depend on the values. */
function zeros(shape: number[]): WeightTensor {
  return { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

const MAC_KINDS = new Set<LayerType>(['dense', 'conv2d', 'depthwise_conv2d', 'conv1d']);

const IR_TYPE: Record<string, LayerType> = {
  Conv2D: 'conv2d',
  DepthwiseConv2D: 'depthwise_conv2d',
  MaxPooling2D: 'maxpool2d',
  AveragePooling2D: 'avgpool2d',
  GlobalAveragePooling2D: 'global_avgpool2d',
  Flatten: 'flatten',
  Dense: 'dense',
  Concatenate: 'concatenate',
  Activation: 'activation',
  GlobalAveragePooling1D: 'global_avgpool1d',
  GlobalMaxPooling1D: 'global_maxpool1d',
};

const RECURRENT_CELL: Record<string, RecurrentConfig['cell']> = { LSTM: 'lstm', GRU: 'gru', SimpleRNN: 'simple_rnn' };

/** The number knobs the convert stage would use for this quantization (float networks: the C's default 16-bit fixed point). */
export function quantizationKnobs(plan: QuantizationPlan): NumberKnobs {
  const a = plan.activations ?? { bits: 16, integer: 6 };
  const w = plan.mode === 'fixed' && plan.weights ? plan.weights : plan.mode === 'ternary' ? { bits: 2, integer: 2 } : { bits: 16, integer: 6 };
  return { mode: 'fixed', weights: { bits: w.bits, integer: w.integer }, biases: { bits: plan.biasBits, integer: a.integer }, activations: { bits: a.bits, integer: a.integer }, accumulatorBits: 0, rounding: 'half-even', overflow: 'saturate' };
}

const memo = new Map<string, HardwareObjective | undefined>();

/** The hardware objective of a NAS candidate (memoised); undefined when the RTL cannot build it. */
export function candidateHardware(c: CandidateFacts, margin = 0.1): HardwareObjective | undefined {
  const key = JSON.stringify([c.arch, c.quantization, c.device, c.maxLanes, margin]);
  if (memo.has(key)) return memo.get(key);
  let out: HardwareObjective | undefined;
  try {
    out = hardwareObjective({ ir: architectureIR(c.arch, c.quantization), knobs: quantizationKnobs(c.quantization), device: getDevice(c.device), maxLanes: c.maxLanes, margin });
  } catch (e) {
    if (!isDeepMakerError(e)) throw e;
    out = undefined;
  }
  if (memo.size > 5000) memo.clear();
  memo.set(key, out);
  return out;
}

registerObjectiveProvider({
  name: 'cycles',
  description: 'predicted cycles per inference of the fastest directive set that fits target.device (DSE cost model)',
  measure: (c) => {
    const h = candidateHardware(c);
    return h && h.fits ? h.cycles : UNBUILDABLE;
  },
});

registerObjectiveProvider({
  name: 'luts',
  description: 'predicted logic cells of that directive set once packed with the board top (DSE calibrated predictor and packing model)',
  measure: (c) => {
    const h = candidateHardware(c);
    return h && h.fits ? h.packedLogicCells : UNBUILDABLE;
  },
});
