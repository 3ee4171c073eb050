import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Ajv from 'ajv';
import { CostModel } from '../../src/dse/cost-model';
import { bankedLaneOptions, buildSpace, choiceDirective, genomeOf, layerChoices, outputLaneOptions, toDirectiveSet } from '../../src/dse/space';
import { allGenomes } from '../../src/dse/search';
import { lenet5, SyntheticModel } from '../../src/dse/synthetic';
import type { ModelIR } from '../../src/ir/types';
import { getDevice } from '../../src/fpga/devices';
import { resolveDirectives } from '../../src/rtl/directives';
import { generateRtl } from '../../src/rtl/generate';
import { isDeepMakerError } from '../../src/util/errors';
import { ModelBuilder } from '../rtl/helpers';
import { KNOBS8, mixedModel, TEST_CALIBRATION, tinyCnn } from './helpers';

const UP5K = getDevice('ice40-up5k');

/** Builds the RTL for one partition's choice (every other layer at one lane); undefined when the RTL accepts it, else its message. */
function rtlRefuses(ir: ModelIR, model: CostModel, layer: string, choice: number): string | undefined {
  const p = model.space.partitions.find((x) => x.layer === layer)!;
  const set = { version: 1 as const, layers: { [layer]: choiceDirective(p, p.choices[choice]) } };
  try {
    generateRtl(ir, KNOBS8, set, { name: UP5K.name, dsp: UP5K.dsp, spram: UP5K.spram });
    return undefined;
  } catch (e) {
    if (isDeepMakerError(e)) return e.message;
    throw e;
  }
}

const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', 'directives.schema.json'), 'utf8'));

describe('dse: directive space and legality', () => {
  it('offers an outputs unroll factor only when it lowers the number of groups', () => {
    assert.deepEqual(outputLaneOptions(6, 16), [1, 2, 3, 6]);
    assert.deepEqual(outputLaneOptions(10, 4), [1, 2, 3, 4]);
    // 120 channels: 13 (10 groups, like 12) and 16 (8 groups, like 15) are left out.
    const o = outputLaneOptions(120, 16);
    assert.ok(!o.includes(13) && !o.includes(16) && o.includes(15) && o.includes(12));
    for (let i = 1; i < o.length; i++) assert.ok(Math.ceil(120 / o[i]) < Math.ceil(120 / o[i - 1]));
  });

  it('banks input channels only by powers of two that divide them', () => {
    assert.deepEqual(bankedLaneOptions(12, 16), [1, 2, 4]);
    assert.deepEqual(bankedLaneOptions(16, 8), [1, 2, 4, 8]);
    assert.deepEqual(bankedLaneOptions(6, 16), [1, 2]);
  });

  it('gives pools one choice, depthwise layers no reduction unroll, ternary layers no LUT-multiplier choice', () => {
    const ir = mixedModel();
    const space = buildSpace(ir, { maxLanes: 8, hasDsp: true, device: 'ice40-up5k' });
    const by = (name: string) => space.partitions.find((p) => p.layer === name)!;
    assert.equal(by('apool').choices.length, 1);
    assert.equal(by('gap').choices.length, 1);
    assert.ok(by('dw').choices.every((c) => c.unroll === 'outputs' && (c.lanes & (c.lanes - 1)) === 0 && 8 % c.lanes === 0));
    assert.ok(by('conv').choices.some((c) => c.unroll === 'reduction') && by('conv').choices.some((c) => c.multiplier === 'lut'));
    const tern = new SyntheticModel('t', [4, 4, 2]).conv2d('tc', 4, 3, { ternary: true }).flatten().dense('fc', 3).build();
    const tc = layerChoices(tern.layers.find((l) => l.name === 'tc')!, { maxLanes: 8, hasDsp: true, device: 'ice40-up5k' });
    assert.ok(tc.every((c) => c.multiplier === 'auto'));
    // Without DSPs there is nothing to choose between.
    const hx = buildSpace(ir, { maxLanes: 8, hasDsp: false, device: 'ice40-hx8k' });
    assert.ok(hx.partitions.every((p) => p.choices.every((c) => c.multiplier === 'auto')));
    assert.ok(hx.size < space.size);
  });

  it('every choice of every partition is accepted by the RTL generator, and every point is a valid directive file', () => {
    const validate = new Ajv({ strict: false }).compile(schema);
    for (const ir of [tinyCnn(), mixedModel()]) {
      const model = new CostModel({ ir, knobs: KNOBS8, device: getDevice('ice40-up5k'), maxLanes: 8, calibration: TEST_CALIBRATION });
      let n = 0;
      for (const g of allGenomes(model.space)) {
        if (n++ % 7 !== 0) continue; // a spread sample keeps this quick
        const set = toDirectiveSet(model.space, g);
        assert.ok(validate(set), JSON.stringify(validate.errors));
        const resolved = resolveDirectives(ir, set);
        model.space.partitions.forEach((p, i) => assert.equal(resolved.get(p.layer)!.lanes, model.space.partitions[i].choices[g[i]].lanes));
        assert.deepEqual(genomeOf(model.space, set), g);
      }
      assert.ok(n >= model.space.size);
    }
  });

  it('offers exactly the banked reads the RTL planner builds: a dense on the flattened 1-channel model input, tensors inside a concatenation view', () => {
    // A dense reading the model input (4x4 pixels of 1 channel) through Flatten: 16 input channels, banked by 2..8.
    const flat = new SyntheticModel('flat', [4, 4, 1]).flatten().dense('l0_dense', 8, { relu: true }).dense('l1_dense', 4).build();
    // stem (4 ch) and u1 (2 ch) live at channels 0 and 4 of cat's buffer (6 channels per pixel):
    // u1 reads stem with a pixel stride of 6, so 4 banked lanes (which divide stem's 4 channels) cannot read it.
    const b = new ModelBuilder('cat', [4, 4, 2], 5).conv2d('stem', 4, 3, { padding: 'same' }).conv2d('u1', 2, 3, { padding: 'same' });
    b.add({ name: 'cat', type: 'concatenate', inputs: ['stem', 'u1'], outputShape: [4, 4, 6], axis: -1 });
    b.conv2d('t', 4, 1).globalPool('gap', 'global_avgpool2d').dense('fc', 3);
    const cat = b.build();
    const offered = (model: CostModel, layer: string) => model.space.partitions.find((p) => p.layer === layer)!.choices.filter((c) => c.unroll === 'reduction').map((c) => c.lanes);
    for (const ir of [flat, cat]) {
      const model = new CostModel({ ir, knobs: KNOBS8, device: UP5K, maxLanes: 8, calibration: TEST_CALIBRATION });
      // Sound: the RTL builds every choice the space offers (one partition varied at a time).
      for (const p of model.space.partitions) p.choices.forEach((_, j) => assert.equal(rtlRefuses(ir, model, p.layer, j), undefined, `${ir.name} ${p.layer} #${j}`));
      // Whole points too: cycles as the RTL counts them.
      for (const g of [model.space.partitions.map(() => 0), model.space.partitions.map((p) => p.choices.length - 1)]) {
        const cost = model.evaluate(g);
        if (!cost.legal) continue;
        const gen = generateRtl(ir, KNOBS8, toDirectiveSet(model.space, g), { name: UP5K.name, dsp: UP5K.dsp, spram: UP5K.spram });
        assert.equal(cost.cycles, gen.cycles.cycles, `${ir.name} ${g}`);
      }
    }
    const flatModel = new CostModel({ ir: flat, knobs: KNOBS8, device: UP5K, maxLanes: 8, calibration: TEST_CALIBRATION });
    assert.deepEqual([...new Set(offered(flatModel, 'l0_dense'))], [2, 4, 8]);
    const catModel = new CostModel({ ir: cat, knobs: KNOBS8, device: UP5K, maxLanes: 8, calibration: TEST_CALIBRATION });
    // Complete: what is left out is what the RTL refuses, and only that.
    assert.deepEqual([...new Set(offered(catModel, 'u1'))], [2]);
    assert.deepEqual([...new Set(offered(catModel, 't'))], [2]);
    const u1 = layerChoices(cat.layers.find((l) => l.name === 'u1')!, { maxLanes: 8, hasDsp: true, device: UP5K.name });
    const four = u1.find((c) => c.unroll === 'reduction' && c.lanes === 4)!;
    assert.throws(
      () => generateRtl(cat, KNOBS8, { version: 1, layers: { u1: choiceDirective({ type: 'conv2d' }, four) } }, { name: UP5K.name, dsp: UP5K.dsp, spram: UP5K.spram }),
      /4 banked lanes cannot read 'stem'/,
    );
    // The concatenation is a view, not an engine: no partition of its own.
    assert.ok(!catModel.space.partitions.some((p) => p.layer === 'cat'));
  });

  it('counts LeNet-5 as a large space (NSGA-II territory) with the one-lane baseline first', () => {
    const space = buildSpace(lenet5(), { maxLanes: 16, hasDsp: true, device: 'ice40-up5k' });
    assert.ok(space.size > 1e8, String(space.size));
    assert.deepEqual(space.genes.map((i) => space.partitions[i].layer), ['conv1', 'conv2', 'fc1', 'fc2', 'fc3']);
    for (const p of space.partitions) assert.deepEqual(p.choices[0], { lanes: 1, unroll: 'outputs', pipeline: true, partition: 'cyclic', multiplier: 'auto' });
    const conv2 = space.partitions.find((p) => p.layer === 'conv2')!;
    assert.deepEqual(conv2.trips, { outputs: 16, reduction: 150, positions: 64, kernel: 25 });
  });
});
