/**
 * unroll window in the DSE (src/dse/space.ts, cost-model.ts): offered on the conv2d that is the model
 * input's only reader, costed exactly (cycles equal the RTL's, and the simulated design's), and the NAS
 * hardware objective sees the faster stem.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CostModel, hardwareObjective } from '../../src/dse/cost-model';
import { architectureIR, quantizationKnobs } from '../../src/dse/nas-objectives';
import { toDirectiveSet } from '../../src/dse/space';
import { getDevice } from '../../src/fpga/devices';
import type { Architecture } from '../../src/nn/arch';
import { resolveQuantization } from '../../src/quant/config';
import { generateRtl } from '../../src/rtl/generate';
import { assertBitExact, assertCycles, generateAndSimulate } from '../rtl/helpers';
import { KNOBS8, TEST_CALIBRATION } from './helpers';
import { SyntheticModel } from '../../src/dse/synthetic';

const ternary = resolveQuantization({ mode: 'ternary', activations: { bits: 8, integer: 4 }, ternary: { activations: true } } as never, { rounding: 'half-even', overflow: 'saturate' });
const device = getDevice('ice40-up5k');
const rtlDevice = { name: device.name, dsp: device.dsp, spram: device.spram };

describe('dse: unroll window', () => {
  it('is offered on a 1-channel stem only (lanes = outputs x kw), and its cycles are the RTL generator\'s', () => {
    const ir = new SyntheticModel('wstem', [10, 10, 1], 3).conv2d('stem', 4, 3, { padding: 'same', stride: 2 }).conv2d('c2', 4, 3).flatten().dense('fc', 3).build();
    const model = new CostModel({ ir, knobs: KNOBS8, device, maxLanes: 12, calibration: TEST_CALIBRATION });
    const windows = (layer: string) => model.space.partitions.find((p) => p.layer === layer)!.choices.filter((c) => c.unroll === 'window');
    assert.deepEqual([...new Set(windows('stem').map((c) => c.lanes))], [3, 6, 12], 'outputs x 3 taps, each output count lowering the groups');
    assert.ok(windows('stem').every((c) => c.inputBanks === 3));
    assert.deepEqual(windows('c2'), [], 'not on a layer after the first');
    const off = new CostModel({ ir, knobs: KNOBS8, device, maxLanes: 12, calibration: TEST_CALIBRATION, window: false });
    assert.deepEqual(off.space.partitions.flatMap((p) => p.choices.filter((c) => c.unroll === 'window')), []);
    const at = model.space.partitions.findIndex((p) => p.layer === 'stem');
    for (const [j, c] of model.space.partitions[at].choices.entries()) {
      if (c.unroll !== 'window') continue;
      const g = model.space.partitions.map(() => 0);
      g[at] = j;
      const cost = model.evaluate(g);
      assert.ok(cost.legal);
      assert.equal(cost.cycles, generateRtl(ir, KNOBS8, toDirectiveSet(model.space, g), rtlDevice).cycles.cycles, `${c.lanes} lanes`);
    }
  });

  it('a point with a window stem runs dse -> rtl -> sim bit-exact in the predicted cycles', async () => {
    const ir = new SyntheticModel('wsim', [9, 9, 1], 4).conv2d('stem', 4, 3, { padding: 'same', stride: 2 }).conv2d('c2', 3, 3).flatten().dense('fc', 3).build();
    const model = new CostModel({ ir, knobs: KNOBS8, device, maxLanes: 8, calibration: TEST_CALIBRATION });
    const at = model.space.partitions.findIndex((p) => p.layer === 'stem');
    const g = model.space.partitions.map(() => 0);
    g[at] = model.space.partitions[at].choices.findIndex((c) => c.unroll === 'window' && c.lanes === 6 && c.pipeline);
    assert.ok(g[at] > 0);
    const cost = model.evaluate(g);
    const r = await generateAndSimulate(ir, KNOBS8, toDirectiveSet(model.space, g), { samples: 2 });
    assertBitExact(r);
    assertCycles(r);
    assert.deepEqual(r.sim.cycles, [cost.cycles, cost.cycles]);
  });

  it("hardwareObjective: a ternary network's 16-filter 3x3/2 stem is faster with window than without", () => {
    const arch: Architecture = {
      input: [28, 28, 1],
      classes: 10,
      layers: [{ type: 'conv2d', filters: 16, kernel: 3, stride: 2, padding: 'same', activation: 'relu' }, { type: 'flatten' }, { type: 'dense', units: 10 }],
    } as Architecture;
    const opts = { ir: architectureIR(arch, ternary), knobs: quantizationKnobs(ternary), device, maxLanes: 64, margin: 0.1, architecture: 'engines' as const };
    const on = hardwareObjective(opts);
    const off = hardwareObjective({ ...opts, window: false });
    assert.ok(on.fits && off.fits);
    assert.ok(on.cycles < off.cycles, `window ${on.cycles} vs without ${off.cycles}`);
    // The stem writes 14·14·16 outputs, one per cycle: no unroll goes below that.
    assert.ok(on.cycles >= 14 * 14 * 16);
  });
});
