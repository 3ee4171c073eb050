/** Kendall's tau-b against values computed by hand, and the confirmation's regret report. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kendallTauB, regretReport, selectionRegret } from '../../src/nas/regret';
import type { Candidate, RungRecord } from '../../src/nas/search';

const close = (a: number | null, b: number) => assert.ok(a !== null && Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

describe("Kendall's tau-b", () => {
  it('is 1 for the same order and -1 for the reverse', () => {
    close(kendallTauB([1, 2, 3, 4], [10, 20, 30, 40]), 1);
    close(kendallTauB([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  });

  it('without ties: (C - D) / n0', () => {
    // x = 1..5, y = 3 1 2 5 4. Discordant pairs: (1,2) 3>1, (1,3) 3>2, (4,5) 5>4; the other 7 concordant.
    // (7 - 3) / 10 = 0.4.
    close(kendallTauB([1, 2, 3, 4, 5], [3, 1, 2, 5, 4]), 0.4);
  });

  it('with ties in x and in y: (C - D) / sqrt((n0 - n1)(n0 - n2)), not tau-a', () => {
    // x = 1 2 2 3, y = 1 3 2 2. Pairs: (1,2) C, (1,3) C, (1,4) C, (2,3) tied in x, (2,4) D (2<3 but 3>2),
    // (3,4) tied in y. C = 3, D = 1, n0 = 6, n1 = n2 = 1: 2 / sqrt(5 * 5) = 0.4 (tau-a would be 2/6).
    close(kendallTauB([1, 2, 2, 3], [1, 3, 2, 2]), 0.4);
    // x = .1 .2 .2 .3 .3, y = .5 .4 .4 .1 .2. Every untied pair is discordant (D = 8, C = 0); (2,3) is tied
    // in both, (4,5) in x only: n1 = 2, n2 = 1: -8 / sqrt(8 * 9) = -0.9428...
    close(kendallTauB([0.1, 0.2, 0.2, 0.3, 0.3], [0.5, 0.4, 0.4, 0.1, 0.2]), -8 / Math.sqrt(72));
    // A pair tied in both counts in neither C nor D: x = 1 1 2, y = 5 5 6: 2 / sqrt(2 * 2) = 1.
    close(kendallTauB([1, 1, 2], [5, 5, 6]), 1);
  });

  it('is undefined (null) for fewer than two values or a constant sample', () => {
    assert.equal(kendallTauB([], []), null);
    assert.equal(kendallTauB([0.3], [0.2]), null);
    assert.equal(kendallTauB([0.3, 0.3, 0.3], [0.1, 0.2, 0.3]), null);
    assert.throws(() => kendallTauB([1, 2], [1]), /2 x values but 1 y values/);
  });
});

function candidate(id: string, low: number, final: number, params: number): Candidate {
  const rung: RungRecord = { rung: 1, epochs: 3, subset: 4096, key: `${id}-low`, error: low, validationAccuracy: 1 - low, seconds: 1, cached: false };
  return {
    id, key: id, generation: 0, index: 0, genome: null, architecture: { input: [28, 28, 1], classes: 10, layers: [{ type: 'flatten' }, { type: 'dense', units: 10 }] }, description: id,
    values: { params, macs: params * 10, weightBits: params * 8 }, violation: 0, feasible: true, error: low, rung: 1,
    rungs: [{ ...rung, rung: 0, epochs: 1, error: low + 0.1 }, rung], objectives: [low, params],
    final: { rung: 2, epochs: 4, subset: 54000, key: `${id}-final`, error: final, validationAccuracy: 1 - final, seconds: 60, cached: true, final: true },
  };
}

describe('the regret report', () => {
  it('gives both errors, both ranks, tau-b, the two picks and what the low-fidelity pick gives away', () => {
    const a = candidate('a', 0.10, 0.08, 1000), b = candidate('b', 0.12, 0.05, 3000), c = candidate('c', 0.15, 0.09, 2000);
    const r = regretReport([a, b, c], b, { top: 3, learningRateSchedule: 'cosine', evaluations: 3, cacheHits: 3, sampleEpochs: 3 * 4 * 54000 });
    assert.deepEqual(r.candidates.map((e) => [e.id, e.lowFidelityRank, e.finalRank, e.lowFidelity.error, e.lowFidelity.epochs, e.final.error]), [
      ['a', 1, 2, 0.10, 3, 0.08],
      ['b', 2, 1, 0.12, 3, 0.05],
      ['c', 3, 3, 0.15, 3, 0.09],
    ]);
    // Low 0.10 0.12 0.15 vs final 0.08 0.05 0.09: (a,b) discordant, (a,c) and (b,c) concordant: 1/3.
    close(r.kendallTau, 1 / 3);
    assert.equal(r.lowFidelityPick, 'a');
    assert.equal(r.finalPick, 'b');
    assert.equal(r.flipped, true);
    close(r.regret, 0.03);
    assert.equal(r.epochs, 4);
    assert.equal(r.subset, 54000);
    const same = regretReport([b, a], b, { top: 2, learningRateSchedule: 'constant', evaluations: 2, cacheHits: 0, sampleEpochs: 0 });
    assert.equal(same.flipped, false);
    assert.equal(same.regret, 0);
  });
});

describe('selection regret among fully trained front members (the nas-regret bench)', () => {
  const members = [
    { id: 'a', lowFidelityError: 0.10, fullAccuracy: 0.9800 },
    { id: 'b', lowFidelityError: 0.12, fullAccuracy: 0.9870 },
    { id: 'c', lowFidelityError: 0.15, fullAccuracy: 0.9910 },
    { id: 'd', lowFidelityError: 0.20, fullAccuracy: 0.9850 },
  ];

  it('is the best full accuracy minus each pick\'s', () => {
    const r = selectionRegret(members, { lowFidelity: 'a', confirmation: 'b' });
    assert.deepEqual(r.best, { id: 'c', fullAccuracy: 0.991 });
    close(r.withoutConfirmation, 0.991 - 0.98);
    close(r.withConfirmation, 0.991 - 0.987);
    // Low-fidelity errors .10 .12 .15 .20 vs full errors .020 .013 .009 .015: pairs (a,b) D, (a,c) D, (a,d) D, (b,c) D, (b,d) C, (c,d) C: (2 - 4) / 6.
    close(r.kendallTau, -2 / 6);
    assert.equal(selectionRegret(members, { lowFidelity: 'c' }).withoutConfirmation, 0);
    assert.equal(selectionRegret(members, { lowFidelity: 'c' }).withConfirmation, null);
  });

  it('refuses a pick that was not trained', () => {
    assert.throws(() => selectionRegret(members, { lowFidelity: 'a', confirmation: 'z' }), /the pick z is not among the fully trained members \(a, b, c, d\)/);
  });
});
