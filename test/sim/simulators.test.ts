/**
 * The simulation runner's back ends agree: the same design gives the same logits, classes and cycles
 * with CXXRTL (always available after npm ci) and Verilator (when installed: apt-get install verilator).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findOnPath } from '../../src/fpga/toolchain';
import { chooseSimulator } from '../../src/sim/simulate';
import { generateAndSimulate, knobs, ModelBuilder } from '../rtl/helpers';

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
