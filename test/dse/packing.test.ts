/**
 * The packing model (src/dse/packing.ts): predicted LUTs and flip-flops to nextpnr's packed logic
 * cells with the board top, as an upper envelope of the measured designs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitFfShare, loadPackingModel, predictPackedCells, type PackingModel } from '../../src/dse/packing';
import { violation } from '../../src/dse/cost-model';

describe('dse: packed logic cells', () => {
  const m: PackingModel = { ffShare: 0.5, top: { luts: 100, ffs: 50 }, source: 'test', samples: [] };

  it('adds the board top and the share of flip-flops that take a cell of their own', () => {
    // (1000 + 100) + 0.5 * (600 + 50) = 1425
    assert.equal(predictPackedCells({ luts: 1000, ffs: 600 }, m), 1425);
    assert.equal(predictPackedCells({ luts: 1000, ffs: 601 }, m), 1426, 'rounded up');
  });

  it('fits the smallest flip-flop share under which no measured design is under-predicted', () => {
    const top = { luts: 100, ffs: 50 };
    const samples = [
      { name: 'a', predicted: { luts: 1000, ffs: 600 }, packed: 1400 }, // needs (1400 - 1100) / 650 = 0.4615
      { name: 'b', predicted: { luts: 2000, ffs: 1000 }, packed: 2700 }, // needs (2700 - 2100) / 1050 = 0.5714
    ];
    const share = fitFfShare(samples, top);
    assert.equal(share, 0.58);
    for (const s of samples) assert.ok(predictPackedCells(s.predicted, { ...m, ffShare: share, top }) >= s.packed, s.name);
    assert.ok(predictPackedCells(samples[1].predicted, { ...m, ffShare: 0.57, top }) < samples[1].packed, 'one step less would under-predict b');
  });

  it('is what fit is judged on when figures have it', () => {
    const budget = { logicCells: 1000, ebr: 10, dsp: 4, spram: 0 };
    const fig = { luts: 900, ffs: 500, carry: 0, logicCells: 900, ebr: 1, dsp: 0, spram: 0 };
    assert.equal(violation(fig, budget), 0, 'Yosys count alone: fits');
    assert.ok(violation({ ...fig, packedLogicCells: 1300 }, budget) > 0, 'packed: does not');
  });

  it('ships a model whose share envelopes its own samples', () => {
    const shipped = loadPackingModel();
    assert.ok(shipped.ffShare > 0 && shipped.ffShare <= 1);
    if (shipped.samples.length) assert.ok(fitFfShare(shipped.samples, shipped.top) <= shipped.ffShare + 1e-9);
  });
});
