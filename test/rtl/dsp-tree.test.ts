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
 * Reduction lanes on DSPs, through Yosys `synth_ice40 -dsp` (the e2e pipeline's 16 -> 8 -> 4 model):
 * ice40_dsp took the product register of a lane that only feeds the adder tree into the DSP, then the
 * tree's adder and the tsum register, and left tsum's top bits 'x' (the RTL was bit-exact, the netlist
 * saturated every logit). The synthesized netlist must equal the fixed-point reference.
 */
test('DSP lanes summed by the reduction adder tree stay bit-exact through Yosys -dsp', { timeout: 300_000 }, async () => {
  const ir = new ModelBuilder('dsptree', [16], 5).dense('fc1', 8, { activation: { kind: 'relu' } }).dense('fc2', 4).build();
  const gen = generateRtl(ir, knobs(8, 4), { version: 1, layers: { fc1: { lanes: 2 }, fc2: { lanes: 2, unroll: 'reduction' } } }, UP5K);
  const dir = join(scratchDir(), `dsptree-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const write = (files: Map<string, string>) =>
    [...files].map(([name, text]) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    });
  const sources = write(gen.verilog).filter((f) => !/\/tb_[^/]*$/.test(f));
  const dataFiles = write(gen.hex);
  const accel = await synthesize({ toolchain: selectToolchain('auto', ['yosys']), device: getDevice('ice40-up5k'), dir: join(dir, 'synth'), sources, dataFiles, top: gen.top, name: 'accel' });
  assert.equal(accel.resources.dsp, 4, 'both layers multiply on DSPs');

  const inputs = randomInputs(6, gen.interface.inputElements, gen.interface.inputFormat.bits, 11);
  const netlist = JSON.parse(readFileSync(accel.netlistJson, 'utf8')) as YosysNetlist;
  const r = runStreamOnNetlist(netlist, inputs.map((x) => encodeInputBytes(x, gen.interface.inputFormat)), { top: gen.top });
  for (const [s, x] of inputs.entries()) {
    const want = runReference(gen.q, x);
    assert.deepEqual(r.outputs[s], Array.from(want.output), `sample ${s}`);
    assert.equal(r.classes[s], want.cls, `sample ${s} class`);
  }
  assert.equal(Math.max(...r.cycles), gen.cycles.cycles, 'cycles per inference as predicted');
});
