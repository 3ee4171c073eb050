/**
 * Hardware directives: the per-layer parallelism the RTL generator builds (schemas/directives.schema.json).
 *
 * The dse stage (issue #7) explores these and writes the chosen set; until it exists the rtl stage
 * derives a default set from `rtl.lanes`. `resolveDirectives` turns a (possibly partial) set into one
 * complete, checked directive per layer; the RTL generator and the cycle model (src/rtl/cycles.ts)
 * only ever see resolved directives, so the two cannot disagree on a default.
 */
import type { Layer, ModelIR } from '../ir/types';
import { DeepMakerError } from '../util/errors';

/**
 * outputs: lanes compute neighbouring output channels from one broadcast operand. reduction: lanes split
 * the input channels (a banked read) and an adder tree sums them. both: lanes / input.factor output
 * channels × input.factor input channels; each output's input.factor products are summed (a small tree).
 * window: a conv2d reading the model input; the loader stores, for every (row, output column), the
 * kw·C input values of that kernel row (src/rtl/plan.ts WindowLayout), so lanes / (kw·C) output
 * channels × the kw·C taps of a kernel row are computed at once (input.factor = kw·C).
 */
export type Unroll = 'outputs' | 'reduction' | 'both' | 'window';
export type Partition = 'cyclic' | 'block';
export type MultiplierKind = 'auto' | 'dsp' | 'lut';

/** One layer's directive as written in the file (every field optional). */
export interface LayerDirective {
  lanes?: number;
  unroll?: Unroll;
  pipeline?: boolean;
  weights?: { factor?: number; partition?: Partition };
  input?: { factor?: number; partition?: 'cyclic' };
  multiplier?: MultiplierKind;
}

/** The file: dist/dse/chosen.json `directives`, or what `defaultDirectives` makes. */
export type Architecture = 'engines' | 'array';

export interface DirectiveSet {
  version: 1;
  model?: string;
  device?: string;
  /**
   * engines: every MAC layer has its own lanes, weight ROMs and accumulators. array: one shared MAC
   * array (src/rtl/array.ts) with as many lanes as the widest layer's directive, driven by each MAC
   * engine in turn. Default: engines.
   */
  architecture?: Architecture;
  defaults?: LayerDirective;
  layers?: Record<string, LayerDirective>;
}

/** A complete directive for one layer, after defaults and checks. */
export interface ResolvedDirective {
  lanes: number;
  unroll: Unroll;
  pipeline: boolean;
  weights: { factor: number; partition: Partition };
  /** Banks of the buffer this layer reads (1 = not banked, every lane sees the same word). */
  input: { factor: number; partition: 'cyclic' };
  multiplier: MultiplierKind;
}

/** Layer types whose inner loop is a multiply-accumulate (they get lanes and weight ROMs). */
export const MAC_LAYERS = new Set(['dense', 'conv1d', 'conv2d', 'depthwise_conv2d']);

/** Recurrent layers: lanes over their gate·unit columns (src/rtl/recurrent.ts), unroll outputs only. */
export const RECURRENT_LAYERS = new Set(['lstm', 'gru', 'simple_rnn']);

/** Layers with lanes (a directive of their own): MAC layers and recurrent layers. */
export function hasLanes(type: string): boolean {
  return MAC_LAYERS.has(type) || RECURRENT_LAYERS.has(type);
}

/** Gate columns of a recurrent layer (gates × units). */
export function recurrentColumns(l: Layer): number {
  const gates = l.recurrent?.cell === 'lstm' ? 4 : l.recurrent?.cell === 'gru' ? 3 : 1;
  return gates * (l.units ?? lastDim(l.outputShape));
}

export function isPowerOfTwo(n: number): boolean {
  return n >= 1 && (n & (n - 1)) === 0;
}

/** Channels of the last axis of a shape (channels_last). */
function lastDim(shape: number[]): number {
  return shape[shape.length - 1];
}

/**
 * The default directive set when no dse chose one: `lanes` MAC lanes on every MAC layer, unrolling
 * output channels, clamped per layer to what that layer can use (no more lanes than output channels;
 * depthwise: the largest power of two ≤ lanes dividing its channels).
 */
export function defaultDirectives(ir: ModelIR, lanes: number): DirectiveSet {
  const layers: Record<string, LayerDirective> = {};
  for (const l of ir.layers) {
    if (!MAC_LAYERS.has(l.type) && !RECURRENT_LAYERS.has(l.type)) continue;
    layers[l.name] = { lanes: clampLanes(l, lanes), unroll: 'outputs', pipeline: true };
  }
  return { version: 1, model: ir.name, defaults: { lanes: 1, unroll: 'outputs', pipeline: true }, layers };
}

function clampLanes(l: Layer, lanes: number): number {
  if (RECURRENT_LAYERS.has(l.type)) return Math.max(1, Math.min(lanes, recurrentColumns(l)));
  const cout = lastDim(l.outputShape);
  if (l.type === 'depthwise_conv2d') {
    const cin = lastDim(l.inputShapes[0]);
    let p = 1;
    while (p * 2 <= lanes && cin % (p * 2) === 0) p *= 2;
    return p;
  }
  return Math.max(1, Math.min(lanes, cout));
}

/**
 * Complete and check a directive set against a model. Throws DeepMakerError naming the layer and
 * saying what to change when a directive cannot be built. `source` names the file for messages.
 */
export function resolveDirectives(ir: ModelIR, set: DirectiveSet, source = 'directives'): Map<string, ResolvedDirective> {
  const readers = tensorReaders(ir);
  if (set.version !== 1) throw new DeepMakerError(`unsupported directive-set version ${String(set.version)}`, { file: source }, 'write version: 1');
  const byName = new Map(ir.layers.map((l) => [l.name, l]));
  for (const name of Object.keys(set.layers ?? {})) {
    if (!byName.has(name)) {
      throw new DeepMakerError(`directive for layer '${name}', which the model does not have`, { file: source, where: name }, `layers are: ${ir.layers.map((l) => l.name).join(', ')}`);
    }
  }
  const out = new Map<string, ResolvedDirective>();
  for (const l of ir.layers) {
    const d: LayerDirective = { ...(set.defaults ?? {}), ...(set.layers?.[l.name] ?? {}) };
    const r = resolveLayer(l, d, set.layers?.[l.name], source);
    if (r.unroll === 'window') checkWindowInput(ir, l, readers, source);
    out.set(l.name, r);
  }
  return out;
}

function resolveLayer(l: Layer, d: LayerDirective, own: LayerDirective | undefined, source: string): ResolvedDirective {
  const where = { file: source, where: `layer '${l.name}' (${l.type})` };
  const pipeline = d.pipeline ?? true;
  const multiplier = d.multiplier ?? 'auto';
  if (RECURRENT_LAYERS.has(l.type)) {
    let lanes = d.lanes ?? 1;
    if (own?.lanes === undefined) lanes = clampLanes(l, lanes);
    const cols = recurrentColumns(l);
    if (!Number.isInteger(lanes) || lanes < 1) throw new DeepMakerError(`lanes must be a positive integer, got ${lanes}`, where);
    if ((d.unroll ?? 'outputs') !== 'outputs') throw new DeepMakerError(`unroll: ${d.unroll} on a recurrent layer: its lanes take neighbouring gate columns`, where, 'use unroll: outputs');
    if (lanes > cols) throw new DeepMakerError(`${lanes} lanes over ${cols} gate columns would leave lanes idle`, where, `use at most ${cols} lanes`);
    const wf = d.weights?.factor ?? lanes;
    if (wf !== lanes) throw new DeepMakerError(`weights.factor=${wf} but lanes=${lanes}: each lane reads its own weight bank every cycle`, where, `set weights.factor to ${lanes} or leave it out`);
    if ((d.weights?.partition ?? 'cyclic') !== 'cyclic') throw new DeepMakerError('a recurrent layer takes cyclic weight banking', where, 'use partition: cyclic');
    if (d.input?.factor !== undefined && d.input.factor !== 1) throw new DeepMakerError(`input.factor=${d.input.factor}: a recurrent layer reads one operand per cycle`, where, 'set input.factor to 1 or leave it out');
    if (l.ternary && multiplier === 'dsp') throw new DeepMakerError('a ternary layer has no multiplies for DSPs', where, 'use multiplier: auto');
    return { lanes, unroll: 'outputs', pipeline: true, weights: { factor: lanes, partition: 'cyclic' }, input: { factor: 1, partition: 'cyclic' }, multiplier };
  }
  if (!MAC_LAYERS.has(l.type)) {
    // Pools, element-wise and layout layers stream one element per cycle.
    if (own?.lanes !== undefined && own.lanes !== 1) {
      throw new DeepMakerError(`lanes=${d.lanes} on a ${l.type} layer: only dense, conv and depthwise layers have MAC lanes`, where, 'remove the directive or set lanes: 1');
    }
    return { lanes: 1, unroll: 'outputs', pipeline, weights: { factor: 1, partition: 'cyclic' }, input: { factor: 1, partition: 'cyclic' }, multiplier };
  }
  const cout = lastDim(l.outputShape);
  const cin = lastDim(l.inputShapes[0]);
  let lanes = d.lanes ?? 1;
  const unroll = d.unroll ?? 'outputs';
  // Defaults applied to many layers are clamped; a layer's own lanes are taken literally and checked.
  if (own?.lanes === undefined) lanes = clampLanes(l, lanes);
  if (!Number.isInteger(lanes) || lanes < 1) throw new DeepMakerError(`lanes must be a positive integer, got ${lanes}`, where);
  const banked = unroll === 'reduction' || l.type === 'depthwise_conv2d';
  if (unroll !== 'outputs' && l.type === 'depthwise_conv2d') {
    throw new DeepMakerError('a depthwise layer has no input-channel reduction to unroll', where, "use unroll: outputs (lanes then take neighbouring channels)");
  }
  if (unroll === 'both') return resolveBoth(l, d, lanes, cin, cout, pipeline, multiplier, where);
  if (unroll === 'window') return resolveWindow(l, d, lanes, cin, cout, pipeline, multiplier, where);
  if (unroll === 'outputs' && lanes > cout) {
    throw new DeepMakerError(`${lanes} lanes unrolling ${cout} output channels would leave lanes idle`, where, `use at most ${cout} lanes`);
  }
  if (banked && lanes > 1 && (!isPowerOfTwo(lanes) || cin % lanes !== 0)) {
    throw new DeepMakerError(
      `${lanes} lanes need the input buffer banked ${lanes} ways over ${cin} input channels`,
      where,
      'use a power of two that divides the input channels',
    );
  }
  const wFactor = d.weights?.factor ?? lanes;
  if (wFactor !== lanes) throw new DeepMakerError(`weights.factor=${wFactor} but lanes=${lanes}: each lane reads its own weight bank every cycle`, where, `set weights.factor to ${lanes} or leave it out`);
  const partition = d.weights?.partition ?? 'cyclic';
  if (partition === 'block' && unroll === 'reduction') throw new DeepMakerError('block weight banking is only for unroll: outputs', where, 'use partition: cyclic');
  const inFactor = banked ? lanes : 1;
  if (d.input?.factor !== undefined && d.input.factor !== inFactor) {
    throw new DeepMakerError(`input.factor=${d.input.factor} does not match the access pattern (${inFactor} bank(s) for unroll ${unroll})`, where, `set input.factor to ${inFactor} or leave it out`);
  }
  if (l.ternary && multiplier === 'dsp') throw new DeepMakerError('a ternary layer has no multiplies for DSPs', where, 'use multiplier: auto');
  return { lanes, unroll, pipeline, weights: { factor: wFactor, partition }, input: { factor: inFactor, partition: 'cyclic' }, multiplier };
}

/** unroll: both — lanes = (output channels per group) × input.factor (banks of the input, summed per output). */
function resolveBoth(l: Layer, d: LayerDirective, lanes: number, cin: number, cout: number, pipeline: boolean, multiplier: MultiplierKind, where: { file: string; where: string }): ResolvedDirective {
  const r = d.input?.factor ?? 2;
  if (!isPowerOfTwo(r) || r < 2 || cin % r !== 0) {
    throw new DeepMakerError(`input.factor=${r}: unroll both banks the input ${r} ways over ${cin} input channels`, where, 'use a power of two of at least 2 that divides the input channels');
  }
  if (lanes % r !== 0 || lanes / r < 2) {
    throw new DeepMakerError(`${lanes} lanes are not (output channels) × input.factor=${r} with at least 2 output channels`, where, `use a multiple of ${r} of at least ${2 * r} lanes, or unroll: reduction`);
  }
  if (lanes / r > cout) throw new DeepMakerError(`${lanes / r} output channels per group of ${cout} would leave lanes idle`, where, `use at most ${cout * r} lanes`);
  const wFactor = d.weights?.factor ?? lanes;
  if (wFactor !== lanes) throw new DeepMakerError(`weights.factor=${wFactor} but lanes=${lanes}: each lane reads its own weight bank every cycle`, where, `set weights.factor to ${lanes} or leave it out`);
  if (l.ternary && multiplier === 'dsp') throw new DeepMakerError('a ternary layer has no multiplies for DSPs', where, 'use multiplier: auto');
  return { lanes, unroll: 'both', pipeline, weights: { factor: wFactor, partition: d.weights?.partition ?? 'cyclic' }, input: { factor: r, partition: 'cyclic' }, multiplier };
}

/** The layers that read each tensor (layer output or model input), by tensor name. */
export function tensorReaders(ir: ModelIR): Map<string, string[]> {
  const readers = new Map<string, string[]>();
  for (const l of ir.layers) for (const i of l.inputs) readers.set(i, [...(readers.get(i) ?? []), l.name]);
  return readers;
}

/** Taps a kernel row of a layer has (kw · input channels): the lanes of one output of unroll window. */
export function windowTaps(l: Layer): number {
  return (l.kernel?.[1] ?? 1) * lastDim(l.inputShapes[0]);
}

/**
 * unroll: window — a conv2d whose input is the model's input tensor: lanes = (output channels per group)
 * × kw·C, and input.factor = kw·C (the words the loader writes; src/rtl/plan.ts WindowLayout).
 */
function resolveWindow(l: Layer, d: LayerDirective, lanes: number, cin: number, cout: number, pipeline: boolean, multiplier: MultiplierKind, where: { file: string; where: string }): ResolvedDirective {
  if (l.type !== 'conv2d') {
    throw new DeepMakerError(`unroll: window on a ${l.type} layer: only a conv2d reading the model input has a kernel window the input loader can lay out`, where, 'use unroll: outputs, reduction or both');
  }
  const R = windowTaps(l);
  const kw = l.kernel?.[1] ?? 1;
  if (R < 2) throw new DeepMakerError('unroll: window on a kernel 1 wide over 1 input channel: a kernel row is one tap', where, 'use unroll: outputs');
  if (lanes % R !== 0) {
    throw new DeepMakerError(`${lanes} lanes are not (output channels) × ${R} taps (kernel width ${kw} × ${cin} input channels)`, where, `use a multiple of ${R} lanes (${R}, ${2 * R}, ...)`);
  }
  if (lanes / R > cout) throw new DeepMakerError(`${lanes / R} output channels per group of ${cout} would leave lanes idle`, where, `use at most ${cout * R} lanes`);
  if (d.input?.factor !== undefined && d.input.factor !== R) {
    throw new DeepMakerError(`input.factor=${d.input.factor}: unroll window reads the ${R} taps of a kernel row (kernel width ${kw} × ${cin} channels) at once`, where, `set input.factor to ${R} or leave it out`);
  }
  const wFactor = d.weights?.factor ?? lanes;
  if (wFactor !== lanes) throw new DeepMakerError(`weights.factor=${wFactor} but lanes=${lanes}: each lane reads its own weight bank every cycle`, where, `set weights.factor to ${lanes} or leave it out`);
  if (l.ternary && multiplier === 'dsp') throw new DeepMakerError('a ternary layer has no multiplies for DSPs', where, 'use multiplier: auto');
  return { lanes, unroll: 'window', pipeline, weights: { factor: wFactor, partition: d.weights?.partition ?? 'cyclic' }, input: { factor: R, partition: 'cyclic' }, multiplier };
}

/** unroll window rewrites the model input's layout: its layer must read the model input, and be its only reader. */
function checkWindowInput(ir: ModelIR, l: Layer, readers: Map<string, string[]>, source: string): void {
  const where = { file: source, where: `layer '${l.name}' (${l.type})` };
  const input = ir.layers.find((x) => x.name === l.inputs[0]);
  if (!input || input.type !== 'input' || !ir.inputs.includes(input.name)) {
    throw new DeepMakerError(
      `unroll: window needs the layer to read the model input (the loader lays it out as kernel windows), but it reads '${l.inputs[0]}'`,
      where,
      'use unroll: both or reduction for layers after the first',
    );
  }
  const others = (readers.get(input.name) ?? []).filter((n) => n !== l.name);
  if (others.length > 0) {
    throw new DeepMakerError(
      `unroll: window stores the model input as kernel windows, but layer(s) ${others.map((n) => `'${n}'`).join(', ')} read it too`,
      where,
      'use unroll: outputs, reduction or both on this layer',
    );
  }
}
