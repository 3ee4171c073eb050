/**
 * Generated RTL, simulated (CXXRTL), against the fixed-point reference interpreter: every supported
 * layer type on small random models, over several formats, rounding and overflow modes, lane counts,
 * unroll modes and devices; and the cycle model against the simulated cycles.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertBitExact, assertCycles, HX8K, knobs, ModelBuilder, generateAndSimulate, smallCnn } from './helpers';


test('conv (same, relu) + maxpool + conv (relu6) + dense: 8-bit half-even/saturate, 3 lanes on outputs, UP5K DSPs', async () => {
  const ir = smallCnn('cnn');
  const r = await generateAndSimulate(ir, knobs(8, 3, 'half-even', 'saturate'), { version: 1, defaults: { lanes: 3 } });
  assertBitExact(r);
  assertCycles(r);
  // 3 lanes in each of c1, c2, fc with 16-bit products: 8 DSPs, the 9th lane on LUTs.
  assert.equal(r.gen.dspUsed, 8);
  // 8-bit weights: lanes 0-1 share a 16-bit ROM word, lane 2 has its own.
  assert.deepEqual(r.gen.engines[0].roms.filter((x) => x.role === 'weights').map((x) => x.width), [16, 8]);
  assert.ok(r.gen.engines.some((e) => e.lutMultipliers > 0));
});

test('depthwise (same, stride 2, banked lanes) + padded avgpool (divider) + 1x1 conv with reduction lanes + global avgpool: truncate/wrap', async () => {
  const ir = new ModelBuilder('dw', [7, 7, 4], 9)
    .depthwise('dw', 3, { padding: 'same', stride: 2 })
    .pool('ap', 'avgpool2d', 2, { padding: 'same' })
    .conv2d('pw', 4, 1)
    .globalPool('gap', 'global_avgpool2d')
    .dense('fc', 3)
    .build();
  const r = await generateAndSimulate(ir, knobs(8, 2, 'truncate', 'wrap'), { version: 1, defaults: { lanes: 2 }, layers: { pw: { lanes: 4, unroll: 'reduction' } } });
  assertBitExact(r);
  assertCycles(r);
  const pw = r.gen.plans.find((p) => p.op.layer === 'pw')!;
  assert.equal(pw.reads[0].mode, 'lanes');
  assert.equal(r.gen.buffers.get('ap')!.banks, 4, 'the buffer read by 4 reduction lanes is banked 4 ways');
});

test('add, concatenate, zero padding, activation, padded maxpool, global maxpool, softmax output: 12-bit (2 input bytes), truncate/saturate, HX8K (no DSP)', async () => {
  const b = new ModelBuilder('dag', [5, 5, 2], 13).conv2d('c1', 3, 3, { padding: 'same' });
  b.conv2d('c2', 3, 1, { activation: { kind: 'relu' } });
  b.add({ name: 'sum', type: 'add', inputs: ['c1', 'c2'], outputShape: [5, 5, 3] });
  b.add({ name: 'cat', type: 'concatenate', inputs: ['sum', 'c1'], outputShape: [5, 5, 6], axis: -1 });
  b.add({ name: 'zp', type: 'zeropad2d', pads: [[1, 0], [0, 2]], outputShape: [6, 7, 6] });
  b.add({ name: 'act', type: 'activation', activation: { kind: 'relu' }, outputShape: [6, 7, 6] });
  b.pool('mp', 'maxpool2d', 3, { stride: 2, padding: 'same' });
  b.globalPool('gmp', 'global_maxpool2d');
  b.dense('fc', 3, { activation: { kind: 'softmax' } });
  const r = await generateAndSimulate(b.build(), knobs(12, 4, 'truncate', 'saturate'), { version: 1, defaults: { lanes: 2 } }, { device: HX8K });
  assertBitExact(r);
  assertCycles(r);
  assert.equal(r.gen.interface.bytesPerElement, 2);
  assert.equal(r.gen.dspUsed, 0);
});

test('DenseNet-style concatenations are zero-copy views of one buffer (nested chain, banked lanes reading a view, a copied model input); bit-exact, cycles as predicted', async () => {
  const b = new ModelBuilder('dense', [6, 6, 2], 23).conv2d('stem', 4, 3, { padding: 'same', activation: { kind: 'relu' } });
  b.add({ name: 'c0', type: 'concatenate', inputs: ['input', 'stem'], outputShape: [6, 6, 6], axis: -1 });
  b.conv2d('u1', 2, 3, { padding: 'same', activation: { kind: 'relu' } });
  b.add({ name: 'cat2', type: 'concatenate', inputs: ['c0', 'u1'], outputShape: [6, 6, 8], axis: -1 });
  b.depthwise('u2', 3, { padding: 'same', activation: { kind: 'relu' } });
  b.add({ name: 'cat3', type: 'concatenate', inputs: ['cat2', 'u2'], outputShape: [6, 6, 16], axis: -1 });
  b.conv2d('trans', 4, 1);
  b.globalPool('gap', 'global_avgpool2d');
  b.dense('fc', 3);
  const r = await generateAndSimulate(b.build(), knobs(8, 3, 'half-even', 'saturate'), {
    version: 1,
    layers: { u2: { lanes: 4 }, trans: { lanes: 4, unroll: 'reduction' } },
  });
  assertBitExact(r);
  assertCycles(r);
  const engines = r.gen.plans.map((p) => p.op.layer);
  assert.ok(!engines.includes('cat2') && !engines.includes('cat3'), 'cat2 and cat3 cost no engine');
  assert.deepEqual(engines.filter((l) => l === 'c0'), ['c0', 'c0'], 'c0 copies the model input (and stem) into place');
  const store = r.gen.buffers.get('cat3')!;
  for (const t of ['c0', 'u1', 'cat2', 'u2']) assert.equal(r.gen.buffers.get(t), store, `${t} lives in cat3's buffer`);
  assert.notEqual(r.gen.buffers.get('stem'), store, 'stem feeds the copied c0: it keeps its own buffer');
  assert.ok(store.dualPort && store.banks === 4);
  assert.equal(r.gen.memories[store.mem].kind, 'ebr');
});
