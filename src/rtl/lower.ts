/**
 * The RTL's view of the quantized model: the shared lowering (src/qmodel/lower.ts: integer weights,
 * biases, scales, thresholds and formats, the same the TF.js integer reference reads) after a check
 * of what the hardware computes. The quantized model describes what the C computes; the RTL back end
 * computes less: one input and one output tensor, relu / relu6 / linear activations (a softmax only
 * on the output, where it is dropped), no dilation, concatenation on the channel axis only, adds of
 * equal-sized tensors, ternary outputs held as fixed<2,2>, and recurrent layers (LSTM, GRU,
 * SimpleRNN, fixed point; ternary FaCT-LSTM LSTM and SimpleRNN; src/rtl/recurrent.ts) whose output
 * format is at most RECURRENT_MAX_BITS wide.
 * Anything else is an error naming the layer, before any integer is computed.
 */
import type { Layer, ModelIR } from '../ir/types';
import { layerWhere, lowerModel, type QModel } from '../qmodel/lower';
import type { NumberKnobs } from '../qmodel/precision';
import { sizeOf } from '../ir/shapes';
import { DeepMakerError } from '../util/errors';
import { isRecurrent } from '../ir/recurrent';
import type { QRecurrent } from '../qmodel/lower';
import { RECURRENT_MAX_BITS } from './recurrent-plan';

const RTL_LAYER_TYPES = new Set([
  'dense', 'conv1d', 'conv2d', 'depthwise_conv2d',
  'maxpool1d', 'maxpool2d', 'avgpool1d', 'avgpool2d', 'global_avgpool1d', 'global_avgpool2d', 'global_maxpool1d', 'global_maxpool2d',
  'flatten', 'reshape', 'activation', 'zeropad1d', 'zeropad2d', 'add', 'concatenate', 'lstm', 'gru', 'simple_rnn',
]);

const SUPPORTED = 'dense, conv1d, conv2d, depthwise_conv2d, max/avg pool 1d/2d, global avg/max pool, flatten, reshape, zero padding, add, concatenate, activation (relu/linear), lstm, gru, simple_rnn';

/** Lowers the IR for the RTL generator, its cycle model and the DSE cost model: refuses what the RTL does not compute, then the shared lowering. */
export function lowerModelForRtl(ir: ModelIR, knobs: NumberKnobs): QModel {
  checkRtlSupport(ir, knobs);
  const q = lowerModel(ir, knobs);
  for (const op of q.ops) {
    const of = op.outFormat;
    if (op.kind === 'recurrent') checkRecurrent(op);
    if (op.act.ternary && (of.bits !== 2 || of.integer !== 2)) throw new DeepMakerError(`a ternary output must be in fixed<2,2>, not fixed<${of.bits},${of.integer}>`, { where: `layer '${op.layer}' (${op.irType})` });
  }
  if (q.outputs[0] === q.inputs[0].name) throw new DeepMakerError('the model computes nothing (its output is its input)', { where: ir.name });
  return q;
}

/** The RTL back end's restrictions on an IR, in layer order; the first one broken is an error naming the layer. */
export function checkRtlSupport(ir: ModelIR, knobs: NumberKnobs): void {
  if (knobs.mode !== 'fixed') {
    throw new DeepMakerError('the model is in floating point', { where: ir.name }, 'the RTL needs a fixed-point model: set convert.format: fixed');
  }
  if (ir.inputs.length !== 1) throw new DeepMakerError(`the RTL core takes one input tensor, the model has ${ir.inputs.length}`, { where: ir.name });
  if (ir.outputs.length !== 1) throw new DeepMakerError(`the RTL core has one output tensor, the model has ${ir.outputs.length}`, { where: ir.name });
  const byName = new Map(ir.layers.map((l) => [l.name, l]));
  if (!byName.has(ir.inputs[0])) throw new DeepMakerError(`input layer '${ir.inputs[0]}' is not in the layer list`, { where: ir.name });
  // Which layers' values are the output (through Flatten/Reshape): a softmax there is dropped.
  const source = (name: string): Layer | undefined => {
    let l = byName.get(name);
    while (l && (l.type === 'flatten' || l.type === 'reshape')) l = byName.get(l.inputs[0]);
    return l;
  };
  const outputLayer = source(ir.outputs[0]);
  for (const l of ir.layers) {
    const where = layerWhere(l);
    if (l.type === 'input') {
      if (l.name !== ir.inputs[0]) throw new DeepMakerError('a second input layer', { where });
      continue;
    }
    for (const shape of [l.outputShape, ...l.inputShapes]) {
      if (shape.length < 1 || shape.length > 3) throw new DeepMakerError(`tensor of rank ${shape.length} (${JSON.stringify(shape)}) is not supported by the RTL back end`, { where }, 'use tensors of rank 1 to 3 (channels_last)');
    }
    if ((l.dilation ?? []).some((d) => d !== 1)) throw new DeepMakerError(`dilation ${JSON.stringify(l.dilation)} is not supported in RTL`, { where }, 'use dilation 1');
    if (!RTL_LAYER_TYPES.has(l.type)) throw new DeepMakerError(`layer type '${l.type}' is not supported by the RTL back end`, { where }, `supported: ${SUPPORTED}`);
    // A recurrent layer's activations are its cell's (checked on the quantized op: checkRecurrent).
    if (!isRecurrent(l)) checkActivation(l, l === outputLayer);
    if (l.type === 'add') {
      const size = sizeOf(l.outputShape);
      if (l.inputShapes.some((s) => sizeOf(s) !== size)) throw new DeepMakerError(`adds tensors of different sizes (${l.inputShapes.map((s) => JSON.stringify(s)).join(' + ')})`, { where }, 'broadcasting adds are not supported in RTL');
    }
    if (l.type === 'concatenate') {
      const rank = l.outputShape.length;
      const axis = l.axis === undefined ? -1 : l.axis < 0 ? rank + l.axis : l.axis;
      if (axis !== rank - 1) throw new DeepMakerError(`concatenation on axis ${l.axis} is not supported in RTL`, { where }, 'concatenate on the channel (last) axis');
    }
  }
}

/** What the recurrent engine (src/rtl/recurrent.ts) computes: cells (fixed-point or ternary gate products) with activation tables of at most RECURRENT_MAX_BITS-bit integers. */
function checkRecurrent(op: QRecurrent): void {
  const where = `layer '${op.layer}' (${op.irType})`;
  if (op.outFormat.bits > RECURRENT_MAX_BITS) {
    throw new DeepMakerError(
      `a recurrent layer's activations are ROM tables indexed by the stored integer; its ${op.outFormat.bits}-bit output format needs ${2 ** op.outFormat.bits} words per function`,
      { where },
      `use activations of at most ${RECURRENT_MAX_BITS} bits (convert.activations or the layer's precision)`,
    );
  }
}

/** relu (no slope, no threshold; max_value allowed), linear, softmax on the output, ternary on a MAC layer (checked by the lowering). */
function checkActivation(l: Layer, isOutput: boolean): void {
  const a = l.activation ?? { kind: 'linear' };
  const where = layerWhere(l);
  switch (a.kind) {
    case 'linear':
      return;
    case 'relu':
      if (a.alpha) throw new DeepMakerError(`relu with negative slope ${a.alpha} is not supported in RTL`, { where }, 'use relu or linear');
      if (a.theta) throw new DeepMakerError(`relu with threshold ${a.theta} is not supported in RTL`, { where }, 'use relu or linear');
      return;
    case 'softmax':
      if (isOutput) return;
      throw new DeepMakerError('softmax inside the network is not supported in RTL', { where }, 'softmax is only allowed on the output layer (the core outputs logits and their argmax)');
    case 'ternary':
      if (['dense', 'conv1d', 'conv2d', 'depthwise_conv2d'].includes(l.type)) return;
    // falls through: a ternary output needs a MAC layer
    default:
      throw new DeepMakerError(`activation '${a.kind}' is not supported in RTL`, { where }, 'the RTL back end supports relu, relu with max_value (relu6), linear, and softmax on the output layer');
  }
}
