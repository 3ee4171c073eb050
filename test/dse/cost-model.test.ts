import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadPackingModel } from '../../src/dse/packing';
import { CostModel, deviceBudget, greedyFastest, hardwareObjective, violation } from '../../src/dse/cost-model';
import { mapMemory } from '../../src/dse/features';
import { toDirectiveSet } from '../../src/dse/space';
import { lenet5 } from '../../src/dse/synthetic';
import { Rng } from '../../src/moo/rng';
import { getDevice } from '../../src/fpga/devices';
import { generateRtl } from '../../src/rtl/generate';
import { KNOBS8, mixedModel, TEST_CALIBRATION, tinyCnn } from './helpers';

const UP5K = getDevice('ice40-up5k');
const HX8K = getDevice('ice40-hx8k');

describe('dse: cost model', () => {
  it('predicts the cycles, DSP blocks and ROM blocks of the RTL the generator emits, point for point', () => {
    const rng = new Rng('cost-model-test');
    const cases = [[tinyCnn(), UP5K], [mixedModel(), UP5K], [mixedModel(), HX8K], [lenet5(), UP5K]] as const;
    for (const [ir, device, architecture] of [...cases.map(([i, d]) => [i, d, 'engines'] as const), ...cases.map(([i, d]) => [i, d, 'array'] as const)]) {
      const model = new CostModel({ ir, knobs: KNOBS8, device, maxLanes: 16, calibration: TEST_CALIBRATION, architecture });
      let compared = 0;
      for (let n = 0; n < 6; n++) {
        const g = model.space.partitions.map((p) => (n === 0 ? 0 : rng.int(p.choices.length)));
        const cost = model.evaluate(g);
        let gen;
        try {
          gen = generateRtl(ir, KNOBS8, toDirectiveSet(model.space, g), { name: device.name, dsp: device.dsp, spram: device.spram });
        } catch (e) {
          // The generator refuses exactly the points the model calls illegal (one buffer, two bankings).
          assert.equal(cost.legal, false, (e as Error).message);
          continue;
        }
        assert.equal(cost.legal, true);
        assert.equal(!!gen.array, architecture === 'array', 'the directive set names the architecture');
        assert.equal(cost.cycles, gen.cycles.cycles, `${ir.name} point ${g.join('.')}`);
        assert.equal(cost.dsp, gen.dspUsed);
        const romEbr = gen.roms.reduce((s, r) => s + (r.memory === 'logic' ? 0 : mapMemory(r.width, r.depth, 'rom', TEST_CALIBRATION.memory).ebr), 0);
        const ramEbr = gen.memories.filter((m) => m.kind === 'ebr').reduce((s, m) => s + m.banks * mapMemory(m.width, m.depth, 'ram', TEST_CALIBRATION.memory).ebr, 0);
        assert.equal(cost.ebr, romEbr + ramEbr);
        assert.equal(cost.spram, gen.memories.filter((m) => m.kind === 'spram').reduce((s, m) => s + m.banks * Math.ceil(m.depth / 16384) * Math.ceil(m.width / 16), 0));
        assert.equal(cost.perPartition.reduce((s, p) => s + p.cycles, 0) + 3, cost.cycles);
        if (n > 0) compared++;
      }
      // Refused points are skipped; the check must still cover random points (all 5 were legal when written).
      assert.ok(compared >= 4, `${ir.name} on ${device.name} (${architecture}): ${compared} of 5 random points compared with the generator`);
    }
  });

  it('the shared array: at equal lanes, the layers share one set of multipliers, so the array needs fewer DSP+LUT lanes and no more cycles', () => {
    const ir = lenet5();
    const engines = new CostModel({ ir, knobs: KNOBS8, device: HX8K, maxLanes: 4, calibration: TEST_CALIBRATION });
    const array = new CostModel({ ir, knobs: KNOBS8, device: HX8K, maxLanes: 4, calibration: TEST_CALIBRATION, architecture: 'array' });
    // Four lanes (outputs) on every MAC layer in both.
    const four = (m: CostModel) => m.space.partitions.map((p) => Math.max(0, p.choices.findIndex((c) => c.lanes === 4 && c.unroll === 'outputs' && c.pipeline && c.partition === 'cyclic')));
    const e = engines.evaluate(four(engines));
    const a = array.evaluate(four(array));
    assert.equal(a.cycles, e.cycles, 'same plans, same pipeline depth: the same cycles');
    assert.ok(a.luts < e.luts, `array ${a.luts} LUTs < engines ${e.luts}`);
    assert.equal(array.arraySpec(four(array))!.lanes, 4);
  });

  it('maps memories the way the calibration measured: small ROMs to logic, EBR modes tiled', () => {
    const rules = TEST_CALIBRATION.memory;
    assert.deepEqual(mapMemory(2, 256, 'rom', rules), { ebr: 0, logicBits: 512 });
    assert.deepEqual(mapMemory(8, 256, 'rom', rules), { ebr: 1, logicBits: 0 });
    assert.deepEqual(mapMemory(8, 1024, 'rom', rules), { ebr: 2, logicBits: 0 });
    assert.deepEqual(mapMemory(24, 256, 'rom', rules), { ebr: 2, logicBits: 0 });
    assert.deepEqual(mapMemory(4, 1024, 'ram', rules), { ebr: 1, logicBits: 0 });
    assert.deepEqual(mapMemory(8, 4, 'ram', rules), { ebr: 0, logicBits: 32 });
  });

  it('more lanes: fewer cycles, more multipliers; LUT multipliers instead of DSPs when asked', () => {
    const ir = tinyCnn();
    const model = new CostModel({ ir, knobs: KNOBS8, device: UP5K, maxLanes: 4, calibration: TEST_CALIBRATION });
    const conv = model.space.partitions.findIndex((p) => p.layer === 'conv');
    const idx = (lanes: number, multiplier: 'auto' | 'lut') => model.space.partitions[conv].choices.findIndex((c) => c.lanes === lanes && c.unroll === 'outputs' && c.pipeline && c.partition === 'cyclic' && c.multiplier === multiplier);
    const base = model.space.partitions.map(() => 0);
    const at = (choice: number) => model.evaluate(base.map((c, i) => (i === conv ? choice : c)));
    const one = at(idx(1, 'auto'));
    const four = at(idx(4, 'auto'));
    const fourLut = at(idx(4, 'lut'));
    assert.ok(four.cycles < one.cycles);
    assert.equal(four.dsp - one.dsp, 3);
    assert.equal(fourLut.dsp, one.dsp - 1);
    assert.equal(fourLut.cycles, four.cycles);
  });

  it('checks the fit against the device less the margin', () => {
    const b = deviceBudget(UP5K, 0.1);
    // EBR less 10 %; the logic cells less the larger of 10 % and the packing model's margin (src/dse/packing.ts).
    const keep = Math.max(0.1, loadPackingModel().margin);
    assert.deepEqual(b, { logicCells: Math.floor(5280 * (1 - keep)), ebr: 27, dsp: 8, spram: 4 });
    assert.ok(b.logicCells <= 4752);
    const ok = { luts: 100, ffs: 100, carry: 0, logicCells: 100, ebr: 27, dsp: 8, spram: 0 };
    assert.equal(violation(ok, b), 0);
    assert.ok(violation({ ...ok, ebr: 28 }, b) > 0);
    assert.ok(violation({ ...ok, logicCells: 4753 }, b) > 0);
  });

  it('greedy descent (the NAS hook) ends at a fitting point faster than the baseline', () => {
    const ir = mixedModel();
    const model = new CostModel({ ir, knobs: KNOBS8, device: UP5K, maxLanes: 8, calibration: TEST_CALIBRATION });
    const budget = deviceBudget(UP5K, 0.1);
    const g = greedyFastest(model, budget)!;
    assert.ok(g);
    assert.equal(violation(g.cost, budget), 0);
    assert.ok(g.cost.cycles < model.evaluate(model.space.partitions.map(() => 0)).cycles);
    const h = hardwareObjective({ ir, knobs: KNOBS8, device: UP5K, maxLanes: 8, calibration: TEST_CALIBRATION, architecture: 'engines' });
    assert.equal(h.cycles, g.cost.cycles);
    assert.ok(h.fits && h.baselineCycles > h.cycles);
    // auto: the architecture (engines or the shared array) that fits with fewer cycles.
    const auto = hardwareObjective({ ir, knobs: KNOBS8, device: UP5K, maxLanes: 8, calibration: TEST_CALIBRATION });
    const array = hardwareObjective({ ir, knobs: KNOBS8, device: UP5K, maxLanes: 8, calibration: TEST_CALIBRATION, architecture: 'array' });
    assert.equal(auto.cycles, Math.min(h.cycles, array.cycles));
    // (equal cycles: the fewer packed cells)
    const arrayWins = array.cycles < h.cycles || (array.cycles === h.cycles && array.packedLogicCells < h.packedLogicCells);
    assert.equal(auto.architecture, arrayWins ? 'array' : 'engines');
    // LeNet-5 at 8 bits needs ~100 EBR for its weights: it does not fit the UP5K's 30 at all.
    const l = hardwareObjective({ ir: lenet5(), knobs: KNOBS8, device: UP5K, calibration: TEST_CALIBRATION });
    assert.equal(l.fits, false);
  });
});
