import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateRtl } from '../../src/rtl/generate';
import { assertNetlistBitExact, knobs, ModelBuilder, UP5K } from './helpers';

/**
 * Reduction lanes on DSPs, through Yosys `synth_ice40 -dsp` (the e2e pipeline's 16 -> 8 -> 4 model):
 * ice40_dsp took the product register of a lane that only feeds the adder tree into the DSP, then the
 * tree's adder and the tsum register, and left tsum's top bits 'x' (the RTL was bit-exact, the netlist
 * saturated every logit). The synthesized netlist must equal the fixed-point reference.
 */
test('DSP lanes summed by the reduction adder tree stay bit-exact through Yosys -dsp', { timeout: 300_000 }, async () => {
  const ir = new ModelBuilder('dsptree', [16], 5).dense('fc1', 8, { activation: { kind: 'relu' } }).dense('fc2', 4).build();
  const gen = generateRtl(ir, knobs(8, 4), { version: 1, layers: { fc1: { lanes: 2 }, fc2: { lanes: 2, unroll: 'reduction' } } }, UP5K);
  const { resources } = await assertNetlistBitExact(gen, 'dsptree', 6, 11);
  assert.equal(resources.dsp, 4, 'both layers multiply on DSPs');
});
