/**
 * pareto.svg reads as a figure: round axis ticks (1-2-5 × 10^k), the front of the plotted pair
 * (cycles, logic cells) drawn as a monotone staircase computed over every fitting point (the
 * four-objective frontier, projected into this plane, zig-zags), and every mark in the legend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PointCost } from '../../src/dse/cost-model';
import { front2d, paretoFront, paretoSvg } from '../../src/dse/pareto';
import type { ExploredPoint } from '../../src/dse/search';
import { logTicks, niceTicks } from '../../src/util/svg';

/** The step between ticks has a mantissa of 1, 2 or 5. */
function isNiceStep(step: number): boolean {
  const m = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
  return [1, 2, 5].some((n) => Math.abs(m - n) < 1e-9);
}

describe('niceTicks / logTicks', () => {
  it('gives round ticks for the ranges of the old figures and a few others', () => {
    // The old pareto.svg divided 0..ymax into fifths: 0, 5548, 11095, ... for ymax 27740.
    assert.deepEqual(niceTicks(0, 27740), [0, 5000, 10000, 15000, 20000, 25000, 30000]);
    assert.deepEqual(niceTicks(0, 21600), [0, 5000, 10000, 15000, 20000, 25000]);
    assert.deepEqual(niceTicks(0, 4752), [0, 1000, 2000, 3000, 4000, 5000]);
    assert.deepEqual(niceTicks(0.1, 0.87), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(-3.2, 7.9), [-4, -2, 0, 2, 4, 6, 8]);
    assert.deepEqual(niceTicks(0, 1, 3), [0, 0.5, 1]);
    assert.deepEqual(niceTicks(7, 3), [3, 4, 5, 6, 7], 'a reversed range');
    assert.deepEqual(niceTicks(300, 300), [200, 250, 300, 350, 400], 'one value: a unit of its magnitude around it');
    assert.deepEqual(niceTicks(0, 0), [-1, -0.5, 0, 0.5, 1]);
    assert.throws(() => niceTicks(0, Infinity), /not finite/);
  });

  it('covers the range with a 1-2-5 step and 0.7 to 1.5 times `count` intervals, on 2,000 random ranges', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let k = 0; k < 2000; k++) {
      const scale = 10 ** Math.floor(rand() * 12 - 4);
      const lo = (rand() - 0.3) * scale;
      const hi = lo + rand() * scale + 1e-3 * scale;
      const count = 2 + Math.floor(rand() * 8);
      const t = niceTicks(lo, hi, count);
      const step = t[1] - t[0];
      assert.ok(isNiceStep(step), `step ${step} for [${lo}, ${hi}]`);
      assert.ok(t[0] <= lo && t[t.length - 1] >= hi, `[${t[0]}, ${t[t.length - 1]}] covers [${lo}, ${hi}]`);
      // (hi − lo)/step lies in [0.7, 1.5]·count; rounding the ends out adds at most one interval on each side.
      assert.ok(t.length - 1 >= Math.floor(0.7 * count) && t.length - 1 <= Math.floor(1.5 * count) + 2, `${t.length - 1} intervals for count ${count}`);
      for (let i = 1; i < t.length; i++) assert.ok(Math.abs(t[i] - t[i - 1] - step) <= 1e-9 * Math.max(1, Math.abs(t[i])), 'evenly spaced');
      for (const v of t) assert.ok(Math.abs(v / step - Math.round(v / step)) < 1e-6, `${v} is a multiple of ${step}`);
    }
  });

  it('log axes: powers of ten, else 1-2-5 per decade, else 1..9, all inside the range', () => {
    assert.deepEqual(logTicks(3, 20000), [10, 100, 1000, 10000]);
    assert.deepEqual(logTicks(40000, 300000), [50000, 100000, 200000]);
    assert.deepEqual(logTicks(31000, 79000), [40000, 50000, 60000, 70000]);
    // Too narrow for 1..9 in a decade: round linear ticks inside the range.
    assert.deepEqual(logTicks(1010, 1090), [1020, 1040, 1060, 1080]);
    assert.throws(() => logTicks(0, 10), /positive/);
  });
});

let nextId = 0;
function point(cycles: number, logicCells: number, ebr: number, dsp: number, fits = true): ExploredPoint {
  const cost = { cycles, logicCells, ebr, dsp, luts: logicCells, ffs: 0, carry: 0, spram: 0, perPartition: [], top: {}, legal: true } as unknown as PointCost;
  const id = nextId++;
  return { id, genome: [id], key: String(id), cost, fits, violation: fits ? 0 : 1, origin: 'test' };
}

/** The SVG's numbers: every "x,y" vertex of the element with class="front2d" (the staircase). */
function staircase(svg: string): [number, number][] {
  const m = /<polyline class="front2d"[^>]* points="([^"]*)"/.exec(svg);
  assert.ok(m, 'the figure draws the 2-D front as a polyline of class front2d');
  return m[1].split(' ').map((p) => p.split(',').map(Number) as [number, number]);
}

describe('pareto.svg', () => {
  // A four-objective frontier that zig-zags in (cycles, logic cells): B and D are slower *and* larger
  // than A and C, and on the frontier only for their EBR or DSP. E dominates nothing and is off both
  // fronts; F is small and fast but does not fit.
  nextId = 0;
  const A = point(1000, 800, 4, 2);
  const B = point(1500, 900, 2, 2);
  const C = point(2000, 500, 4, 2);
  const D = point(3000, 700, 4, 0);
  const G = point(8000, 200, 4, 2);
  const E = point(5000, 950, 6, 3);
  const F = point(500, 100, 1, 0, false);
  const points = [A, B, C, D, G, E, F];
  const front = paretoFront(points);
  const svg = paretoSvg(points, front, C, { title: 'zig-zag', budgetLogicCells: 1000, baseline: G });

  it('front2d is the front of (cycles, logic cells) over every fitting point: ascending cycles, falling logic, covering the rest', () => {
    assert.deepEqual(front.map((p) => p.id).sort(), [A, B, C, D, G].map((p) => p.id).sort(), 'the 4-objective frontier');
    const f = front2d(points);
    assert.deepEqual(f.map((p) => p.id), [A.id, C.id, G.id]);
    for (let i = 1; i < f.length; i++) assert.ok(f[i].cost.cycles > f[i - 1].cost.cycles && f[i].cost.logicCells < f[i - 1].cost.logicCells);
    for (const p of points.filter((p) => p.fits)) {
      assert.ok(f.some((q) => q.cost.cycles <= p.cost.cycles && q.cost.logicCells <= p.cost.logicCells), `#${p.id} is covered`);
    }
  });

  it('draws that front as a monotone staircase through its points only (no zig-zag)', () => {
    const s = staircase(svg);
    assert.equal(s.length, 2 * 3 - 1, 'three front points and a corner between each two');
    for (let i = 1; i < s.length; i++) {
      assert.ok(s[i][0] >= s[i - 1][0], 'x never goes back');
      assert.ok(s[i][1] >= s[i - 1][1], 'logic cells never rise (SVG y grows downwards)');
      assert.ok(s[i][0] === s[i - 1][0] || s[i][1] === s[i - 1][1], 'each segment is horizontal or vertical');
    }
    const marks = [...svg.matchAll(/<circle class="front2d" cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    assert.deepEqual(marks, [s[0], s[2], s[4]], 'a mark on each front point, at the staircase vertices');
    // Every four-objective frontier member still has its mark and details.
    assert.equal((svg.match(/<title>#/g) ?? []).length, front.length);
  });

  it('has round y ticks and 1-2-5 x ticks', () => {
    const y = [...svg.matchAll(/<text x="\d+(?:\.\d)?" y="[\d.]+" text-anchor="end">([^<]*)<\/text>/g)].map((m) => m[1]);
    assert.deepEqual(y, ['0', '200', '400', '600', '800', '1k', '1.2k'], 'up to the budget (1,000) with a little headroom');
    const x = [...svg.matchAll(/<text x="[\d.]+" y="\d+" text-anchor="middle">([^<]*)<\/text>/g)].map((m) => m[1]).filter((t) => /^[\d.]+k?$/.test(t));
    assert.deepEqual(x, ['500', '1k', '2k', '5k']);
  });

  it('names every mark in the legend, the one-lane baseline included', () => {
    const legend = [...svg.matchAll(/<g class="legend">.*?<text[^>]*>([^<]*)<\/text><\/g>/g)].map((m) => m[1]);
    assert.deepEqual(legend, ['explored, fits', 'explored, does not fit', 'frontier (cycles, logic,', 'front of cycles vs logic', 'one lane per layer', 'chosen', 'device budget (margin)']);
    const without = paretoSvg(points, front, C, { title: 'no baseline', budgetLogicCells: 1000 });
    assert.doesNotMatch(without, /one lane per layer/);
  });
});
