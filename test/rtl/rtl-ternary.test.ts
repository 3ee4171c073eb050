/**
 * Generated RTL against the reference: ternary add/sub lanes, pipelining off, block weight banking,
 * wrapping accumulators, average pools whose output format differs from their input, conv1d, and
 * explicit LUT multipliers; predicted cycles == simulated cycles.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FixedFormat } from '../../src/numerics/fixed';
import { knobs, ModelBuilder, generateAndSimulate } from './helpers';

test('ternary conv (add/sub lanes, ternary outputs) + ternary dense on ternary inputs (no pipeline, block banking) + dense: 14-bit wrapping accumulators, half-even/wrap', async () => {
  const ir = new ModelBuilder('tern', [6, 6, 3], 11)
    .conv2d('tc', 5, 3, { ternary: true, ternaryOut: true })
    .flatten()
    .dense('td', 7, { ternary: true, activation: { kind: 'relu' } })
    .dense('fc', 4)
    .build();
  const r = await generateAndSimulate(ir, knobs(8, 3, 'half-even', 'wrap', 14), {
    version: 1,
    layers: { tc: { lanes: 2 }, td: { lanes: 3, pipeline: false, weights: { partition: 'block' } }, fc: { lanes: 4, pipeline: false } },
  });
  r.inputs.forEach((_, i) => assert.deepEqual(Array.from(r.sim.logits[i]), Array.from(r.expected[i].output), `sample ${i}`));
  assert.deepEqual(r.sim.classes, r.expected.map((e) => e.cls));
  for (const c of r.sim.cycles) assert.equal(c, r.gen.cycles.cycles);
  // Ternary lanes carry 2-bit codes (both lanes' codes in one ROM word) and no multiplier; the scale multiply is one per layer.
  const tc = r.gen.engines.find((e) => e.plan.op.layer === 'tc')!;
  assert.deepEqual(tc.roms.filter((x) => x.role === 'weights').map((x) => x.width), [4]);
  assert.deepEqual(tc.roms.filter((x) => x.role !== 'weights').map((x) => x.memory), ['logic', 'logic', 'logic']);
  assert.equal(tc.dspMultipliers + tc.lutMultipliers, 1);
  // tc's outputs are ternary: fixed<2,2> values, so td reads 2-bit inputs.
  assert.equal(r.gen.q.tensors.get('tc')!.format.bits, 2);
  const tcValues = new Set(r.expected.flatMap((e) => Array.from(e.tensors.get('tc')!)));
  assert.deepEqual([...tcValues].sort(), [-1, 0, 1], 'the thresholds produce all three ternary values');
});

test('avg pools with other output formats (3x3 divider, global 9-way), conv1d + maxpool1d, LUT multipliers, 6-bit half-even/saturate', async () => {
  const b = new ModelBuilder('pools', [7, 7, 2], 17).conv2d('c', 3, 1, { activation: { kind: 'relu' } });
  b.pool('ap3', 'avgpool2d', 3, { stride: 2 });
  const wide: FixedFormat = { bits: 9, integer: 2, rounding: 'half-even', overflow: 'saturate' };
  b.last.precision = { output: wide }; // frac 7 from frac 4: the numerator is shifted
  b.globalPool('gap', 'global_avgpool2d');
  const narrow: FixedFormat = { bits: 5, integer: 3, rounding: 'half-even', overflow: 'saturate' };
  b.last.precision = { output: narrow }; // frac 2 from frac 7: the denominator is shifted
  b.add({ name: 'rs', type: 'reshape', targetShape: [3, 1], outputShape: [3, 1] });
  b.add({ name: 'c1d', type: 'conv1d', filters: 4, kernel: [2], strides: [1], dilation: [1], padding: 'causal', outputShape: [3, 4], useBias: true,
    weights: { kernel: { shape: [2, 1, 4], data: Float32Array.from([0.5, -0.75, 1.25, 0.3, -1, 0.8, 0.1, -0.2]) }, bias: { shape: [4], data: Float32Array.from([0.1, -0.2, 0.3, 0]) } } });
  b.add({ name: 'mp1', type: 'maxpool1d', pool: [2], strides: [2], padding: 'same', outputShape: [2, 4] });
  b.flatten('f2');
  b.dense('fc', 3);
  const r = await generateAndSimulate(b.build(), knobs(6, 2, 'half-even', 'saturate'), { version: 1, defaults: { lanes: 2, multiplier: 'lut' } }, { samples: 6 });
  r.inputs.forEach((_, i) => assert.deepEqual(Array.from(r.sim.logits[i]), Array.from(r.expected[i].output), `sample ${i}`));
  for (const c of r.sim.cycles) assert.equal(c, r.gen.cycles.cycles);
  assert.equal(r.gen.dspUsed, 0);
  assert.ok(r.gen.plans.some((p) => p.avg?.kind === 'divide'));
});
