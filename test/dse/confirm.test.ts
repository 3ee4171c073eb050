import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckedPoint, PredictorCheck } from '../../src/dse/check';
import { confirmChoice } from '../../src/dse/confirm';
import type { PointCost } from '../../src/dse/cost-model';
import type { ExploredPoint } from '../../src/dse/search';
import { DeepMakerError } from '../../src/util/errors';
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

  it('when nothing fits on the scaled predictions, synthesizes the smallest design as the last try and takes it when it fits', async () => {
    const seen: number[][] = [];
    // x1.7: #1 (950) -> 1615 is rejected; scaled by 1.7, no point fits on paper (the smallest, #0: 620 -> 1054).
    const pts = [point(0, 1000, 620), point(1, 500, 950), point(2, 600, 800)];
    // Yosys takes 1.7x the prediction, except for the smallest design, which packs into 900 (a small design has less routing glue).
    const check = async (ps: ExploredPoint[]) => {
      const r = await synthesisTaking(1.7, seen)(ps);
      for (const p of r.points) if (p.id === 0) (p.synthesized as any).logicCells = 900;
      return r;
    };
    const r = await confirmChoice({ points: pts, rule: 'min-latency', budget, first: [pts[1]], check, log: silentLogger });
    assert.equal(r.chosen.id, 0);
    assert.deepEqual(seen, [[1], [0, 1]]);
  });

  it('fails with the figures when synthesis shows that no point fits, instead of handing the design to synth', async () => {
    const seen: number[][] = [];
    await assert.rejects(
      confirmChoice({ points, rule: 'min-latency', budget, first: [points[1]], check: synthesisTaking(3, seen), log: silentLogger }),
      (e: Error) => {
        assert.match(e.message, /no explored design point fits: synthesized and packed, the designs take #0: 1200 \(predicted 400\), #1: 2850 \(predicted 950\) logic cells, over the device's 1000/);
        assert.match((e as DeepMakerError).hint!, /too large for this device even with one lane per layer/);
        return true;
      },
    );
    assert.deepEqual(seen, [[1], [0, 1]], 'the smallest design was synthesized as the last try');
  });

  it('judges the fit on the packed logic cells when synthesis has them', async () => {
    const seen: number[][] = [];
    // Yosys's count equals the prediction, but packing takes 10% more: 950 -> 1045 > 1000.
    const r = await confirmChoice({ points, rule: 'min-latency', budget, first: [points[1]], check: synthesisTaking(1.0, seen, 1.1), log: silentLogger });
    assert.equal(r.chosen.id, 2);
    assert.equal(r.corrections[0].rejected.synthesizedLogicCells, 1045);
  });
});
