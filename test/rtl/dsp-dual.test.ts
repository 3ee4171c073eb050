import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { getDevice } from '../../src/fpga/devices';
import type { YosysNetlist } from '../../src/fpga/netlist-sim';
import { runStreamOnNetlist } from '../../src/fpga/stream-sim';
import { synthesize } from '../../src/fpga/synth';
import { selectToolchain } from '../../src/fpga/toolchain';
import { generateRtl } from '../../src/rtl/generate';
import { encodeInputBytes } from '../../src/rtl/interface';
import { runReference } from '../../src/sim/reference';
import { knobs, ModelBuilder, randomInputs, scratchDir, UP5K } from './helpers';

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
  const dir = join(scratchDir(), `dual-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const write = (files: Map<string, string>) =>
    [...files].map(([name, text]) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    });
  const sources = write(gen.verilog);
  const dataFiles = write(gen.hex);
  const accel = await synthesize({ toolchain: selectToolchain('auto', ['yosys']), device: getDevice('ice40-up5k'), dir: join(dir, 'synth'), sources, dataFiles, top: gen.top, name: 'accel' });
  assert.equal(accel.resources.dsp, 3, 'six lanes on three SB_MAC16s');
  const netlist = JSON.parse(readFileSync(accel.netlistJson, 'utf8')) as YosysNetlist;
  const macs = Object.values(netlist.modules).flatMap((m) => Object.values(m.cells)).filter((c) => c.type === 'SB_MAC16');
  assert.equal(macs.length, 3);
  for (const c of macs) assert.equal(parseInt(String(c.parameters.MODE_8x8), 2), 1, 'the 8x8 mode');

  const inputs = randomInputs(8, gen.interface.inputElements, gen.interface.inputFormat.bits, 13);
  const r = runStreamOnNetlist(netlist, inputs.map((x) => encodeInputBytes(x, gen.interface.inputFormat)), { top: gen.top });
  for (const [s, x] of inputs.entries()) {
    const want = runReference(gen.q, x);
    assert.deepEqual(r.outputs[s], Array.from(want.output), `sample ${s}`);
    assert.equal(r.classes[s], want.cls, `sample ${s} class`);
  }
  assert.equal(Math.max(...r.cycles), gen.cycles.cycles, 'cycles per inference as predicted');
});
