/**
 * The size range of a search: how far its candidates reach into the feasible space.
 *
 *  - feasibility(): the constraint check the search applies before any training, cheap constraints
 *    first: params, MACs and weight bits are counts (microseconds a network); the hardware
 *    providers (luts, cycles: the DSE cost model, ~0.2 s a network) run only for a genome that
 *    meets the cheap ones. The outcome is the same as checking everything at once.
 *  - estimateFeasibleSpan(): the span (min/max params and MACs) of the feasible space, estimated by
 *    drawing `draws` genomes from the space's own random() (seeded) and keeping those that meet the
 *    constraints. The cheap constraints are checked on every draw; an expensive one only where it
 *    decides an extreme: the draws meeting the cheap constraints are scanned from the largest (and
 *    from the smallest) until one meets all of them, so the extremes are exactly those of the fully
 *    feasible draws, at a few expensive checks each (after SCAN_LIMIT failures, a bisection finds the
 *    boundary, which is exact when feasibility is monotone in the size there).
 *  - spanReport(): the candidates' span against that estimate, as the share of the feasible space's
 *    log range they cover, with a warning when it is less than half.
 *  - stratifiedInitial(): an initial population spread evenly over log-params, so that it reaches
 *    both ends of the feasible range instead of where uniform draws crowd.
 */
import type { Rng } from '../moo/rng';
import { architectureCost } from '../nn/cost';
import type { QuantizationPlan } from '../quant/config';
import { isDeepMakerError } from '../util/errors';
import { measureCandidate, type Constraint } from './objectives';
import type { SearchSpace } from './space';

/** dse.maxLanes' default (schemas/deepmaker.schema.json; the DSE cost model's too). */
const DEFAULT_MAX_LANES = 16;

/** Objectives whose providers are instant counts of the analytic cost model. */
export const CHEAP_OBJECTIVES: ReadonlySet<string> = new Set(['params', 'macs', 'weightBits']);

export interface CheapFacts {
  params: number;
  macs: number;
  /** Violation of the cheap constraints alone. */
  violation: number;
}

export interface Feasibility<G> {
  /** params, MACs and the cheap constraints' violation; undefined when the genome cannot be built. */
  cheap(g: G): CheapFacts | undefined;
  /** Every constraint met (the expensive ones are measured only when the cheap ones are met). */
  feasible(g: G): boolean;
  /** Constraints checked on every draw, and those (hardware) checked only where they decide. */
  cheapConstraints: string[];
  expensiveConstraints: string[];
  /** Expensive checks run so far (each a DSE cost-model evaluation). */
  readonly expensiveChecks: number;
}

export function feasibility<G>(space: SearchSpace<G>, o: { quantization: QuantizationPlan; device: string; constraints: Constraint[]; maxLanes?: number }): Feasibility<G> {
  const cheapC = o.constraints.filter((c) => CHEAP_OBJECTIVES.has(c.objective));
  const expensiveC = o.constraints.filter((c) => !CHEAP_OBJECTIVES.has(c.objective));
  // A cycles limit has a cheap necessary condition: no design does more than one MAC per lane per
  // cycle, so cycles >= MACs / maxLanes. Draws that fail it skip the DSE cost model.
  const cyclesLimit = expensiveC.find((c) => c.objective === 'cycles')?.limit;
  const lanes = o.maxLanes ?? DEFAULT_MAX_LANES;
  const facts = (g: G) => {
    const arch = space.toArchitecture(g);
    return { arch, cost: architectureCost(arch), quantization: o.quantization, device: o.device, maxLanes: o.maxLanes };
  };
  let expensiveChecks = 0;
  const cheap = (g: G): CheapFacts | undefined => {
    try {
      const m = measureCandidate(facts(g), ['params', 'macs'], cheapC);
      const cyclesBound = cyclesLimit === undefined ? 0 : Math.max(0, m.values.macs / lanes - cyclesLimit);
      return { params: m.values.params, macs: m.values.macs, violation: m.violation + cyclesBound };
    } catch (e) {
      if (isDeepMakerError(e)) return undefined;
      throw e;
    }
  };
  return {
    cheap,
    feasible: (g) => {
      const c = cheap(g);
      if (!c || c.violation > 0) return false;
      if (expensiveC.length === 0) return true;
      expensiveChecks++;
      try {
        return measureCandidate(facts(g), [], expensiveC).violation === 0;
      } catch (e) {
        if (isDeepMakerError(e)) return false;
        throw e;
      }
    },
    cheapConstraints: cheapC.map((c) => c.objective),
    expensiveConstraints: expensiveC.map((c) => c.objective),
    get expensiveChecks() {
      return expensiveChecks;
    },
  };
}

export interface SizeRange {
  min: number;
  max: number;
}

export interface FeasibleSpan {
  /** How the span was estimated, in words (for the report). */
  method: string;
  /** Genomes drawn, and the seed of their generator. */
  draws: number;
  seed: string;
  /** Draws that could be built and meet the constraints checked on every draw. */
  meetingCheckedConstraints: number;
  /** Constraints checked on every draw / only while scanning for the extremes. */
  checkedOnEveryDraw: string[];
  checkedAtTheExtremes: string[];
  /** Expensive (hardware) checks the scans took. */
  expensiveChecks: number;
  /** The extremes over the draws that meet every constraint (null: none does). */
  params: SizeRange | null;
  macs: SizeRange | null;
}

/** Expensive checks from an end before the scan turns to bisection. */
const SCAN_LIMIT = 32;

export function estimateFeasibleSpan<G>(space: SearchSpace<G>, feas: Feasibility<G>, o: { draws: number; rng: Rng; seed: string }): FeasibleSpan {
  const kept: { g: G; key: string; params: number; macs: number }[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < o.draws; i++) {
    const g = space.random(o.rng);
    const c = feas.cheap(g);
    if (!c || c.violation > 0) continue;
    const key = space.key(g);
    if (seen.has(key)) continue; // the same network drawn again: one check is enough
    seen.add(key);
    kept.push({ g, key, params: c.params, macs: c.macs });
  }
  const verdict = new Map<string, boolean>();
  const start = feas.expensiveChecks;
  const ok = (k: (typeof kept)[number]) => {
    let v = verdict.get(k.key);
    if (v === undefined) verdict.set(k.key, (v = feas.feasible(k.g)));
    return v;
  };
  const extreme = (by: 'params' | 'macs', dir: 1 | -1): number | null => {
    const order = [...kept].sort((a, b) => dir * (a[by] - b[by]));
    for (let j = 0; j < Math.min(order.length, SCAN_LIMIT); j++) if (ok(order[j])) return order[j][by];
    if (order.length <= SCAN_LIMIT) return null;
    // More than SCAN_LIMIT from this end fail (a hardware limit far inside the range the counts
    // allow): bisect for the boundary between them and the first member of the far end that passes.
    let far = -1;
    for (let j = order.length - 1; j >= Math.max(SCAN_LIMIT, order.length - SCAN_LIMIT) && far < 0; j--) if (ok(order[j])) far = j;
    if (far < 0) return null;
    let l = SCAN_LIMIT - 1, h = far; // order[l] fails, order[h] passes
    while (h - l > 1) {
      const m = (l + h) >> 1;
      if (ok(order[m])) h = m;
      else l = m;
    }
    return order[h][by];
  };
  const range = (by: 'params' | 'macs'): SizeRange | null => {
    const min = extreme(by, 1), max = extreme(by, -1);
    return min === null || max === null ? null : { min, max };
  };
  const params = range('params'), macs = range('macs');
  const expensive = feas.expensiveConstraints;
  return {
    method:
      `${o.draws} genomes drawn from the space's random sampler (seed ${o.seed}); kept those that can be built and meet the constraints known before training` +
      (expensive.length
        ? ` (${feas.cheapConstraints.join(', ') || 'none'} checked on every draw; ${expensive.join(', ')}, from the DSE cost model, checked from each end of the range inward until a draw meets it, by bisection after ${SCAN_LIMIT} that do not)`
        : ''),
    draws: o.draws,
    seed: o.seed,
    meetingCheckedConstraints: kept.length,
    checkedOnEveryDraw: feas.cheapConstraints,
    checkedAtTheExtremes: expensive,
    expensiveChecks: feas.expensiveChecks - start,
    params,
    macs,
  };
}

export function sizeRange(values: number[]): SizeRange | null {
  const v = values.filter((x) => Number.isFinite(x));
  return v.length ? { min: Math.min(...v), max: Math.max(...v) } : null;
}

/**
 * The share of `of`'s log range that `range` covers (their overlap in log scale over the width of
 * `of`), in [0, 1]; null when either is missing or `of` is a single value.
 */
export function logCoverage(range: SizeRange | null, of: SizeRange | null): number | null {
  if (!range || !of || !(of.max > of.min) || !(of.min > 0)) return null;
  const lo = Math.log(Math.max(range.min, of.min)), hi = Math.log(Math.min(range.max, of.max));
  return Math.max(0, Math.min(1, (hi - lo) / (Math.log(of.max) - Math.log(of.min))));
}

export interface SpanReport {
  feasibleSpace: FeasibleSpan;
  /** The search's feasible candidates (every one proposed and trained) and the feasible Pareto set. */
  candidates: { count: number; params: SizeRange | null; macs: SizeRange | null };
  front: { count: number; params: SizeRange | null; macs: SizeRange | null };
  /** Share of the feasible space's log range (params, MACs) the candidates cover. */
  coverage: { params: number | null; macs: number | null };
  /** Share of it the front covers. */
  frontCoverage: { params: number | null; macs: number | null };
  /** Set when the candidates cover less than `threshold` of the feasible log-params range. */
  warning?: string;
}

export const SPAN_WARNING_THRESHOLD = 0.5;

const n = (x: number) => Math.round(x).toLocaleString('en-US');

export function spanReport(
  candidates: { params: number; macs: number }[],
  front: { params: number; macs: number }[],
  span: FeasibleSpan,
  threshold = SPAN_WARNING_THRESHOLD,
): SpanReport {
  const c = { count: candidates.length, params: sizeRange(candidates.map((x) => x.params)), macs: sizeRange(candidates.map((x) => x.macs)) };
  const f = { count: front.length, params: sizeRange(front.map((x) => x.params)), macs: sizeRange(front.map((x) => x.macs)) };
  const coverage = { params: logCoverage(c.params, span.params), macs: logCoverage(c.macs, span.macs) };
  const report: SpanReport = {
    feasibleSpace: span,
    candidates: c,
    front: f,
    coverage,
    frontCoverage: { params: logCoverage(f.params, span.params), macs: logCoverage(f.macs, span.macs) },
  };
  if (coverage.params !== null && coverage.params < threshold && c.params && span.params) {
    const missing = [c.params.max < span.params.max && `up to ${n(span.params.max)}`, c.params.min > span.params.min && `down to ${n(span.params.min)}`].filter(Boolean).join(' and ');
    report.warning =
      `the search's candidates span ${n(c.params.min)}–${n(c.params.max)} params, ${Math.round(coverage.params * 100)}% of the feasible space's log-params range ` +
      `(${n(span.params.min)}–${n(span.params.max)}, estimated from ${n(span.draws)} random genomes): networks ${missing} params meet the constraints but were never tried; ` +
      'raise search.population or search.generations, or narrow the space with search.constraints';
  }
  return report;
}

/**
 * `count` genomes stratified over log-params: `draws` genomes from the space's sampler, of which
 * those that meet the cheap constraints (distinct networks) form the pool. The ends first: the
 * smallest member that meets every constraint, and the largest (found by bisection when the
 * largest fails: a hardware constraint such as maxLuts cuts the top of the range that the counts
 * allow, and each of its checks costs ~0.2 s). Then, for each of the count − 2 targets evenly spaced in
 * log-params between those two, the nearest member not yet tried that meets every constraint (up
 * to TARGET_TRIES nearest; ties: the earlier draw). So the population holds both ends of the
 * feasible range the draws found and even steps between, and the other genes are as random as the
 * draws. A target with no such member contributes none; the optimiser fills the gap with its own
 * random draws. Deterministic for the generator's state.
 */
const TARGET_TRIES = 8;
const END_TRIES = 48;
export function stratifiedInitial<G>(space: SearchSpace<G>, feas: Feasibility<G>, count: number, rng: Rng, draws = Math.max(2000, 200 * count)): G[] {
  if (count < 1) return [];
  const pool: { g: G; logParams: number }[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < draws; i++) {
    const g = space.random(rng);
    const c = feas.cheap(g);
    if (!c || c.violation > 0 || !(c.params > 0)) continue;
    const key = space.key(g);
    if (seen.has(key)) continue;
    seen.add(key);
    pool.push({ g, logParams: Math.log(c.params) });
  }
  if (pool.length === 0) return [];
  // Ascending in params (ties: draw order); every feasibility verdict is kept, so no member is checked twice.
  const asc = pool.map((p, i) => ({ ...p, i })).sort((a, b) => a.logParams - b.logParams || a.i - b.i);
  const verdict = new Map<number, boolean>();
  const ok = (j: number) => {
    let v = verdict.get(j);
    if (v === undefined) verdict.set(j, (v = feas.feasible(asc[j].g)));
    return v;
  };
  const taken = new Set<number>();
  // The bottom: the smallest member that meets every constraint.
  let bottom = -1;
  for (let j = 0; j < Math.min(asc.length, END_TRIES) && bottom < 0; j++) if (ok(j)) bottom = j;
  if (bottom < 0) return [];
  // The top: the largest such member. A hardware limit cuts the top of the pool, usually at one
  // size: bisect for the boundary between `bottom` (feasible) and the largest (if infeasible), then
  // look a few members above it (feasibility need not be monotone in params).
  let top = asc.length - 1;
  if (!ok(top)) {
    let l = bottom, h = top;
    while (h - l > 1) {
      const m = (l + h) >> 1;
      if (ok(m)) l = m;
      else h = m;
    }
    top = l;
    for (let j = h + 1, n = 0; j < asc.length && n < TARGET_TRIES; j++, n++) if (ok(j)) top = j;
  }
  taken.add(top).add(bottom);
  const out = [asc[top].g, ...(bottom !== top ? [asc[bottom].g] : [])];
  const lo = asc[bottom].logParams, hi = asc[top].logParams;
  for (let k = 1; k <= count - 2; k++) {
    const target = lo + ((hi - lo) * k) / (count - 1);
    const near = asc.map((p, j) => ({ j, d: Math.abs(p.logParams - target) })).filter((x) => !taken.has(x.j)).sort((a, b) => a.d - b.d || asc[a.j].i - asc[b.j].i);
    let tries = 0;
    for (const x of near) {
      if (tries >= TARGET_TRIES) break;
      if (verdict.get(x.j) === false) continue;
      tries++;
      if (ok(x.j)) {
        taken.add(x.j);
        out.push(asc[x.j].g);
        break;
      }
    }
  }
  return out.slice(0, count);
}
