/**
 * The search's objectives and constraints.
 *
 * `error` (1 - validation accuracy) comes from training. Every other objective is computed before
 * any training by an ObjectiveProvider from the architecture and its analytic cost; this is the
 * hook through which hardware objectives join the search: src/dse/nas-objectives.ts registers
 * `cycles` and `luts` from the DSE cost model (the schema lists them in `search.objectives` and as
 * maxCycles / maxLuts constraints). Asking for an unregistered name is a clear error.
 *
 * Constraints (search.constraints: maxParams, maxMacs, maxWeightBits, maxCycles, maxLuts; `device` =
 * the EBR bits of target.device for weightBits, "the design fits target.device" for luts) feed NSGA-II's constraint-domination as one total violation,
 * Σ max(0, value / limit - 1): relative, so a 10% excess weighs the same on every constraint.
 * Infeasible candidates are known before training and are never trained: constraint-domination
 * never looks at an infeasible candidate's error.
 */
import { ebrBits, getDevice } from '../fpga/devices';
import type { Architecture } from '../nn/arch';
import type { ArchitectureCost } from '../nn/cost';
import { RECURRENT_KINDS } from '../nn/plan';
import { DEFAULT_NUMERICS, kernelBits, resolveQuantization, type QuantizationPlan, type QuantizeSpec } from '../quant/config';
import { DeepMakerError } from '../util/errors';

export interface CandidateFacts {
  arch: Architecture;
  cost: ArchitectureCost;
  /** The quantization the trained network will have (the spec's quantize section). */
  quantization: QuantizationPlan;
  /** target.device */
  device: string;
  /** dse.maxLanes: the most MAC lanes the hardware objectives may give a loop nest (default 16). */
  maxLanes?: number;
}

export interface ObjectiveProvider {
  /** The name used in search.objectives (and as `max<Name>` in search.constraints). */
  name: string;
  description: string;
  measure(c: CandidateFacts): number;
}

/**
 * Bits of weight memory at the spec's precision, as the C and the RTL store them: each kernel value
 * at the weight width (fixed: quantize.weights.bits, default 8; ternary: 2; float: 32), each output
 * channel's bias at the bias width (quantize.biasBits, default 16; float: 32) and, for ternary
 * layers, each channel's scale factor; a recurrent layer's kernel and recurrent kernel at the weight
 * width and its gate biases at the bias width. BatchNormalization is folded into the layer before it, so it
 * adds biases, not values. The quantization stage's report counts the same way (src/quant/qat.ts
 * weightMemory), so a search constraint of maxWeightBits: device holds for the trained model.
 */
export function weightMemoryBits(cost: ArchitectureCost, plan: QuantizationPlan): number {
  const kBits = kernelBits(plan);
  const bBits = plan.mode === 'float' ? 32 : plan.biasBits;
  const sBits = plan.mode === 'ternary' ? plan.ternary!.scaleBits : 0;
  let bits = 0;
  for (const l of cost.layers) {
    if (!(l.weights > 0)) continue;
    if (l.type === 'Conv2D' || l.type === 'DepthwiseConv2D' || l.type === 'Dense') {
      const channels = l.outputShape[l.outputShape.length - 1];
      bits += (l.weights - channels) * kBits + channels * (bBits + sBits);
    } else if (l.type in RECURRENT_GATES) {
      // The kernel and the recurrent kernel at the weight width, one bias per gate and unit (the C's
      // layout: src/qmodel/lower.ts). No ternary recurrent layer exists (quantization-aware
      // training refuses recurrent layers), so no scales.
      const biases = RECURRENT_GATES[l.type] * l.outputShape[l.outputShape.length - 1];
      bits += (l.weights - biases) * kBits + biases * bBits;
    } else {
      bits += l.weights * bBits; // an unfoldable BatchNormalization: a scale and an offset per channel
    }
  }
  return bits;
}

/** Gates of each recurrent Keras class (GRU: reset_after false, the only GRU the builder makes). */
const RECURRENT_GATES: Record<string, number> = Object.fromEntries(Object.values(RECURRENT_KINDS).map((r) => [r.kind, r.gates]));

const providers = new Map<string, ObjectiveProvider>();

export function registerObjectiveProvider(p: ObjectiveProvider): void {
  providers.set(p.name, p);
}

registerObjectiveProvider({ name: 'params', description: 'weight variables of the trained model (BatchNormalization statistics included)', measure: (c) => c.cost.params });
registerObjectiveProvider({ name: 'macs', description: 'multiply-accumulates per inference', measure: (c) => c.cost.macs });
registerObjectiveProvider({ name: 'weightBits', description: 'weight memory bits at the spec\'s precision', measure: (c) => weightMemoryBits(c.cost, c.quantization) });

export function objectiveProvider(name: string): ObjectiveProvider {
  const p = providers.get(name);
  if (!p) {
    throw new DeepMakerError(
      `no objective provider for '${name}'`,
      { where: 'search.objectives' },
      `available: error, ${[...providers.keys()].join(', ')}; hardware objectives (cycles, LUTs) need the DSE cost model to register a provider`,
    );
  }
  return p;
}

export interface ConstraintsSpec {
  maxParams?: number;
  maxMacs?: number;
  maxWeightBits?: number | 'device';
  maxCycles?: number;
  maxLuts?: number | 'device';
  [k: string]: number | string | undefined;
}

export interface Constraint {
  objective: string;
  limit: number;
}

/**
 * What `device` means as a limit: weightBits, the device's EBR bits; luts, its logic cells. The luts
 * provider gives 1e12 to a network whose design does not fit the device even with one lane per
 * layer (EBR for weights and activation buffers, DSPs, logic with the dse margin), so
 * `maxLuts: device` admits exactly the networks the hardware stages can build on it.
 */
const DEVICE_LIMITS: Record<string, (device: string) => number> = {
  weightBits: (d) => ebrBits(d),
  luts: (d) => getDevice(d).logicCells,
};

/** Resolves `max<Name>` entries to limits on provider values (`device`: see DEVICE_LIMITS). */
export function resolveConstraints(spec: ConstraintsSpec | undefined, device: string): Constraint[] {
  const out: Constraint[] = [];
  for (const [key, value] of Object.entries(spec ?? {}).sort()) {
    if (value === undefined) continue;
    const m = /^max([A-Z]\w*)$/.exec(key);
    if (!m) throw new DeepMakerError(`unknown constraint '${key}'`, { where: `search.constraints.${key}` }, 'constraints are max<Objective>, e.g. maxParams');
    const objective = m[1][0].toLowerCase() + m[1].slice(1);
    objectiveProvider(objective);
    if (value === 'device' && !(objective in DEVICE_LIMITS)) throw new DeepMakerError(`'device' is only a limit for ${Object.keys(DEVICE_LIMITS).map((o) => `max${o[0].toUpperCase()}${o.slice(1)}`).join(' and ')}`, { where: `search.constraints.${key}` });
    const limit = value === 'device' ? DEVICE_LIMITS[objective](device) : Number(value);
    out.push({ objective, limit });
  }
  return out;
}

export interface Measured {
  /** Every provider value the objectives or constraints need, by name. */
  values: Record<string, number>;
  violation: number;
}

export function measureCandidate(facts: CandidateFacts, names: string[], constraints: Constraint[]): Measured {
  const values: Record<string, number> = {};
  for (const n of new Set([...names, ...constraints.map((c) => c.objective)])) values[n] = objectiveProvider(n).measure(facts);
  let violation = 0;
  for (const c of constraints) violation += Math.max(0, values[c.objective] / c.limit - 1);
  return { values, violation };
}

/** The quantization plan for counting bits (rounding/overflow do not change a bit count). */
export function quantizationForCounting(spec: QuantizeSpec | undefined): QuantizationPlan {
  return resolveQuantization(spec, DEFAULT_NUMERICS);
}
