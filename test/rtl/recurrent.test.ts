/**
 * Recurrent engines (src/rtl/recurrent.ts), simulated (Verilator) against the fixed-point reference
 * (src/sim/reference.ts, which runs the TF.js integer reference of the recurrent cells, equal to the
 * C bit for bit): LSTM, GRU (reset_after false and true), SimpleRNN; return_sequences, go_backwards;
 * stacked layers, a Dense after them; every cell activation; lane counts that divide the gate
 * columns and lanes that do not; every sample's cycles equal to src/rtl/cycles.ts's prediction.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Activation } from '../../src/ir/types';
import { generateRtl } from '../../src/rtl/generate';
import { isDeepMakerError } from '../../src/util/errors';
import { assertBitExact, assertCycles, knobs, ModelBuilder, generateAndSimulate, UP5K } from './helpers';

const SIM = { simulator: 'verilator' as const, samples: 6 };

test('LSTM (sequence, 3 lanes) -> LSTM (backwards, sequence, 4 lanes) as the output: 8-bit half-even/saturate; bit-exact, cycles as predicted', async () => {
  const ir = new ModelBuilder('lstm2', [5, 3], 3)
    .recurrent('l1', 'lstm', 4, { returnSequences: true })
    .recurrent('l2', 'lstm', 3, { goBackwards: true, returnSequences: true, scale: 1 })
    .build();
  const r = await generateAndSimulate(ir, knobs(8, 3, 'half-even', 'saturate'), { version: 1, layers: { l1: { lanes: 3 }, l2: { lanes: 4 } } }, SIM);
  assertBitExact(r);
  assertCycles(r);
  assert.deepEqual(r.gen.plans.map((p) => p.kind), ['recurrent', 'recurrent']);
  assert.ok(r.gen.roms.some((x) => x.role === 'activation'), 'activation tables in ROM');
  // Not a constant output: the samples differ.
  assert.ok(new Set(r.expected.map((e) => e.output.join(','))).size === r.expected.length);
});

test('LSTM (last state) -> Dense: 8-bit half-even/saturate, 8 lanes (two groups of the 16 gate columns), the default lanes on the Dense', async () => {
  const ir = new ModelBuilder('lstmfc', [6, 4], 4).recurrent('l', 'lstm', 4, { scale: 1 }).dense('fc', 5, { scale: 1.5 }).build();
  const r = await generateAndSimulate(ir, knobs(8, 3, 'half-even', 'saturate'), { version: 1, defaults: { lanes: 8 } }, SIM);
  assertBitExact(r);
  assertCycles(r);
  assert.deepEqual(r.gen.plans.map((p) => [p.kind, p.lanes]), [['recurrent', 8], ['mac', 5]]);
});

test('GRU reset_after false (sequence, backwards) -> GRU reset_after true (sequence) as the output: 8-bit truncate/wrap, 1 and 5 lanes', async () => {
  const ir = new ModelBuilder('gru2', [6, 2], 5)
    .recurrent('g1', 'gru', 3, { returnSequences: true, goBackwards: true, resetAfter: false })
    .recurrent('g2', 'gru', 4, { resetAfter: true, returnSequences: true, scale: 1 })
    .build();
  const r = await generateAndSimulate(ir, knobs(8, 2, 'truncate', 'wrap'), { version: 1, layers: { g1: { lanes: 1 }, g2: { lanes: 5 } } }, SIM);
  assertBitExact(r);
  assertCycles(r);
});

test('SimpleRNN (relu, sequence) -> SimpleRNN (hard_sigmoid, backwards) as the output: 6-bit half-even/saturate, 2 lanes', async () => {
  const ir = new ModelBuilder('rnn2', [4, 3], 7)
    .recurrent('r1', 'simple_rnn', 5, { returnSequences: true, activation: { kind: 'relu' } })
    .recurrent('r2', 'simple_rnn', 4, { goBackwards: true, activation: { kind: 'hard_sigmoid', alpha: 0.2 } })
    .build();
  const r = await generateAndSimulate(ir, knobs(6, 2, 'half-even', 'saturate'), { version: 1, defaults: { lanes: 2 } }, SIM);
  assertBitExact(r);
  assertCycles(r);
});

test('every cell activation: LSTM (linear, relu gates), GRU (sigmoid, tanh gates, reset_after), GRU (relu, hard_sigmoid 1/6 gates), no bias; 10-bit, more lanes than units', async () => {
  const ir = new ModelBuilder('acts', [3, 2], 11)
    .recurrent('a1', 'lstm', 2, { returnSequences: true, activation: { kind: 'linear' }, recurrentActivation: { kind: 'relu' }, scale: 0.4 })
    .recurrent('a2', 'gru', 3, { returnSequences: true, activation: { kind: 'sigmoid' }, recurrentActivation: { kind: 'tanh' }, resetAfter: true })
    .recurrent('a3', 'gru', 2, { activation: { kind: 'relu', maxValue: 1 }, recurrentActivation: { kind: 'hard_sigmoid', alpha: 1 / 6 }, bias: false, returnSequences: true })
    .build();
  const r = await generateAndSimulate(ir, knobs(10, 3, 'half-even', 'saturate'), { version: 1, layers: { a1: { lanes: 8 }, a2: { lanes: 4 }, a3: { lanes: 6 } } }, SIM);
  assertBitExact(r);
  assertCycles(r);
});

test('the activation tables, every entry: SimpleRNNs with kernel 1 and recurrent kernel 0 on a sequence of every 8-bit integer (tanh, sigmoid, hard_sigmoid 0.2 and 1/6, relu6), concatenated', async () => {
  const T = 256;
  const b = new ModelBuilder('tables', [T, 1], 1);
  const acts: [string, Activation][] = [['tanh', { kind: 'tanh' }], ['sig', { kind: 'sigmoid' }], ['hs5', { kind: 'hard_sigmoid', alpha: 0.2 }], ['hs6', { kind: 'hard_sigmoid', alpha: 1 / 6 }], ['relu6', { kind: 'relu', maxValue: 6 }]];
  for (const [name, activation] of acts) b.recurrent(name, 'simple_rnn', 1, { activation, returnSequences: true, bias: false, kernel: [1], recurrentKernel: [0], inputs: ['input'] });
  b.add({ name: 'cat', type: 'concatenate', inputs: acts.map(([n]) => n), outputShape: [T, acts.length], axis: -1 });
  // Every stored integer of fixed<8,3> once: the pre-activation of each step is its input exactly.
  const every = Int32Array.from({ length: T }, (_, i) => i - 128);
  const r = await generateAndSimulate(b.build(), knobs(8, 3, 'half-even', 'saturate'), { version: 1 }, { simulator: 'verilator', inputs: [every] });
  assertBitExact(r);
  assertCycles(r);
  // The tables are not trivial: each function takes many values over the sweep.
  for (let a = 0; a < acts.length; a++) {
    const ys = new Set(Array.from({ length: T }, (_, t) => r.expected[0].output[t * acts.length + a]));
    assert.ok(ys.size >= 7, `${acts[a][0]}: ${ys.size} distinct outputs`);
  }
});

test('what the recurrent engine does not build is an error naming the layer: a format too wide for the tables, too many lanes, unroll reduction', () => {
  const ir = new ModelBuilder('bad', [4, 3], 2).recurrent('l', 'lstm', 2).build();
  assert.throws(() => generateRtl(ir, knobs(12, 4), { version: 1 }, UP5K), (e: Error) => isDeepMakerError(e) && /layer 'l' \(lstm\): a recurrent layer's activations are ROM tables[\s\S]*at most 10 bits/.test(e.message));
  assert.throws(() => generateRtl(ir, knobs(8, 3), { version: 1, layers: { l: { lanes: 9 } } }, UP5K), (e: Error) => isDeepMakerError(e) && /layer 'l' \(lstm\)\)?: 9 lanes over 8 gate columns[\s\S]*at most 8 lanes/.test(e.message));
  assert.throws(() => generateRtl(ir, knobs(8, 3), { version: 1, layers: { l: { lanes: 2, unroll: 'reduction' } } }, UP5K), (e: Error) => isDeepMakerError(e) && /layer 'l' \(lstm\)\)?: unroll: reduction on a recurrent layer[\s\S]*unroll: outputs/.test(e.message));
  // Defaults clamp to the gate columns.
  assert.equal(generateRtl(ir, knobs(8, 3), { version: 1, defaults: { lanes: 32 } }, UP5K).plans[0].lanes, 8);
});
