import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CostModel, deviceBudget, repairToFit, violation, widthGenomes } from '../../src/dse/cost-model';
import { choosePoint, front2d, paretoFront, paretoSvg } from '../../src/dse/pareto';
import { allGenomes, explore, objectives } from '../../src/dse/search';
import { lenet5 } from '../../src/dse/synthetic';
import { getDevice } from '../../src/fpga/devices';
import { dominates } from '../../src/moo/dominance';
import { KNOBS8, TEST_CALIBRATION, tinyCnn } from './helpers';

const UP5K = getDevice('ice40-up5k');

describe('dse: search and frontier', () => {
  const model = new CostModel({ ir: tinyCnn(), knobs: KNOBS8, device: UP5K, maxLanes: 4, calibration: TEST_CALIBRATION });
  // A tight budget so that some points do not fit.
  const budget = { ...deviceBudget(UP5K, 0.1), dsp: 3 };

  it('exhaustive search visits every point once', () => {
    const r = explore(model, budget, { algorithm: 'auto', exhaustiveLimit: 100_000, population: 8, generations: 2, seed: 1 });
    assert.equal(r.algorithm, 'exhaustive');
    assert.equal(r.points.length, model.space.size);
    assert.equal(new Set(r.points.map((p) => p.key)).size, model.space.size);
    assert.equal([...allGenomes(model.space)].length, model.space.size);
    assert.ok(r.points.some((p) => !p.fits) && r.points.some((p) => p.fits));
  });

  it('the frontier holds only fitting, mutually non-dominated points, and dominates every other fitting point', () => {
    const r = explore(model, budget, { algorithm: 'exhaustive', exhaustiveLimit: 0, population: 8, generations: 2, seed: 1 });
    const front = paretoFront(r.points);
    assert.ok(front.length >= 2);
    for (const p of front) {
      assert.ok(p.fits && p.cost.dsp <= 3);
      for (const q of front) if (q !== p) assert.ok(!dominates(objectives(q.cost), objectives(p.cost)));
    }
    for (const p of r.points.filter((x) => x.fits && !front.includes(x))) {
      assert.ok(front.some((f) => dominates(objectives(f.cost), objectives(p.cost)) || objectives(f.cost).every((v, i) => v === objectives(p.cost)[i])), `#${p.id} not covered`);
    }
    // Rules.
    const fast = choosePoint(r.points, 'min-latency');
    const small = choosePoint(r.points, 'min-luts');
    const knee = choosePoint(r.points, 'knee');
    const fit = r.points.filter((p) => p.fits);
    assert.equal(fast.cost.cycles, Math.min(...fit.map((p) => p.cost.cycles)));
    assert.equal(small.cost.logicCells, Math.min(...fit.map((p) => p.cost.logicCells)));
    assert.ok(front2d(r.points).includes(knee));
    assert.ok(knee.cost.cycles >= fast.cost.cycles && knee.cost.logicCells >= small.cost.logicCells);
    const svg = paretoSvg(r.points, front, fast, { title: 'tiny', budgetLogicCells: budget.logicCells });
    assert.match(svg, /^<svg[^>]+xmlns/);
    assert.equal((svg.match(/<title>#/g) ?? []).length, front.length);
  });

  it('says what to do when nothing fits', () => {
    const r = explore(model, { logicCells: 10, ebr: 0, dsp: 0, spram: 0 }, { algorithm: 'exhaustive', exhaustiveLimit: 0, population: 8, generations: 2, seed: 1 });
    assert.throws(() => choosePoint(r.points, 'min-latency'), /no explored directive set fits[\s\S]*hint:/);
  });

  it('NSGA-II on LeNet-5 (10^9 points) with room for its weights: deterministic per seed, beats the greedy seed point or equals it', () => {
    // LeNet-5 at 8 bits needs ~100 EBR: give it an imaginary device budget so that the search has room.
    const big = new CostModel({ ir: lenet5(), knobs: KNOBS8, device: UP5K, maxLanes: 16, calibration: TEST_CALIBRATION });
    const b = { logicCells: 20_000, ebr: 200, dsp: 8, spram: 4 };
    const opts = { algorithm: 'nsga2' as const, exhaustiveLimit: 0, population: 16, generations: 6, seed: 3 };
    const r1 = explore(big, b, opts);
    const r2 = explore(big, b, opts);
    assert.equal(r1.algorithm, 'nsga2');
    assert.deepEqual(r1.points.map((p) => p.key), r2.points.map((p) => p.key));
    const greedy = r1.points.find((p) => p.origin === 'greedy')!;
    const best = choosePoint(r1.points, 'min-latency');
    assert.ok(best.cost.cycles <= greedy.cost.cycles);
    const baseline = r1.points.find((p) => p.origin === 'baseline')!;
    assert.ok(baseline.cost.cycles / best.cost.cycles > 5, `${baseline.cost.cycles} / ${best.cost.cycles}`);
    const widths = r1.points.filter((p) => p.origin.startsWith('width ')).length;
    assert.ok(widths > 0, 'one seed per lane width');
    assert.ok(r1.points.length <= 16 * 6 + 3 + widths, 'the population x generations, the seeds and a polished point');
  });

  it('seeds one point per lane width (every layer at its fastest choice within it); the chosen point is at least as fast as every fitting one', () => {
    const m = new CostModel({ ir: lenet5(), knobs: KNOBS8, device: UP5K, maxLanes: 16, calibration: TEST_CALIBRATION, architecture: 'array' });
    const b = { logicCells: 6000, ebr: 120, dsp: 8, spram: 4 };
    const seeds = widthGenomes(m);
    assert.deepEqual(seeds.map((s) => s.lanes), [...new Set(seeds.map((s) => s.lanes))].sort((x, y) => x - y));
    for (const s of seeds) {
      m.space.partitions.forEach((p, i) => assert.ok(p.choices[s.genome[i]].lanes <= s.lanes, `${p.layer} within width ${s.lanes}`));
    }
    // Wider seeds are never slower (each layer's choice set only grows).
    const cyc = seeds.map((s) => m.evaluate(s.genome).cycles);
    for (let i = 1; i < cyc.length; i++) assert.ok(cyc[i] <= cyc[i - 1], `width ${seeds[i].lanes}: ${cyc[i]} > ${cyc[i - 1]}`);
    const r = explore(m, b, { algorithm: 'nsga2', exhaustiveLimit: 0, population: 8, generations: 2, seed: 1 });
    const best = choosePoint(r.points, 'min-latency');
    for (const p of r.points.filter((x) => x.origin.startsWith('width ') && x.fits)) assert.ok(best.cost.cycles <= p.cost.cycles);
  });

  it('repairs lane-width seeds that do not fit by the cheapest single changes, into points that fit', () => {
    const m = new CostModel({ ir: lenet5(), knobs: KNOBS8, device: UP5K, maxLanes: 16, calibration: TEST_CALIBRATION, architecture: 'array' });
    const b = { logicCells: 5000, ebr: 110, dsp: 4, spram: 4 };
    const over = widthGenomes(m).filter((w) => violation(m.evaluate(w.genome), b) > 0);
    assert.ok(over.length > 0, 'some width overshoots this budget');
    // Single changes cannot always shrink the array (several layers at its width): then no repair, and the narrower seeds stand.
    const repaired = over.map((w) => repairToFit(m, b, w.genome)).filter((r) => r !== undefined);
    assert.ok(repaired.length > 0, 'some overshooting width is repaired');
    for (const r of repaired) {
      assert.equal(violation(r.cost, b), 0);
      assert.ok(r.cost.legal);
    }
    assert.equal(repairToFit(m, { logicCells: 10, ebr: 0, dsp: 0, spram: 0 }, over[0].genome), undefined, 'nothing fits a device with no room');
  });

  it('polishes the fastest fitting point NSGA-II found by a greedy descent: no single directive change makes it faster and still fits', () => {
    const big = new CostModel({ ir: lenet5(), knobs: KNOBS8, device: UP5K, maxLanes: 16, calibration: TEST_CALIBRATION });
    const b = { logicCells: 5000, ebr: 110, dsp: 4, spram: 4 };
    const r = explore(big, b, { algorithm: 'nsga2', exhaustiveLimit: 0, population: 16, generations: 6, seed: 1 });
    const polished = r.points.find((p) => p.origin === 'polish');
    assert.ok(polished, 'a greedy descent improved on NSGA-II here');
    const best = choosePoint(r.points, 'min-latency');
    assert.equal(best.key, polished.key);
    for (const i of big.space.genes) {
      for (let j = 0; j < big.space.partitions[i].choices.length; j++) {
        const g = [...best.genome];
        g[i] = j;
        const c = big.evaluate(g);
        assert.ok(!(c.legal && violation(c, b) === 0 && c.cycles < best.cost.cycles), `gene ${i} choice ${j}: ${c.cycles} < ${best.cost.cycles} cycles and fits`);
      }
    }
  });
});
