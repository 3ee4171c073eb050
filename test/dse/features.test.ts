/**
 * The predictor's features (src/dse/features.ts): the adder-tree bits of an engine that sums its lanes,
 * counted at the widths a sum of narrow products needs, as Yosys keeps them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { adderTreeBits, engineFeatures } from '../../src/dse/features';
import { CostModel } from '../../src/dse/cost-model';
import { loadCalibration } from '../../src/dse/calibration';
import { fixedKnobs, SyntheticModel } from '../../src/dse/synthetic';
import { getDevice } from '../../src/fpga/devices';

describe('dse features: adder trees', () => {
  it('counts each level of a balanced tree one bit wider than the last, capped at the accumulator', () => {
    // 4 products of 3 bits: two 4-bit adders, then one of 5 bits.
    assert.equal(adderTreeBits(4, 3, 13), 2 * 4 + 5);
    // 5 products: 2 adders (4 bits), 3 sums left -> 1 adder (5), 2 left -> 1 adder (6).
    assert.equal(adderTreeBits(5, 3, 13), 2 * 4 + 5 + 6);
    // Products as wide as the accumulator: every adder at the accumulator's width.
    assert.equal(adderTreeBits(8, 16, 16), 7 * 16);
    assert.equal(adderTreeBits(1, 8, 20), 0, 'one product: no adder');
  });

  it('has n - 1 adders, each between pb + 1 and acc bits wide', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 32 }), (n, pb, acc) => {
        const bits = adderTreeBits(n, pb, acc);
        assert.ok(bits <= (n - 1) * acc, `${bits} > ${(n - 1) * acc}`);
        assert.ok(bits >= (n - 1) * Math.min(acc, pb + 1), `${bits} < ${(n - 1) * Math.min(acc, pb + 1)}`);
      }),
    );
  });

  it("counts a ternary-activation layer's tree narrower than accumulator-wide adders, and an 8-bit layer's tree wider than the ternary one's", () => {
    const device = getDevice('ice40-up5k');
    const calibration = loadCalibration();
    const engineOf = (ternaryIn: boolean) => {
      const ir = new SyntheticModel(`tree_${ternaryIn}`, [64]).dense('fc1', 32, { ternary: true, ternaryOut: ternaryIn }).dense('fc2', 10, { ternary: true }).build();
      const m = new CostModel({ ir, knobs: fixedKnobs(8, 3), device, maxLanes: 64, calibration });
      const i = m.space.partitions.findIndex((p) => p.layer === 'fc2');
      const c = m.space.partitions[i].choices.findIndex((ch) => ch.lanes === 16 && ch.unroll === 'reduction');
      assert.ok(c >= 0, 'a 16-lane reduction choice for fc2');
      const { modules } = m.emitPartition(i, c, 1);
      const p = modules[0].plan;
      assert.ok(p.op.kind === 'mac', 'a MAC engine');
      return { tree: engineFeatures(modules[0], calibration.memory).features.treeBits, accumulatorWide: (p.lanes - p.accs) * p.op.accBits };
    };
    const ternary = engineOf(true);
    const fixed = engineOf(false);
    // 16 code products (3 bits: the 2-bit code times a ternary input) into one sum: 8 adders of 4 bits, 4 of 5, 2 of 6, 1 of 7.
    assert.equal(ternary.tree, 8 * 4 + 4 * 5 + 2 * 6 + 7);
    assert.ok(ternary.tree < ternary.accumulatorWide, `${ternary.tree} vs ${ternary.accumulatorWide} accumulator-wide`);
    assert.ok(fixed.tree > ternary.tree, `8-bit inputs ${fixed.tree}, ternary inputs ${ternary.tree}`);
  });
});
