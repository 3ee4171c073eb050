/**
 * The simulation runner's back ends agree: the same design gives the same logits, classes and cycles
 * with CXXRTL (always available after npm ci) and Verilator (when installed: apt-get install verilator);
 * the Verilog testbench shipped in dist/rtl works under Icarus (when installed).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findOnPath } from '../../src/fpga/toolchain';
import { generateRtl, RTL_FILE } from '../../src/rtl/generate';
import { encodeInputBytes } from '../../src/rtl/interface';
import { runReference } from '../../src/sim/reference';
import { chooseSimulator } from '../../src/sim/simulate';
import { TESTBENCH_FILE, verilogTestbench } from '../../src/sim/testbench';
import { generateAndSimulate, knobs, ModelBuilder, randomInputs } from '../rtl/helpers';

const hasVerilator = !!findOnPath('verilator');

test('auto picks Verilator when it is on PATH, else CXXRTL; asking for a missing one is a clear error', () => {
  assert.equal(chooseSimulator('auto'), hasVerilator ? 'verilator' : 'cxxrtl');
  assert.equal(chooseSimulator('cxxrtl'), 'cxxrtl');
  if (!hasVerilator) assert.throws(() => chooseSimulator('verilator'), /verilator is not on PATH[\s\S]*apt-get install verilator/);
  assert.throws(() => chooseSimulator('iverilog'), /iverilog[\s\S]*cxxrtl/);
});

test('CXXRTL and Verilator give identical results', { skip: hasVerilator ? false : 'verilator is not installed' }, async () => {
  const ir = new ModelBuilder('agree', [6, 6, 2], 21)
    .conv2d('c', 4, 3, { padding: 'same', stride: 2, activation: { kind: 'relu' } })
    .flatten()
    .dense('fc', 3)
    .build();
  const k = knobs(8, 3, 'half-even', 'saturate');
  const d = { version: 1 as const, defaults: { lanes: 2 } };
  const a = await generateAndSimulate(ir, k, d, { simulator: 'cxxrtl' });
  const b = await generateAndSimulate(ir, k, d, { simulator: 'verilator' });
  assert.equal(a.sim.simulator.name, 'cxxrtl');
  assert.equal(b.sim.simulator.name, 'verilator');
  assert.deepEqual(b.sim.logits.map((x) => Array.from(x)), a.sim.logits.map((x) => Array.from(x)));
  assert.deepEqual(b.sim.classes, a.sim.classes);
  assert.deepEqual(b.sim.cycles, a.sim.cycles);
  a.inputs.forEach((_, i) => assert.deepEqual(Array.from(a.sim.logits[i]), Array.from(a.expected[i].output)));
});

test('the Verilog testbench in dist/rtl runs under Icarus Verilog and agrees with the reference', { skip: findOnPath('iverilog') ? false : 'iverilog is not installed' }, () => {
  const ir = new ModelBuilder('tb', [5, 5, 2], 3).conv2d('c', 3, 3, { padding: 'same', activation: { kind: 'relu' } }).flatten().dense('fc', 4).build();
  const gen = generateRtl(ir, knobs(12, 4), { version: 1, defaults: { lanes: 2 } }, { name: 'x', dsp: 8, spram: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'dm-tb-'));
  for (const [n, t] of [...gen.verilog, ...gen.hex]) writeFileSync(join(dir, n), t);
  writeFileSync(join(dir, TESTBENCH_FILE), verilogTestbench(gen.interface));
  const inputs = randomInputs(3, gen.interface.inputElements, 12, 5);
  const bytes = inputs.flatMap((x) => Array.from(encodeInputBytes(x, gen.interface.inputFormat)));
  writeFileSync(join(dir, 'input.hex'), bytes.map((b) => b.toString(16).padStart(2, '0')).join('\n') + '\n');
  execFileSync('iverilog', ['-g2005', '-o', 'tb', TESTBENCH_FILE, RTL_FILE], { cwd: dir });
  execFileSync('vvp', ['-n', 'tb', '+samples=3'], { cwd: dir });
  const lines = readFileSync(join(dir, 'output.txt'), 'utf8').trim().split('\n');
  inputs.forEach((x, i) => {
    const ref = runReference(gen.q, x);
    assert.equal(lines[i], [ref.cls, gen.cycles.cycles, ...ref.output].join(' '));
  });
});
