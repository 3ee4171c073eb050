/**
 * The packing model (src/dse/packing.ts): predicted LUTs and flip-flops to nextpnr's packed logic
 * cells with the board top: a central estimate (the median flip-flop share) and the margin that covers
 * the measured designs it under-predicts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitPacking, loadPackingModel, predictPackedCells, type PackingModel } from '../../src/dse/packing';
import { deviceBudget, violation } from '../../src/dse/cost-model';
import { getDevice } from '../../src/fpga/devices';

describe('dse: packed logic cells', () => {
  const m: PackingModel = { ffShare: 0.5, margin: 0, top: { luts: 100, ffs: 50 }, source: 'test', samples: [] };

  it('adds the board top and the share of flip-flops that take a cell of their own', () => {
    // (1000 + 100) + 0.5 * (600 + 50) = 1425
    assert.equal(predictPackedCells({ luts: 1000, ffs: 600 }, m), 1425);
    assert.equal(predictPackedCells({ luts: 1000, ffs: 601 }, m), 1426, 'rounded up');
  });

  it('fits the median flip-flop share, and a margin that covers every sample it under-predicts', () => {
    const top = { luts: 100, ffs: 50 };
    const samples = [
      { name: 'a', predicted: { luts: 1000, ffs: 600 }, packed: 1400 }, // implies (1400 - 1100) / 650 = 0.4615
      { name: 'b', predicted: { luts: 2000, ffs: 1000 }, packed: 2700 }, // implies (2700 - 2100) / 1050 = 0.5714
      { name: 'c', predicted: { luts: 1500, ffs: 900 }, packed: 2100 }, // implies (2100 - 1600) / 950 = 0.5263
    ];
    const f = fitPacking(samples, top);
    assert.equal(f.ffShare, 0.53, 'the median share, rounded');
    const model = { ...m, ...f, top };
    // b is under-predicted: 2100 + 0.53 * 1050 = 2656.5 -> 2657 < 2700, by u = 1.62 %: the margin u / (1 + u) = 1.59 %
    // of the device rounds up to 2 %.
    assert.equal(predictPackedCells(samples[1].predicted, model), 2657);
    assert.equal(f.margin, 0.02);
    for (const s of samples) assert.ok(predictPackedCells(s.predicted, model) / (1 - f.margin) >= s.packed, s.name);
    assert.equal(f.fit!.samples, 3);
    assert.ok(f.fit!.maxUnder > 0.016 && f.fit!.maxUnder < 0.017);
    // a is over-predicted: 1100 + 0.53 * 650 = 1444.5 -> 1445 against 1400.
    assert.ok(Math.abs(f.fit!.maxOver - (1 - 1400 / 1445)) < 1e-4);
  });

  it('keeps at least the packing margin of the logic cells free', () => {
    const up5k = getDevice('ice40-up5k');
    const shipped = loadPackingModel();
    assert.equal(deviceBudget(up5k, 0).logicCells, Math.floor(up5k.logicCells * (1 - shipped.margin)));
    assert.equal(deviceBudget(up5k, 0.5).logicCells, Math.floor(up5k.logicCells * 0.5), 'a larger dse.margin wins');
    assert.equal(deviceBudget(up5k, 0).ebr, up5k.ebr, 'the packing margin is for logic cells only');
  });

  it('is what fit is judged on when figures have it', () => {
    const budget = { logicCells: 1000, ebr: 10, dsp: 4, spram: 0 };
    const fig = { luts: 900, ffs: 500, carry: 0, logicCells: 900, ebr: 1, dsp: 0, spram: 0 };
    assert.equal(violation(fig, budget), 0, 'Yosys count alone: fits');
    assert.ok(violation({ ...fig, packedLogicCells: 1300 }, budget) > 0, 'packed: does not');
  });

  it('ships a model whose margin covers its own samples', () => {
    const shipped = loadPackingModel();
    assert.ok(shipped.ffShare > 0 && shipped.ffShare <= 1);
    assert.ok(shipped.margin >= 0 && shipped.margin < 0.5);
    // A design predicted at the budget's edge, cells · (1 − margin), still fits once packed.
    for (const s of shipped.samples) assert.ok(predictPackedCells(s.predicted, shipped) / (1 - shipped.margin) >= s.packed - 1, s.name);
  });
});
