/**
 * The search's size range: the feasible space's span estimated from seeded random genomes, the
 * candidates' coverage of it (and the warning when it is less than half), and the initial
 * population, stratified over log-params so that it reaches both ends of the feasible range.
 * Constraints: the default spec's minus maxLuts (whose DSE cost model takes ~0.2 s a network);
 * feasibility() applies it only where the cheap ones are met, which one test checks on a few draws.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import '../../src/dse/nas-objectives';
import { Rng } from '../../src/moo/rng';
import { makeOptimizer } from '../../src/moo/run';
import { architectureCost } from '../../src/nn/cost';
import { measureCandidate, quantizationForCounting, registerObjectiveProvider, resolveConstraints } from '../../src/nas/objectives';
import { searchOperators } from '../../src/nas/search';
import type { SearchSpace } from '../../src/nas/space';
import { estimateFeasibleSpan, feasibility, logCoverage, spanReport, type FeasibleSpan } from '../../src/nas/span';
import { chainSpace } from '../../src/nas/spaces/chain';
import { denseNetSpace } from '../../src/nas/spaces/densenet';

const device = 'ice40-up5k';
const quantization = quantizationForCounting({ mode: 'fixed', weights: { bits: 8 }, activations: { bits: 8, integer: 4 } } as never);
const constraints = resolveConstraints({ maxWeightBits: 'device', maxMacs: 600000 }, device);
const ctx = { input: [28, 28, 1], classes: 10, activations: ['relu' as const] };
const spaces: [string, SearchSpace<unknown>][] = [
  ['densenet', denseNetSpace(ctx) as unknown as SearchSpace<unknown>],
  ['chain', chainSpace(ctx) as unknown as SearchSpace<unknown>],
];

const paramsOf = (space: SearchSpace<unknown>, g: unknown) => architectureCost(space.toArchitecture(g)).params;
const frac = (x: number, span: FeasibleSpan) => (Math.log(x) - Math.log(span.params!.min)) / (Math.log(span.params!.max) - Math.log(span.params!.min));

describe('the feasible span', () => {
  for (const [name, space] of spaces) {
    it(`${name}: is the extremes of the seeded draws that meet the constraints, the same for a seed`, () => {
      const feas = feasibility(space, { quantization, device, constraints });
      const span = estimateFeasibleSpan(space, feas, { draws: 2000, rng: new Rng('span:1'), seed: 'span:1' });
      const again = estimateFeasibleSpan(space, feasibility(space, { quantization, device, constraints }), { draws: 2000, rng: new Rng('span:1'), seed: 'span:1' });
      assert.deepEqual(again, span);
      // Recount by hand: every draw measured with all the constraints at once.
      const rng = new Rng('span:1');
      const kept: { params: number; macs: number }[] = [];
      for (let i = 0; i < 2000; i++) {
        const arch = space.toArchitecture(space.random(rng));
        const m = measureCandidate({ arch, cost: architectureCost(arch), quantization, device }, ['params', 'macs'], constraints);
        if (m.violation === 0) kept.push({ params: m.values.params, macs: m.values.macs });
      }
      assert.ok(kept.length > 20, `${kept.length} feasible draws`);
      assert.deepEqual(span.params, { min: Math.min(...kept.map((k) => k.params)), max: Math.max(...kept.map((k) => k.params)) });
      assert.deepEqual(span.macs, { min: Math.min(...kept.map((k) => k.macs)), max: Math.max(...kept.map((k) => k.macs)) });
      assert.ok(span.params!.max / span.params!.min > 10, JSON.stringify(span.params));
      assert.match(span.method, /2000 genomes drawn from the space's random sampler \(seed span:1\)/);
      assert.equal(span.expensiveChecks, 0);
    });
  }

  it('checks an expensive (hardware) constraint only from the ends inward, with the same extremes as checking every draw', () => {
    const [, space] = spaces[1];
    const withLuts = resolveConstraints({ maxWeightBits: 'device', maxMacs: 600000, maxLuts: 'device' }, device);
    const feas = feasibility(space, { quantization, device, constraints: withLuts });
    assert.deepEqual(feas.expensiveConstraints, ['luts']);
    const span = estimateFeasibleSpan(space, feas, { draws: 20, rng: new Rng('span:luts'), seed: 'span:luts' });
    const rng = new Rng('span:luts');
    const all: number[] = [];
    for (let i = 0; i < 20; i++) {
      const arch = space.toArchitecture(space.random(rng));
      const cost = architectureCost(arch);
      if (measureCandidate({ arch, cost, quantization, device }, [], constraints).violation > 0) continue; // the cheap ones first, as feasibility() does
      if (measureCandidate({ arch, cost, quantization, device }, [], withLuts).violation === 0) all.push(cost.params);
    }
    assert.ok(all.length >= 2);
    assert.deepEqual(span.params, { min: Math.min(...all), max: Math.max(...all) });
    assert.ok(span.expensiveChecks < span.meetingCheckedConstraints, `${span.expensiveChecks} hardware checks for ${span.meetingCheckedConstraints} draws`);
    assert.match(span.method, /luts, from the DSE cost model, checked from each end of the range inward/);
  });
});

describe('the span report', () => {
  const span: FeasibleSpan = {
    method: 'test', draws: 2000, seed: 's', meetingCheckedConstraints: 100, checkedOnEveryDraw: ['macs'], checkedAtTheExtremes: [], expensiveChecks: 0,
    params: { min: 100, max: 10000 }, macs: { min: 1000, max: 1000000 },
  };

  it('gives the share of the log range covered', () => {
    assert.equal(logCoverage({ min: 100, max: 10000 }, span.params), 1);
    assert.ok(Math.abs(logCoverage({ min: 100, max: 1000 }, span.params)! - 0.5) < 1e-12);
    // Beyond the estimate counts only within it; outside it entirely covers nothing.
    assert.ok(Math.abs(logCoverage({ min: 1000, max: 50000 }, span.params)! - 0.5) < 1e-12);
    assert.equal(logCoverage({ min: 20000, max: 50000 }, span.params), 0);
    assert.equal(logCoverage(null, span.params), null);
    assert.equal(logCoverage({ min: 1, max: 2 }, { min: 5, max: 5 }), null);
  });

  it('warns when the candidates cover less than half of the feasible log-params range, naming the missing end', () => {
    // 100..900 params: log(9)/log(100) = 47.7% of the range.
    const small = [{ params: 100, macs: 1000 }, { params: 900, macs: 9000 }];
    const r = spanReport(small, [small[0]], span);
    assert.ok(Math.abs(r.coverage.params! - Math.log(9) / Math.log(100)) < 1e-12);
    assert.ok(Math.abs(r.coverage.macs! - Math.log(9) / Math.log(1000)) < 1e-12);
    assert.deepEqual(r.candidates, { count: 2, params: { min: 100, max: 900 }, macs: { min: 1000, max: 9000 } });
    assert.deepEqual(r.front, { count: 1, params: { min: 100, max: 100 }, macs: { min: 1000, max: 1000 } });
    assert.equal(r.frontCoverage.params, 0);
    assert.match(r.warning!, /span 100–900 params, 48% of the feasible space's log-params range \(100–10,000, estimated from 2,000 random genomes\): networks up to 10,000 params meet the constraints but were never tried/);
    // 100..1,100 params: 52%: no warning.
    assert.equal(spanReport([{ params: 100, macs: 1000 }, { params: 1100, macs: 2000 }], [], span).warning, undefined);
  });
});

describe('the initial population', () => {
  for (const [name, space] of spaces) {
    it(`${name}: reaches both ends of the feasible log-params range for every seed (stratified over log-params)`, () => {
      const span = estimateFeasibleSpan(space, feasibility(space, { quantization, device, constraints }), { draws: 2000, rng: new Rng('span:test'), seed: 'span:test' });
      const seen: string[] = [];
      for (let seed = 1; seed <= 5; seed++) {
        const ops = searchOperators(space, feasibility(space, { quantization, device, constraints }), 'stratified');
        const first = makeOptimizer('nsga2', ops, { populationSize: 8, seed }).ask();
        assert.equal(first.length, 8);
        const again = makeOptimizer('nsga2', searchOperators(space, feasibility(space, { quantization, device, constraints }), 'stratified'), { populationSize: 8, seed }).ask();
        assert.deepEqual(again.map((g) => space.key(g)), first.map((g) => space.key(g)), 'deterministic for a seed');
        const params = first.map((g) => paramsOf(space, g));
        const hi = frac(Math.max(...params), span), lo = frac(Math.min(...params), span);
        seen.push(`seed ${seed}: ${lo.toFixed(2)}-${hi.toFixed(2)}`);
        assert.ok(hi >= 0.9 && lo <= 0.15, `${name}: the initial population spans ${seen.join(', ')} of the feasible log-params range (${span.params!.min}-${span.params!.max})`);
        for (const g of first) assert.ok(ops.key(g) && feasibility(space, { quantization, device, constraints }).feasible(g));
      }
    });
  }

  it('reaches the top of the range a constraint known only to an expensive (hardware) provider leaves, scanning in from the end', () => {
    // A stand-in for maxLuts: not one of the cheap counts, so checked only where the cheap ones are met; it cuts params at 5,000.
    registerObjectiveProvider({ name: 'fakeHardware', description: 'test: params, as if it were a hardware measure', measure: (c) => c.cost.params });
    const hw = resolveConstraints({ maxWeightBits: 'device', maxMacs: 600000, maxFakeHardware: 5000 }, device);
    for (const [name, space] of spaces) {
      const span = estimateFeasibleSpan(space, feasibility(space, { quantization, device, constraints: hw }), { draws: 2000, rng: new Rng('span:hw'), seed: 'span:hw' });
      assert.ok(span.params!.max <= 5000 && span.params!.max > 4000, JSON.stringify(span.params));
      for (let seed = 1; seed <= 3; seed++) {
        const first = makeOptimizer('nsga2', searchOperators(space, feasibility(space, { quantization, device, constraints: hw }), 'stratified'), { populationSize: 8, seed }).ask();
        const params = first.map((g) => paramsOf(space, g));
        assert.ok(params.every((p) => p <= 5000));
        // The range is only ~16x here, so the pool's rarest small networks weigh more at the bottom.
        assert.ok(frac(Math.max(...params), span) >= 0.9 && frac(Math.min(...params), span) <= 0.2, `${name} seed ${seed}: ${Math.min(...params)}-${Math.max(...params)} of ${span.params!.min}-${span.params!.max}`);
      }
    }
  });

  it('says how drawing networks that meet the constraints goes, and draws the same networks whether it says so or not', () => {
    const [, space] = spaces[0];
    const lines: string[] = [];
    const told = makeOptimizer('nsga2', searchOperators(space, feasibility(space, { quantization, device, constraints }), 'random', { report: (m) => lines.push(m), everyMs: 0 }), { populationSize: 8, seed: 4 }).ask();
    const quiet = makeOptimizer('nsga2', searchOperators(space, feasibility(space, { quantization, device, constraints }), 'random'), { populationSize: 8, seed: 4 }).ask();
    assert.deepEqual(told.map((g) => space.key(g)), quiet.map((g) => space.key(g)));
    assert.ok(lines.length >= 8, `${lines.length} lines`);
    const last = lines.at(-1)!.match(/^drawing networks that meet the constraints before training: (\d+) of (\d+) drawn meet them \(\d+ s\)$/);
    assert.ok(last, lines.at(-1));
    assert.equal(Number(last[1]), 8, 'the last line counts the eight feasible draws');
    assert.equal(Number(last[2]), lines.length, 'one line a check at everyMs 0');
  });

  it('aging evolution starts from the stratified population too; random search stays uniform', () => {
    const [, space] = spaces[0];
    const ops = searchOperators(space, feasibility(space, { quantization, device, constraints }), 'stratified');
    const nsga = makeOptimizer('nsga2', ops, { populationSize: 8, seed: 3 }).ask();
    const aging = makeOptimizer('aging', ops, { populationSize: 8, seed: 3 }).ask();
    assert.equal(aging.length, 8);
    const spread = (gs: unknown[]) => Math.log(Math.max(...gs.map((g) => paramsOf(space, g))) / Math.min(...gs.map((g) => paramsOf(space, g))));
    assert.ok(spread(aging) > 0.8 * spread(nsga));
    const random = makeOptimizer('random', ops, { populationSize: 8, seed: 3 }).ask();
    assert.equal(random.length, 8);
  });
});
