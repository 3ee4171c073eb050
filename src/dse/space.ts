/**
 * The directive space: one partition per top-level loop nest of the IR (= one C function dm_<id>
 * of the convert stage = one engine of the RTL), and for each partition the directive choices that
 * are legal for the hardware this project generates.
 *
 * A choice fixes, for the loop nest's MAC loop:
 *  - `lanes`: the unroll factor of the loop the RTL parallelizes;
 *  - `unroll`: which loop that is: `outputs` (output channels: Dense units, Conv filters,
 *    depthwise channels) or `reduction` (input channels of one output, summed by an adder tree),
 *    `both` (some of each), or `window` (the conv2d reading the model input: a kernel row's kw·C
 *    taps at once from the loader's window words, src/rtl/plan.ts WindowLayout);
 *  - `pipeline`: the reduction loop at II = 1 with the write-back of one group overlapping the next;
 *  - the array partitioning of the arrays the loop reads: the weight array is always split into
 *    `lanes` banks (cyclic or block over output channels), the input activation array into `lanes`
 *    cyclic banks over input channels when the lanes read different inputs (unroll reduction,
 *    depthwise), else one bank broadcast to every lane;
 *  - `multiplier`: DSP blocks where the device has them (`auto`) or LUT multipliers (`lut`).
 *
 * Legality rules (the same rules src/rtl/directives.ts enforces, stated here because the search
 * only ever proposes legal choices):
 *  - banks feed lanes: every lane reads one word per cycle from its own bank, so a partition
 *    factor always equals the lane count (weights) or is 1 / the lane count (inputs);
 *  - unroll reduction and depthwise unroll bank the input buffer cyclically over channels, which
 *    the address logic does with the low bits of the channel index: lanes must be a power of two
 *    dividing the channel count (no remainder loop on this axis);
 *  - unroll outputs may leave a remainder: when lanes do not divide the output channels, the last
 *    group runs with the remaining channels only (its other lanes compute on zero weights and are
 *    not written). That remainder is handled by the RTL, so such factors are legal; a factor is
 *    offered only when it lowers the number of groups ceil(C/lanes) below every smaller factor's
 *    (otherwise it costs lanes for no cycle);
 *  - a lane-parallel read also needs the tensor's place in its buffer aligned to the banks: when a
 *    concatenation is a zero-copy view (src/rtl/concat.ts), a tensor sits at a channel offset inside
 *    a wider pixel, and banked lanes must divide both that pixel stride and the offset. This rule
 *    and any other the RTL planner enforces are not restated here: the cost model offers a choice
 *    only when src/rtl's own planner (buildPlans) builds it (SpaceOptions.accept);
 *  - lanes ≤ dse.maxLanes, ≤ 64 (the directive schema), ≤ the channels they unroll;
 *  - ternary layers have no multipliers: `multiplier` is `auto` only;
 *  - whole-design rules checked per point: a buffer read by two lane-parallel engines has one
 *    banking (so both must use the same lanes); DSP blocks: `auto` takes DSPs in layer order while
 *    the device has them left and LUT multipliers after that, so a point never asks for more DSPs
 *    than exist; the device's logic cells, EBR, DSP and SPRAM, less the spec's margin.
 * Recurrent layers (LSTM, GRU, SimpleRNN) get lanes over their gate·unit columns (unroll outputs,
 * pipelined, cyclic weight banks; src/rtl/recurrent.ts), the lane counts outputLaneOptions offers.
 * Pools and element-wise layers have one fixed choice (one element per cycle) but are partitions
 * too: their cycles and logic count.
 */
import type { Layer, ModelIR } from '../ir/types';
import type { Architecture, DirectiveSet, LayerDirective, MultiplierKind, Partition, Unroll } from '../rtl/directives';
import { hasLanes, MAC_LAYERS, RECURRENT_LAYERS, recurrentColumns, tensorReaders, windowTaps } from '../rtl/directives';
import { DeepMakerError } from '../util/errors';

/** Largest lane count the directive schema allows. */
export const SCHEMA_MAX_LANES = 64;

export interface PartitionChoice {
  lanes: number;
  unroll: Unroll;
  pipeline: boolean;
  /** Weight banking over output channels (meaningful with lanes > 1 and unroll outputs). */
  partition: Partition;
  multiplier: MultiplierKind;
  /** unroll both: the input banks each output is split over (lanes / inputBanks output channels at once); window: the kw·C taps of a kernel row. */
  inputBanks?: number;
}

export interface DsePartition {
  /** IR layer name (what directives bind to). */
  layer: string;
  type: string;
  /** The C loop nest id (dm_<id>, loop labels <id>_<var>), when the layer has one. */
  loopNest?: string;
  /** Trip counts of the loops the directives act on. */
  trips: { outputs: number; reduction: number; positions: number; kernel: number };
  /** Legal choices, the one-lane baseline first. Pools and element-wise layers have exactly one. */
  choices: PartitionChoice[];
}

export interface DirectiveSpace {
  model: string;
  device: string;
  partitions: DsePartition[];
  /** Indices (into `partitions`) of the partitions with more than one choice: the genome's genes. */
  genes: number[];
  /** Number of points: the product of the choice counts. */
  size: number;
  /** engines: lanes per layer; array: the layers' lanes on one shared MAC array (as many lanes as the most any layer takes). */
  architecture: Architecture;
}

export interface SpaceOptions {
  maxLanes: number;
  architecture?: Architecture;
  /** The device has DSP blocks (then `lut` multipliers are a choice too). */
  hasDsp: boolean;
  device: string;
  /** Only these layers are partitions (the layers that become engines; default: every layer that moves data). */
  layers?: Set<string>;
  /**
   * The generator's verdict on a non-baseline choice (the cost model asks the RTL planner): choices
   * it refuses are not offered. The one-lane baseline is always kept (it reads every buffer one
   * element at a time, so no banking rule applies to it).
   */
  accept?: (layer: Layer, choice: PartitionChoice) => boolean;
  /**
   * Offer unroll window on the conv2d that is the model input's only reader (default true; the cost
   * model turns it off on the shared array when asked, and a comparison can turn it off).
   */
  window?: boolean;
  /** Layers that read a model input and are its only reader (buildSpace fills it from the IR). */
  inputReaders?: Set<string>;
}

const BASELINE: PartitionChoice = { lanes: 1, unroll: 'outputs', pipeline: true, partition: 'cyclic', multiplier: 'auto' };

function lastDim(shape: number[]): number {
  return shape[shape.length - 1];
}

/** Lane counts worth offering for an outputs unroll of `c` channels: each strictly lowers ceil(c / lanes). */
export function outputLaneOptions(c: number, max: number): number[] {
  const out: number[] = [];
  let groups = Infinity;
  for (let l = 1; l <= Math.min(c, max); l++) {
    const g = Math.ceil(c / l);
    if (g < groups) {
      out.push(l);
      groups = g;
    }
  }
  return out;
}

/** Powers of two ≤ max dividing c (1 included). */
export function bankedLaneOptions(c: number, max: number): number[] {
  const out: number[] = [];
  for (let l = 1; l <= Math.min(c, max); l *= 2) if (c % l === 0) out.push(l);
  return out;
}

function trips(l: Layer): DsePartition['trips'] {
  const x = l.inputShapes[0] ?? l.outputShape;
  const cin = lastDim(x);
  const cout = lastDim(l.outputShape);
  const positions = l.outputShape.slice(0, -1).reduce((a, b) => a * b, 1);
  const kernel = (l.kernel ?? [1]).reduce((a, b) => a * b, 1);
  if (l.type === 'depthwise_conv2d') return { outputs: cout, reduction: kernel, positions, kernel };
  // A recurrent layer: the gate columns, each a sum over features + units, at every time step.
  if (RECURRENT_LAYERS.has(l.type)) return { outputs: recurrentColumns(l), reduction: x[1] + (l.units ?? cout), positions: x[0], kernel: 1 };
  if (MAC_LAYERS.has(l.type)) return { outputs: cout, reduction: cin * kernel, positions, kernel };
  return { outputs: cout, reduction: l.pool ? l.pool.reduce((a, b) => a * b, 1) : 1, positions, kernel: 1 };
}

/** The legal choices of one layer (the baseline first). */
export function layerChoices(l: Layer, opts: SpaceOptions): PartitionChoice[] {
  if (!hasLanes(l.type)) return [BASELINE];
  const max = Math.min(opts.maxLanes, SCHEMA_MAX_LANES);
  if (RECURRENT_LAYERS.has(l.type)) {
    // The recurrent engine (src/rtl/recurrent.ts): lanes over the gate columns, always pipelined, cyclic banks.
    const ms: MultiplierKind[] = opts.hasDsp && !l.ternary ? ['auto', 'lut'] : ['auto'];
    return outputLaneOptions(recurrentColumns(l), max).flatMap((lanes) => ms.map((multiplier) => ({ lanes, unroll: 'outputs' as const, pipeline: true, partition: 'cyclic' as const, multiplier })));
  }
  const cin = lastDim(l.inputShapes[0]);
  const cout = lastDim(l.outputShape);
  const multipliers: MultiplierKind[] = opts.hasDsp && !l.ternary ? ['auto', 'lut'] : ['auto'];
  const out: PartitionChoice[] = [];
  const push = (lanes: number, unroll: Unroll, partition: Partition, inputBanks?: number) => {
    for (const pipeline of [true, false]) for (const multiplier of multipliers) out.push({ lanes, unroll, pipeline, partition, multiplier, ...(inputBanks ? { inputBanks } : {}) });
  };
  if (l.type === 'depthwise_conv2d') {
    for (const lanes of bankedLaneOptions(cin, max)) push(lanes, 'outputs', 'cyclic');
    return out;
  }
  for (const lanes of outputLaneOptions(cout, max)) {
    push(lanes, 'outputs', 'cyclic');
    // Block banking only differs from cyclic with more than one lane.
    if (lanes > 1) push(lanes, 'outputs', 'block');
  }
  // A one-lane reduction unroll is the one-lane outputs unroll: not offered twice.
  for (const lanes of bankedLaneOptions(cin, max)) if (lanes > 1) push(lanes, 'reduction', 'cyclic');
  // Both: at least 2 output channels x r input banks (more lanes than the output channels alone give).
  for (const r of bankedLaneOptions(cin, Math.floor(max / 2))) {
    if (r < 2) continue;
    for (const lo of outputLaneOptions(cout, Math.floor(max / r))) if (lo > 1) push(lo * r, 'both', 'cyclic', r);
  }
  // Window: the model input's reader takes a kernel row (kw x C taps) per cycle, lo output channels at once.
  if (l.type === 'conv2d' && opts.window !== false && opts.inputReaders?.has(l.name)) {
    const R = windowTaps(l);
    if (R > 1) for (const lo of outputLaneOptions(cout, Math.floor(max / R))) push(lo * R, 'window', 'cyclic', R);
  }
  return out;
}

export function buildSpace(ir: ModelIR, opts: SpaceOptions): DirectiveSpace {
  if (!(opts.maxLanes >= 1)) throw new DeepMakerError(`dse.maxLanes must be at least 1, got ${opts.maxLanes}`, { where: 'dse.maxLanes' });
  const partitions: DsePartition[] = [];
  // The layers that read a model input and are its only reader: unroll window may lay that input out.
  const readers = tensorReaders(ir);
  const inputReaders = new Set(ir.inputs.flatMap((i) => (readers.get(i)?.length === 1 ? readers.get(i)! : [])));
  opts = { ...opts, inputReaders: opts.inputReaders ?? inputReaders };
  for (const l of ir.layers) {
    // Input, Flatten and Reshape (free in hardware) are not partitions; every other layer is one engine.
    if (l.type === 'input' || l.type === 'flatten' || l.type === 'reshape') continue;
    if (opts.layers && !opts.layers.has(l.name)) continue;
    const accept = opts.accept;
    const choices = layerChoices(l, opts).filter((c, i) => i === 0 || !accept || accept(l, c));
    partitions.push({ layer: l.name, type: l.type, loopNest: l.loopNest, trips: trips(l), choices });
  }
  const genes = partitions.flatMap((p, i) => (p.choices.length > 1 ? [i] : []));
  const size = partitions.reduce((a, p) => a * p.choices.length, 1);
  return { model: ir.name, device: opts.device, partitions, genes, size, architecture: opts.architecture ?? 'engines' };
}

/** A point of the space: one choice index per partition. */
export type Genome = number[];

export function baselineGenome(space: DirectiveSpace): Genome {
  return space.partitions.map(() => 0);
}

export function genomeKey(g: Genome): string {
  return g.join('.');
}

export function choicesOf(space: DirectiveSpace, g: Genome): PartitionChoice[] {
  return space.partitions.map((p, i) => p.choices[g[i]]);
}

/** The directive file (schemas/directives.schema.json) of a point. Only layers with lanes (MAC, recurrent) are listed. */
export function toDirectiveSet(space: DirectiveSpace, g: Genome): DirectiveSet {
  const layers: Record<string, LayerDirective> = {};
  space.partitions.forEach((p, i) => {
    if (!hasLanes(p.type)) return;
    layers[p.layer] = choiceDirective(p, p.choices[g[i]]);
  });
  return { version: 1, model: space.model, device: space.device, ...(space.architecture === 'array' ? { architecture: 'array' as const } : {}), defaults: { lanes: 1, unroll: 'outputs', pipeline: true }, layers };
}

export function choiceDirective(p: Pick<DsePartition, 'type'>, c: PartitionChoice): LayerDirective {
  const banked = c.unroll === 'reduction' || p.type === 'depthwise_conv2d';
  const d: LayerDirective = { lanes: c.lanes, unroll: c.unroll, pipeline: c.pipeline, weights: { factor: c.lanes, partition: c.partition }, multiplier: c.multiplier };
  d.input = { factor: c.unroll === 'both' ? c.inputBanks ?? 2 : c.unroll === 'window' ? c.inputBanks! : banked ? c.lanes : 1, partition: 'cyclic' };
  return d;
}

/** Reads a directive set back into a genome of this space (e.g. to evaluate a user's set); undefined when a layer's directive is not a choice here. */
export function genomeOf(space: DirectiveSpace, set: DirectiveSet): Genome | undefined {
  const g: Genome = [];
  for (const p of space.partitions) {
    const d: LayerDirective = { ...(set.defaults ?? {}), ...(set.layers?.[p.layer] ?? {}) };
    const idx = p.choices.findIndex(
      (c) =>
        c.lanes === (d.lanes ?? 1) &&
        c.unroll === (d.unroll ?? 'outputs') &&
        c.pipeline === (d.pipeline ?? true) &&
        c.partition === (d.weights?.partition ?? 'cyclic') &&
        c.multiplier === (d.multiplier ?? 'auto') &&
        (c.unroll !== 'both' || c.inputBanks === (d.input?.factor ?? 2)),
    );
    if (idx < 0) {
      if (p.choices.length === 1) {
        g.push(0);
        continue;
      }
      return undefined;
    }
    g.push(idx);
  }
  return g;
}

export function describeChoice(c: PartitionChoice): string {
  if (c.lanes === 1) return `1 lane${c.pipeline ? '' : ', no pipeline'}${c.multiplier === 'lut' ? ', LUT mult' : ''}`;
  if (c.unroll === 'both') return `${c.lanes} lanes: ${c.lanes / (c.inputBanks ?? 2)} outputs x ${c.inputBanks ?? 2} input banks${c.pipeline ? '' : ', no pipeline'}${c.multiplier === 'lut' ? ', LUT mult' : ''}`;
  if (c.unroll === 'window') return `${c.lanes} lanes: ${c.lanes / c.inputBanks!} outputs x ${c.inputBanks} window taps${c.pipeline ? '' : ', no pipeline'}`;
  return `${c.lanes} lanes ${c.unroll}${c.unroll === 'outputs' ? ` ${c.partition}` : ''}${c.pipeline ? '' : ', no pipeline'}${c.multiplier === 'lut' ? ', LUT mult' : ''}`;
}

