import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckedPoint, PredictorCheck } from '../../src/dse/check';
import { confirmChoice } from '../../src/dse/confirm';
import type { PointCost } from '../../src/dse/cost-model';
import type { ExploredPoint } from '../../src/dse/search';
import { silentLogger } from '../../src/util/log';

const budget = { logicCells: 1000, ebr: 10, dsp: 4, spram: 0 };

function point(id: number, cycles: number, logicCells: number): ExploredPoint {
  const cost = { cycles, luts: logicCells, ffs: logicCells / 2, carry: 0, logicCells, ebr: 5, dsp: 2, spram: 0, legal: true, perPartition: [], top: {} } as unknown as PointCost;
  return { id, genome: [id], key: String(id), cost, fits: logicCells <= budget.logicCells, violation: 0, origin: 'test' };
}

/** Synthesis as data: every design takes `factor` times the predicted logic. */
function synthesisTaking(factor: number, seen: number[][], packFactor?: number) {
  return async (pts: ExploredPoint[]): Promise<PredictorCheck> => {
    seen.push(pts.map((p) => p.id));
    const points = pts.map((p) => {
      const s = Math.round(p.cost.logicCells * factor);
      return { id: p.id, predicted: { ...p.cost }, synthesized: { luts: s, ffs: 0, carry: 0, logicCells: s, ebr: 5, dsp: 2, spram: 0, ...(packFactor ? { packedLogicCells: Math.round(p.cost.logicCells * packFactor) } : {}) } } as unknown as CheckedPoint;
    });
    return { points } as unknown as PredictorCheck;
  };
}

describe('dse: synthesis confirms the chosen point', () => {
  const points = [point(0, 1000, 400), point(1, 500, 950), point(2, 600, 800), point(3, 800, 600)];

  it('keeps a choice that synthesis confirms, with no extra synthesis', async () => {
    const seen: number[][] = [];
    const r = await confirmChoice({ points, rule: 'min-latency', budget, first: [points[1], points[3]], check: synthesisTaking(1.0, seen), log: silentLogger });
    assert.equal(r.chosen.id, 1);
    assert.deepEqual(r.corrections, []);
    assert.deepEqual(seen, [[1, 3]]);
  });

  it('when the chosen design is 20% larger than predicted and over budget, chooses again on scaled predictions and synthesizes the new choice', async () => {
    const seen: number[][] = [];
    const r = await confirmChoice({ points, rule: 'min-latency', budget, first: [points[1], points[3]], check: synthesisTaking(1.2, seen), log: silentLogger });
    // 950 x 1.2 = 1140 > 1000: rejected; scaled, #2 (800 -> 960) is the fastest that fits.
    assert.equal(r.chosen.id, 2);
    assert.deepEqual(r.corrections, [{ rejected: { id: 1, predictedLogicCells: 950, synthesizedLogicCells: 1140 }, ratio: 1.2, chosen: 2 }]);
    assert.deepEqual(seen, [[1, 3], [2, 1, 3]]);
    assert.equal(r.check.points[0].id, 2);
  });

  it('gives up after `rounds` and when nothing would fit, keeping the last choice for the synth stage to refuse with figures', async () => {
    const seen: number[][] = [];
    const r = await confirmChoice({ points, rule: 'min-latency', budget, first: [points[1]], check: synthesisTaking(3, seen), log: silentLogger });
    assert.equal(r.chosen.id, 1);
    assert.deepEqual(r.corrections, []);
    assert.equal(seen.length, 1);
  });

  it('judges the fit on the packed logic cells when synthesis has them', async () => {
    const seen: number[][] = [];
    // Yosys's count equals the prediction, but packing takes 10% more: 950 -> 1045 > 1000.
    const r = await confirmChoice({ points, rule: 'min-latency', budget, first: [points[1]], check: synthesisTaking(1.0, seen, 1.1), log: silentLogger });
    assert.equal(r.chosen.id, 2);
    assert.equal(r.corrections[0].rejected.synthesizedLogicCells, 1045);
  });
});
