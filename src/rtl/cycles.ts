/**
 * The cycle model of the generated RTL: exact, not an estimate (test/rtl checks it against simulation).
 * The DSE reuses it to rank directive sets without simulating.
 *
 * `cycles` counts clock cycles from the one in which the last input byte is accepted to the one in
 * which out_valid first rises (input streaming and output streaming excluded: they are set by the
 * interface, e.g. a UART, not by the accelerator).
 *
 * Per engine (src/rtl/engines.ts), with K reduction steps per group, NG groups, pipeline depth D,
 * writer bound wmax, Lv outputs in the last group, writerExtra = the divider's latency or the MAC
 * engines' output register:
 *   pipeline:    (NG − 1) · max(K, wmax) + K + D + Lv + writerExtra + 3
 *   no pipeline: NG · (K + D) + writes + writerExtra + 3
 * The top adds 3 cycles: start after the last input byte, and fetch + show of the first logit.
 * An engine with unroll window adds its loader's flush of the last input row (WindowLayout.flush: zero
 * pixels shifted in after the last input byte, one per cycle, before the first engine starts).
 */
import type { ResolvedDirective } from './directives';
import type { EnginePlan } from './plan';
import { placeConcatenations } from './concat';
import { buildPlans, executedMacs } from './plan';
import { fusePools } from './fuse-pool';
import { recurrentEngineCycles } from './recurrent-plan';
import type { QModel } from '../qmodel/lower';

export const TOP_OVERHEAD_CYCLES = 3;

export function engineCycles(p: EnginePlan): number {
  if (p.kind === 'recurrent' && p.op.kind === 'recurrent') return recurrentEngineCycles(p.op.timeSteps, p.recurrent!);
  const loader = p.window?.flush ?? 0;
  if (p.pipeline) return (p.NG - 1) * Math.max(p.K, p.wmax) + p.K + p.D + p.lvLast + p.writerExtra + 3 + loader;
  return p.NG * (p.K + p.D) + p.writes + p.writerExtra + 3 + loader;
}

export interface CycleReport {
  /** Cycles per inference (see the module comment). */
  cycles: number;
  perEngine: { module: string; layer: string; cycles: number; macs: number; lanes: number }[];
  macs: number;
  /** Σ over MAC layers of ceil(MACs / lanes): the cycles if every lane did one MAC every cycle and nothing else. */
  floorCycles: number;
}

export function predictFromPlans(plans: EnginePlan[]): CycleReport {
  const perEngine = plans.map((p) => ({ module: p.module, layer: p.op.layer, cycles: engineCycles(p), macs: p.part ? 0 : executedMacs(p.op), lanes: p.lanes }));
  const macs = perEngine.reduce((s, e) => s + e.macs, 0);
  const floorCycles = perEngine.reduce((s, e) => s + Math.ceil(e.macs / e.lanes), 0);
  return { cycles: perEngine.reduce((s, e) => s + e.cycles, 0) + TOP_OVERHEAD_CYCLES, perEngine, macs, floorCycles };
}

/** Predicted cycles per inference of the RTL generated for `q` with `directives`. */
export function predictCycles(q: QModel, directives: Map<string, ResolvedDirective>): CycleReport {
  const placement = fusePools(q, placeConcatenations(q));
  return predictFromPlans(buildPlans(q, directives, placement.layouts, placement.ops));
}

/** Latency in microseconds at `clockMHz`. */
export function latencyUs(cycles: number, clockMHz: number): number {
  return cycles / clockMHz;
}
