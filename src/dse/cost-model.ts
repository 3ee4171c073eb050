/**
 * The DSE cost model: for a point of the directive space, the cycles per inference and the device
 * resources of the hardware src/rtl would generate for it.
 *
 *  - Cycles are EXACT: they come from the same engine plans the RTL emitter builds and the cycle
 *    formula the emitter's timing follows (src/rtl/cycles.ts); test/dse checks them against
 *    simulation.
 *  - Logic (LUTs, flip-flops, carry cells) is predicted by the calibrated linear model
 *    (src/dse/calibration.ts) over features of the emitted engines and top.
 *  - EBR, SPRAM and DSP blocks are counted: DSPs exactly as the generator assigns them (layer
 *    order, while the device has them), EBR/SPRAM from the ROM and activation-memory geometries
 *    with the mapping rules the calibration measured.
 *
 * Engines are independent of one another given their directive and DSP budget, so each
 * (partition, choice, budget) is emitted once and cached; a point then costs a sum and one buffer
 * allocation, which is what makes exhaustive search over 10^4-10^5 points affordable.
 *
 * The NAS hook (`hardwareObjective`) builds this model for an IR and reports the cycles and logic
 * of the fastest point that fits the device, or of a fixed directive set.
 */
import type { NumberKnobs } from '../qmodel/precision';
import type { Device } from '../fpga/devices';
import type { ModelIR } from '../ir/types';
import { allocateBuffers } from '../rtl/buffers';
import { placeConcatenations, Placement } from '../rtl/concat';
import { fusePools } from '../rtl/fuse-pool';
import { engineCycles, TOP_OVERHEAD_CYCLES } from '../rtl/cycles';
import type { Architecture, DirectiveSet, ResolvedDirective } from '../rtl/directives';
import type { ArraySpec } from '../rtl/array';
import { planArray } from '../rtl/array';
import { hasLanes, resolveDirectives } from '../rtl/directives';
import type { EngineModule } from '../rtl/engines';
import { emitPlan } from '../rtl/emit';
import { buildPlans, dspWanted, EnginePlan } from '../rtl/plan';
import type { QModel, QOp } from '../qmodel/lower';
import { lowerModelForRtl } from '../rtl/lower';
import { DeepMakerError, isDeepMakerError } from '../util/errors';
import { Calibration, loadCalibration, predictLogic, SynthFigures } from './calibration';
import { addFeatures, arrayFeatures, engineFeatures, Features, topFeatures } from './features';
import { loadPackingModel, predictPackedCells } from './packing';
import { baselineGenome, buildSpace, choiceDirective, DirectiveSpace, DsePartition, Genome, genomeOf, PartitionChoice, toDirectiveSet } from './space';

/**
 * Predicted resources, in the units synthesis reports them. Here logicCells is max(luts, ffs, carry):
 * the logic cells the design needs at least (what "fits" is checked on).
 */
export type ResourceFigures = SynthFigures;

export interface PartitionCost extends ResourceFigures {
  layer: string;
  cycles: number;
  lanes: number;
}

export interface PointCost extends ResourceFigures {
  cycles: number;
  /** The logic cells nextpnr's packer will use with the board top around the design (src/dse/packing.ts): what fit is judged on. */
  packedLogicCells: number;
  perPartition: PartitionCost[];
  /** The top (memories, port multiplexing, argmax, stream): shared by all partitions. */
  top: ResourceFigures;
  /** false when the whole design cannot be built (e.g. two engines disagree on a buffer's banking). */
  legal: boolean;
  problem?: string;
}

export interface DeviceBudget {
  logicCells: number;
  ebr: number;
  dsp: number;
  spram: number;
}

/**
 * What the device offers after keeping `margin` of each resource free; of the logic cells, at least the
 * packing model's margin (its largest under-prediction of a measured design, src/dse/packing.ts).
 */
export function deviceBudget(device: Device, margin: number): DeviceBudget {
  const keep = (n: number, m: number) => Math.floor(n * (1 - m));
  return { logicCells: keep(device.logicCells, Math.max(margin, loadPackingModel().margin)), ebr: keep(device.ebr, margin), dsp: device.dsp, spram: device.spram };
}

/**
 * Sum of relative overshoots over the budget (0 = fits): NSGA-II's constraint violation. Logic is
 * judged on the packed cells when the figures have them (predictions do), else on logicCells.
 */
export function violation(c: ResourceFigures & { packedLogicCells?: number }, b: DeviceBudget): number {
  const over = (used: number, avail: number) => (used <= avail ? 0 : avail === 0 ? used : (used - avail) / avail);
  return over(c.packedLogicCells ?? c.logicCells, b.logicCells) + over(c.ebr, b.ebr) + over(c.dsp, b.dsp) + over(c.spram, b.spram);
}

interface EngineCost {
  plans: EnginePlan[];
  modules: EngineModule[];
  cycles: number;
  features: Features;
  ebr: number;
  dsp: number;
}

export interface CostModelOptions {
  ir: ModelIR;
  knobs: NumberKnobs;
  device: Device;
  maxLanes?: number;
  calibration?: Calibration;
  /** engines (default): lanes per layer; array: one shared MAC array (src/rtl/array.ts). */
  architecture?: Architecture;
  /** Offer unroll window on the model input's reader (default true). */
  window?: boolean;
}

export class CostModel {
  readonly q: QModel;
  readonly space: DirectiveSpace;
  readonly device: Device;
  readonly calibration: Calibration;
  readonly architecture: Architecture;
  /** Concatenations placed as views (as generateRtl places them): the ops that remain and the tensors' layouts. */
  readonly placement: Placement;
  private readonly ir: ModelIR;
  private readonly opIndex: number[];
  private readonly resolved: ResolvedDirective[][];
  private readonly engines = new Map<string, EngineCost>();

  constructor(opts: CostModelOptions) {
    this.ir = opts.ir;
    this.device = opts.device;
    this.calibration = opts.calibration ?? loadCalibration();
    this.architecture = opts.architecture ?? 'engines';
    this.q = lowerModelForRtl(opts.ir, opts.knobs);
    this.placement = fusePools(this.q, placeConcatenations(this.q));
    const opOf = new Map(this.placement.ops.map((o) => [o.layer, o]));
    // A choice is offered only when the RTL's own rules build it: resolveDirectives, then the planner
    // with the buffer layouts of the real design (banked lanes reading a concatenation view, ...).
    const accept = (l: { name: string; type: string }, c: PartitionChoice) => {
      try {
        this.planOne(opOf.get(l.name)!, this.resolve({ layer: l.name, type: l.type }, c));
        return true;
      } catch (e) {
        if (isDeepMakerError(e)) return false;
        throw e;
      }
    };
    this.space = buildSpace(opts.ir, { maxLanes: opts.maxLanes ?? 16, hasDsp: opts.device.dsp > 0 && this.architecture === 'engines', device: opts.device.name, layers: new Set(opOf.keys()), accept, architecture: this.architecture, window: opts.window });
    this.opIndex = this.space.partitions.map((p) => this.placement.ops.findIndex((o) => o.layer === p.layer));
    this.resolved = this.space.partitions.map((p) => p.choices.map((c) => this.resolve(p, c)));
  }

  /** The RTL's resolved directive for one choice of one partition. */
  private resolve(p: Pick<DsePartition, 'layer' | 'type'>, c: PartitionChoice): ResolvedDirective {
    const set: DirectiveSet = { version: 1, layers: hasLanes(p.type) ? { [p.layer]: choiceDirective(p, c) } : {} };
    return resolveDirectives(this.ir, set, 'dse').get(p.layer)!;
  }

  /** The engine plan(s) of one op, as generateRtl plans it (throws DeepMakerError when the RTL cannot build it). */
  private planOne(op: QOp, d: ResolvedDirective): EnginePlan[] {
    return buildPlans(this.q, new Map([[op.layer, d]]), this.placement.layouts, [op]);
  }

  /** The engine module(s) of one partition with one choice and DSP budget, freshly emitted (Verilog and ROM images included). */
  emitPartition(part: number, choice: number, dspBudget: number): { plans: EnginePlan[]; modules: EngineModule[] } {
    const op = this.placement.ops[this.opIndex[part]];
    const plans = this.planOne(op, this.resolved[part][choice]);
    // Addresses span the buffer a tensor lives in (a concatenation view addresses its storage), as in generateRtl.
    const tensor = (name: string) => {
      const own = this.q.alias.get(name) ?? name;
      const storage = this.placement.layouts.get(own)?.storage ?? own;
      return { size: this.q.tensors.get(storage)!.size, bits: this.q.tensors.get(name)!.format.bits, banks: 1 };
    };
    // On the array an engine's module hardly depends on the array's shape: emit it on an array of its own.
    const array = this.architecture === 'array' ? planArray(plans, 0) : undefined;
    return { plans, modules: plans.map((p) => emitPlan(p, { tensor, dspBudget, array })) };
  }

  private emitted(part: number, choice: number, dspBudget: number): EngineCost {
    const key = `${part}:${choice}:${dspBudget}`;
    let e = this.engines.get(key);
    if (e) return e;
    const { plans, modules } = this.emitPartition(part, choice, dspBudget);
    const features: Features = {};
    let ebr = 0;
    let dsp = 0;
    for (const m of modules) {
      const f = engineFeatures(m, this.calibration.memory);
      addFeatures(features, f.features);
      ebr += f.ebr;
      dsp += f.dsp;
    }
    e = { plans, modules, cycles: plans.reduce((s, p) => s + engineCycles(p), 0), features, ebr, dsp };
    // Keep the Verilog and ROM images out of the cache: only the figures are needed again.
    for (const m of modules) {
      (m as { verilog: string }).verilog = '';
      for (const r of m.roms) (r as { contents: string }).contents = '';
    }
    this.engines.set(key, e);
    return e;
  }

  /**
   * One engine's cost for a DSP budget. The emitter gives DSPs to the first `budget` eligible lanes
   * and LUT multipliers to the rest, and every feature is a count over lanes, so the cost at any
   * budget is the one-lane-per-DSP interpolation between the all-LUT and the all-DSP emissions:
   * each (partition, choice) is emitted at most twice.
   */
  private engine(part: number, choice: number, dspBudget: number): EngineCost {
    const none = this.emitted(part, choice, 0);
    if (dspBudget === 0) return none;
    const op = this.placement.ops[this.opIndex[part]];
    // A recurrent engine keeps its own lanes beside the shared array.
    const most = this.emitted(part, choice, dspWanted(op, this.resolved[part][choice].lanes, this.architecture === 'array'));
    const dsp = Math.min(dspBudget, most.dsp);
    if (dsp === 0) return none;
    if (dsp === most.dsp) return most;
    const key = `${part}:${choice}:${dspBudget}`;
    let e = this.engines.get(key);
    if (e) return e;
    const t = dsp / most.dsp;
    const features: Features = {};
    for (const k of new Set([...Object.keys(none.features), ...Object.keys(most.features)])) {
      features[k] = (none.features[k] ?? 0) + t * ((most.features[k] ?? 0) - (none.features[k] ?? 0));
    }
    e = { ...none, features, dsp };
    this.engines.set(key, e);
    return e;
  }

  /** Engines of a point in op order, with the DSP budget the generator gives each (layer order, while DSPs are left). */
  private walk(g: Genome, array: ArraySpec | undefined): { part: number; engine: EngineCost; lanes: number }[] {
    let dspLeft = this.device.dsp;
    const order = this.space.partitions.map((_, i) => i).sort((a, b) => this.opIndex[a] - this.opIndex[b]);
    // On the array, its lanes take the DSPs first (as generateRtl gives them); ternary layers' scale multipliers the rest.
    if (array) dspLeft -= array.dspBlocks;
    return order.map((i) => {
      const d = this.resolved[i][g[i]];
      const op = this.placement.ops[this.opIndex[i]];
      const want = dspWanted(op, d.lanes, !!array);
      const budget = (op.kind === 'mac' || op.kind === 'recurrent') && d.multiplier !== 'lut' ? Math.min(want, dspLeft) : 0;
      const engine = this.engine(i, g[i], budget);
      dspLeft -= engine.dsp;
      return { part: i, engine, lanes: d.lanes };
    });
  }

  /** The shared array of a point (architecture: array), as generateRtl would plan it. */
  arraySpec(g: Genome): ArraySpec | undefined {
    if (this.architecture !== 'array') return undefined;
    const order = this.space.partitions.map((_, i) => i).sort((a, b) => this.opIndex[a] - this.opIndex[b]);
    return planArray(order.flatMap((i) => this.emitted(i, g[i], 0).plans), this.device.dsp);
  }

  /**
   * The top's features and memory blocks for a point (throws DeepMakerError when the buffers cannot be
   * banked); on the array, the array's too (it is shared by all partitions, like the top).
   */
  private top(engines: EngineCost[], array?: ArraySpec): { features: Features; ebr: number; spram: number; dsp: number } {
    const plans = engines.flatMap((e) => e.plans);
    const { buffers, memories } = allocateBuffers(this.q, plans, { spram: this.device.spram }, this.placement.layouts);
    const t = topFeatures({ q: this.q, engines: engines.flatMap((e) => e.modules), buffers, memories }, this.calibration.memory);
    if (!array) return { ...t, dsp: 0 };
    const a = arrayFeatures(array, plans.filter((p) => p.kind === 'mac'), this.calibration.memory);
    return { features: addFeatures(t.features, a.features), ebr: t.ebr + a.ebr, spram: t.spram, dsp: a.dsp };
  }

  /** Summed features and block counts of a whole design (what the calibration fits against a real synthesis). */
  designFeatures(g: Genome): { features: Features; ebr: number; dsp: number; spram: number } {
    const array = this.arraySpec(g);
    const walk = this.walk(g, array);
    const features: Features = {};
    let ebr = 0;
    let dsp = 0;
    for (const w of walk) {
      addFeatures(features, w.engine.features);
      ebr += w.engine.ebr;
      dsp += w.engine.dsp;
    }
    const t = this.top(walk.map((w) => w.engine), array);
    addFeatures(features, t.features);
    return { features, ebr: ebr + t.ebr, dsp: dsp + t.dsp, spram: t.spram };
  }

  evaluate(g: Genome): PointCost {
    const coeff = this.calibration.coefficients;
    const array = this.arraySpec(g);
    const walk = this.walk(g, array);
    const byPart = new Map<number, PartitionCost>();
    let cycles = TOP_OVERHEAD_CYCLES;
    for (const w of walk) {
      cycles += w.engine.cycles;
      const logic = predictLogic(coeff, w.engine.features);
      byPart.set(w.part, { layer: this.space.partitions[w.part].layer, cycles: w.engine.cycles, lanes: w.lanes, ...logic, ebr: w.engine.ebr, dsp: w.engine.dsp, spram: 0 });
    }
    const perPartition = this.space.partitions.map((_, i) => byPart.get(i)!);
    let top: ResourceFigures = { luts: 0, ffs: 0, carry: 0, logicCells: 0, ebr: 0, dsp: 0, spram: 0 };
    let legal = true;
    let problem: string | undefined;
    try {
      const t = this.top(walk.map((w) => w.engine), array);
      top = { ...predictLogic(coeff, t.features), ebr: t.ebr, dsp: t.dsp, spram: t.spram };
    } catch (e) {
      if (!isDeepMakerError(e)) throw e;
      legal = false;
      problem = e.message;
    }
    const sum = (k: keyof ResourceFigures) => perPartition.reduce((s, p) => s + p[k], 0) + top[k];
    const luts = sum('luts');
    const ffs = sum('ffs');
    const carry = sum('carry');
    return { cycles, perPartition, top, luts, ffs, carry, logicCells: Math.max(luts, ffs, carry), packedLogicCells: predictPackedCells({ luts, ffs }), ebr: sum('ebr'), dsp: sum('dsp'), spram: sum('spram'), legal, ...(problem ? { problem } : {}) };
  }

  /** The cost of a directive file (e.g. the rtl stage's default), when its directives are points of this space. */
  evaluateSet(set: DirectiveSet): PointCost {
    const g = genomeOf(this.space, set);
    if (!g) throw new DeepMakerError('the directive set has a directive outside the explored space', { where: this.ir.name }, 'use lanes the space offers (see dist/dse/report.json space)');
    return this.evaluate(g);
  }
}

export interface HardwareObjective {
  /** The architecture these figures are for (with architecture auto: the one that fits with fewer cycles). */
  architecture: Architecture;
  /** Cycles per inference of the fastest point that fits (or of `directives`). */
  cycles: number;
  /** Logic cells of that point (Yosys's max(LUTs, FFs, carries), predicted). */
  logicCells: number;
  /** Logic cells once packed with the board top (src/dse/packing.ts): what fit is judged on. */
  packedLogicCells: number;
  luts: number;
  ebr: number;
  dsp: number;
  /** Whether that point fits the device with the margin (false: even the one-lane design does not). */
  fits: boolean;
  /** Cycles of the one-lane design. */
  baselineCycles: number;
  /** The directive set these figures are for (the fastest point found, or the one-lane design when none fits). */
  directives: DirectiveSet;
}

/**
 * The NAS hook: predicted cycles and logic cells of a network on `device`. Without `directives`, it
 * is the fastest point that fits the device with `margin`, found by a greedy descent (each step
 * takes the choice with the best cycles saved per logic cell added, among points that still fit):
 * cheap enough to call once per candidate. With `directives`, that set's cost.
 */
export function hardwareObjective(opts: Omit<CostModelOptions, 'architecture'> & { margin?: number; directives?: DirectiveSet; architecture?: Architecture | 'auto' }): HardwareObjective {
  const budget = deviceBudget(opts.device, opts.margin ?? 0.1);
  const one = (architecture: Architecture): HardwareObjective => {
    const model = new CostModel({ ...opts, architecture });
    const g: Genome = model.space.partitions.map(() => 0);
    const base = model.evaluate(g);
    if (opts.directives) {
      const c = model.evaluateSet(opts.directives);
      return { architecture, cycles: c.cycles, logicCells: c.logicCells, packedLogicCells: c.packedLogicCells, luts: c.luts, ebr: c.ebr, dsp: c.dsp, fits: c.legal && violation(c, budget) === 0, baselineCycles: base.cycles, directives: opts.directives };
    }
    const best = fastestFitting(model, budget);
    const c = best?.cost ?? base;
    const directives = toDirectiveSet(model.space, best?.genome ?? g);
    return { architecture, cycles: c.cycles, logicCells: c.logicCells, packedLogicCells: c.packedLogicCells, luts: c.luts, ebr: c.ebr, dsp: c.dsp, fits: !!best, baselineCycles: base.cycles, directives };
  };
  const arch = opts.directives ? (opts.directives.architecture ?? 'engines') : (opts.architecture ?? 'auto');
  if (arch !== 'auto') return one(arch);
  // auto: the architecture the dse stage would build — one that fits, then the fewer cycles.
  const both = [one('engines'), one('array')];
  return both.sort((a, b) => Number(b.fits) - Number(a.fits) || a.cycles - b.cycles || a.packedLogicCells - b.packedLogicCells)[0];
}

/** Every point one directive change away from `g` (each gene, each other choice), with its cost. */
function* singleChanges(model: CostModel, g: Genome): Generator<{ genome: Genome; cost: PointCost }> {
  for (const i of model.space.genes) {
    for (let j = 0; j < model.space.partitions[i].choices.length; j++) {
      if (j === g[i]) continue;
      const genome = [...g];
      genome[i] = j;
      yield { genome, cost: model.evaluate(genome) };
    }
  }
}

/**
 * The fastest point of `model` that fits `budget`: the greedy descent from the baseline and from each lane
 * width's seed that fits (widthGenomes). Undefined when none fits. (Not repaired: repairToFit costs seconds
 * a network, and the search evaluates this for every candidate.)
 */
export function fastestFitting(model: CostModel, budget: DeviceBudget): { genome: Genome; cost: PointCost } | undefined {
  const starts = [model.space.partitions.map(() => 0), ...widthGenomes(model).map((w) => w.genome)];
  let best: { genome: Genome; cost: PointCost } | undefined;
  for (const s of starts) {
    const c = model.evaluate(s);
    if (!c.legal || violation(c, budget) > 0) continue;
    const r = greedyFastest(model, budget, s);
    if (r && (!best || r.cost.cycles < best.cost.cycles)) best = r;
  }
  return best;
}

/** Greedy descent toward the fastest fitting point (see hardwareObjective). Undefined when the baseline does not fit. */
export function greedyFastest(model: CostModel, budget: DeviceBudget, start?: Genome): { genome: Genome; cost: PointCost } | undefined {
  let g: Genome = start ? [...start] : model.space.partitions.map(() => 0);
  let cur = model.evaluate(g);
  if (!cur.legal || violation(cur, budget) > 0) return undefined;
  for (;;) {
    let best: { g: Genome; c: PointCost; score: number } | undefined;
    for (const { genome: cand, cost: c } of singleChanges(model, g)) {
      if (!c.legal || c.cycles >= cur.cycles || violation(c, budget) > 0) continue;
      // Cycles saved per logic cell added (a step that saves logic too is taken first).
      const score = (cur.cycles - c.cycles) / Math.max(1, c.logicCells - cur.logicCells + 1);
      if (!best || score > best.score) best = { g: cand, c, score };
    }
    if (!best) return { genome: g, cost: cur };
    g = best.g;
    cur = best.c;
  }
}

/**
 * One seed per lane width W: every layer at its fastest choice with at most W lanes (pipelined, any
 * multiplier). On the shared array the array's width, not each layer's, sets most of the cost, so the
 * good points have many layers at the same width; NSGA-II's one-gene mutations and a greedy descent
 * (each step must fit on its own) rarely reach them when two layers must widen together — measured on
 * the default network: NSGA-II and greedy stopped at 52,729 cycles with 10 lanes, while every layer at
 * 12 lanes (the DenseNet convolutions as 6 outputs x 2 input banks) fits at 31,288.
 * Cycles add over engines, so a choice's cycles are measured against the baseline of the others.
 */
export function widthGenomes(model: CostModel): { lanes: number; genome: Genome }[] {
  const space = model.space;
  const base = baselineGenome(space);
  const baseCycles = model.evaluate(base).cycles;
  const cycles = space.partitions.map((p, i) =>
    p.choices.map((_, j) => {
      if (j === 0) return baseCycles;
      const g = [...base];
      g[i] = j;
      const c = model.evaluate(g);
      return c.legal ? c.cycles : Infinity;
    }),
  );
  const widths = [...new Set(space.partitions.flatMap((p) => p.choices.map((c) => c.lanes)))].filter((w) => w > 1).sort((a, b) => a - b);
  return widths.map((w) => {
    // Layer by layer, the fastest choice within the width that keeps the point buildable (two readers of
    // one buffer must agree on its banking).
    const g = [...base];
    space.partitions.forEach((p, i) => {
      const order = p.choices
        .map((c, j) => ({ c, j }))
        .filter(({ c, j }) => c.lanes <= w && c.pipeline && Number.isFinite(cycles[i][j]))
        .sort((a, b) => cycles[i][a.j] - cycles[i][b.j] || a.c.lanes - b.c.lanes || Number(a.c.multiplier !== 'auto') - Number(b.c.multiplier !== 'auto'));
      for (const { j } of order) {
        if (cycles[i][j] >= cycles[i][0] && j !== 0) break;
        g[i] = j;
        if (model.evaluate(g).legal) return;
      }
      g[i] = 0;
    });
    return { lanes: w, genome: g };
  });
}

/**
 * From a point that does not fit, the cheapest way back into the device: single directive changes, each
 * taken when it lowers the violation with the fewest cycles added per unit of violation removed, until
 * the point fits (undefined when no change lowers it). Used on the lane-width seeds, whose fastest choice
 * per layer can overshoot the device in one layer (e.g. a 12-lane dense reduction adding EBR) while the
 * rest of the width fits.
 */
export function repairToFit(model: CostModel, budget: DeviceBudget, start: Genome): { genome: Genome; cost: PointCost } | undefined {
  let g = [...start];
  let cur = model.evaluate(g);
  let v = cur.legal ? violation(cur, budget) : Infinity;
  while (v > 0) {
    let best: { g: Genome; c: PointCost; v: number; score: number } | undefined;
    for (const { genome: cand, cost: c } of singleChanges(model, g)) {
      if (!c.legal) continue;
      const cv = violation(c, budget);
      if (cv >= v) continue;
      const score = Number.isFinite(v) ? (c.cycles - cur.cycles) / (v - cv) : c.cycles;
      if (!best || score < best.score) best = { g: cand, c, v: cv, score };
    }
    if (!best) return undefined;
    g = best.g;
    cur = best.c;
    v = best.v;
  }
  return { genome: g, cost: cur };
}
