import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateRtl } from '../../src/rtl/generate';
import { assertNetlistBitExact, knobs, ModelBuilder, UP5K } from './helpers';

/**
 * The shared array's dual lanes through real synthesis: the synth stage defines DM_ICE40, so each pair
 * of lanes is one SB_MAC16 in its 8x8 mode (signed, products registered in the block). The netlist,
 * simulated with cells_sim.v's SB_MAC16 semantics, must equal the fixed-point reference on every
 * logit — including negative weights and inputs, and the tree of a reduction layer.
 */
test('dual 8x8 lanes (two per SB_MAC16) stay bit-exact through Yosys synthesis and the netlist', { timeout: 600_000 }, async () => {
  const ir = new ModelBuilder('dual', [12], 7).dense('fc1', 8, { activation: { kind: 'relu' } }).dense('fc2', 5).build();
  const gen = generateRtl(ir, knobs(8, 3), { version: 1, architecture: 'array', layers: { fc1: { lanes: 6 }, fc2: { lanes: 4, unroll: 'reduction' } } }, UP5K);
  assert.equal(gen.array!.dual, true);
  assert.equal(gen.array!.dspBlocks, 3);
  const { resources, netlist } = await assertNetlistBitExact(gen, 'dual', 8, 13);
  assert.equal(resources.dsp, 3, 'six lanes on three SB_MAC16s');
  const macs = Object.values(netlist.modules).flatMap((m) => Object.values(m.cells)).filter((c) => c.type === 'SB_MAC16');
  assert.equal(macs.length, 3);
  for (const c of macs) assert.equal(parseInt(String(c.parameters.MODE_8x8), 2), 1, 'the 8x8 mode');
});
