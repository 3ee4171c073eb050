/**
 * The shared MAC array (architecture: array, src/rtl/array.ts): every MAC engine drives one set of
 * lanes, ROMs, accumulators and shadows. Bit-exact against the fixed-point reference and cycle-exact
 * against src/rtl/cycles.ts, on mixed unrolls (outputs, reduction through the tree, banked depthwise),
 * mixed widths, pipelining on and off, ternary-only (add/sub lanes) and mixed ternary layers, with
 * DSP lanes, LUT lanes and no DSPs at all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertBitExact as assertSamples, assertCycles, HX8K, knobs, ModelBuilder, RunResult, generateAndSimulate, smallCnn } from './helpers';

function assertBitExact(r: RunResult): void {
  assertSamples(r);
  assertCycles(r);
}

test('array: conv + maxpool + conv + dense share 4 lanes, two per SB_MAC16 (8-bit operands); one set of weight ROMs for all layers', async () => {
  const ir = smallCnn('arr');
  const r = await generateAndSimulate(ir, knobs(8, 3, 'half-even', 'saturate'), { version: 1, architecture: 'array', defaults: { lanes: 4 } }, { device: { name: 'ice40-up5k', dsp: 3, spram: 4 } });
  assertBitExact(r);
  assert.ok(r.gen.array, 'an array was built');
  assert.equal(r.gen.array!.lanes, 4);
  assert.equal(r.gen.array!.dual, true);
  assert.equal(r.gen.array!.dspLanes, 4, '8-bit operands: two lanes per DSP');
  assert.equal(r.gen.array!.dspBlocks, 2);
  assert.equal(r.gen.dspUsed, 2);
  assert.match(r.gen.verilog.get('deepmaker_accel.v')!, /SB_MAC16 #\(\.MODE_8x8\(1'b1\)/);
  // No engine has weight ROMs of its own: the array's ROMs hold every layer.
  for (const e of r.gen.engines) assert.equal(e.roms.filter((x) => x.role === 'weights').length, 0, e.plan.module);
  const w = r.gen.roms.filter((x) => x.role === 'weights');
  assert.deepEqual(w.map((x) => x.width), [16, 16], '4 lanes of 8-bit weights in two 16-bit ROMs');
  const words = r.gen.plans.filter((p) => p.kind === 'mac').reduce((s, p) => s + p.weightBanks![0].length, 0);
  assert.equal(w[0].words, words);
});

test('array: 12-bit weights take one SB_MAC16 per lane, then LUT lanes; pipelining off on the dense layer', async () => {
  const ir = new ModelBuilder('arr12', [6, 6, 2], 31)
    .conv2d('c1', 4, 3, { activation: { kind: 'relu' } })
    .flatten()
    .dense('fc', 5)
    .build();
  const k = { ...knobs(8, 3, 'half-even', 'saturate'), weights: { bits: 12, integer: 3 } };
  const r = await generateAndSimulate(ir, k, { version: 1, architecture: 'array', defaults: { lanes: 4 }, layers: { fc: { lanes: 4, pipeline: false } } }, { device: { name: 'ice40-up5k', dsp: 3, spram: 4 } });
  assertBitExact(r);
  assert.equal(r.gen.array!.dual, false);
  assert.equal(r.gen.array!.dspLanes, 3, 'DSPs go to the array lanes; the 4th lane is a LUT multiplier');
  assert.equal(r.gen.dspUsed, 3);
});

test('array: banked depthwise + reduction lanes through the tree + outputs lanes, pipelining off on one layer, truncate/wrap', async () => {
  const ir = new ModelBuilder('arrdw', [7, 7, 4], 9)
    .depthwise('dw', 3, { padding: 'same', stride: 2 })
    .pool('ap', 'avgpool2d', 2, { padding: 'same' })
    .conv2d('pw', 4, 1)
    .globalPool('gap', 'global_avgpool2d')
    .dense('fc', 3)
    .build();
  const r = await generateAndSimulate(ir, knobs(8, 2, 'truncate', 'wrap'), {
    version: 1,
    architecture: 'array',
    defaults: { lanes: 2 },
    layers: { pw: { lanes: 4, unroll: 'reduction' }, fc: { lanes: 3, pipeline: false } },
  });
  assertBitExact(r);
  assert.equal(r.gen.array!.lanes, 4);
  assert.equal(r.gen.array!.tree, true);
});

test('array: ternary-only layers get add/sub lanes (2-bit codes, no multiplier); wrapping 14-bit accumulators', async () => {
  const ir = new ModelBuilder('arrtern', [6, 6, 3], 11)
    .conv2d('tc', 5, 3, { ternary: true, ternaryOut: true })
    .flatten()
    .dense('td', 7, { ternary: true, activation: { kind: 'relu' } })
    .build();
  const r = await generateAndSimulate(ir, knobs(8, 3, 'half-even', 'wrap', 14), { version: 1, architecture: 'array', layers: { tc: { lanes: 5 }, td: { lanes: 4, pipeline: false } } });
  assertBitExact(r);
  assert.equal(r.gen.array!.ternary, true);
  assert.equal(r.gen.array!.dspLanes, 0);
  assert.deepEqual(r.gen.roms.filter((x) => x.role === 'weights').map((x) => x.width), [10], '5 lanes of 2-bit codes in one ROM word');
});

test('array: ternary and 6-bit layers on one multiplier array, different accumulator widths, HX8K (LUT lanes only)', async () => {
  const ir = new ModelBuilder('arrmix', [6, 6, 3], 21)
    .conv2d('c0', 4, 3, { activation: { kind: 'relu' } })
    .conv2d('tc', 5, 3, { ternary: true })
    .flatten()
    .dense('fc', 4)
    .build();
  const r = await generateAndSimulate(ir, knobs(6, 2, 'half-even', 'saturate'), { version: 1, architecture: 'array', defaults: { lanes: 3 } }, { device: HX8K, samples: 6 });
  assertBitExact(r);
  assert.equal(r.gen.array!.ternary, false);
  assert.equal(r.gen.dspUsed, 0);
});
