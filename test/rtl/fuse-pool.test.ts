/**
 * Max-pool fusion (src/rtl/fuse-pool.ts): a max pool after a MAC layer runs in that layer's writer.
 * Bit-exact against the fixed-point reference (which pools the unfused tensor) and cycle-exact against
 * src/rtl/cycles.ts, on every unroll (outputs with a partial last group, reduction through the tree,
 * banked depthwise), odd-sized maps (positions no window covers are skipped), ternary outputs, a 1-D
 * pool, the shared array and pipelining off; and the pools that must stay engines do.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FixedFormat } from '../../src/numerics/fixed';
import { isFused } from '../../src/rtl/fuse-pool';
import { assertBitExact, assertCycles, assertNetlistBitExact, knobs, ModelBuilder, generateAndSimulate } from './helpers';

const fusedLayers = (plans: { op: { layer: string }; pool?: { layer: string } }[]) => plans.filter((p) => p.pool).map((p) => `${p.op.layer}+${p.pool!.layer}`);

test('fused max pools: outputs lanes with a partial last group, reduction lanes through the tree, a 7x7 map under 2x2 windows (last row and column skipped), 3x3 windows; bit-exact, cycles as predicted', async () => {
  const ir = new ModelBuilder('fuse', [9, 9, 2], 23)
    .conv2d('c1', 4, 3, { padding: 'same', activation: { kind: 'relu' } })
    .pool('p1', 'maxpool2d', 3)
    .conv2d('c2', 4, 1)
    .pool('p2', 'maxpool2d', 2, { padding: 'valid' })
    .flatten()
    .dense('fc', 3)
    .build();
  const r = await generateAndSimulate(ir, knobs(8, 3, 'half-even', 'saturate'), { version: 1, defaults: { lanes: 3 }, layers: { c2: { lanes: 4, unroll: 'reduction' } } }, { samples: 6 });
  assertBitExact(r);
  assertCycles(r);
  assert.deepEqual(fusedLayers(r.gen.plans), ['c1+p1', 'c2+p2']);
  assert.ok(!r.gen.plans.some((p) => p.kind === 'pool'), 'no pool engine is left');
  assert.ok(!r.gen.buffers.has('c1') && !r.gen.buffers.has('c2'), 'the full-resolution tensors get no buffer');
  // p2 takes one 2x2 window of c2's 3x3 map: c2 computes those 4 positions only.
  const c2 = r.gen.cycles.perEngine.find((e) => e.layer === 'c2')!;
  assert.equal(c2.macs, 2 * 2 * 4 * 4, 'MACs of the covered positions only (row and column 3 are not computed)');
});

test('fused max pools: banked depthwise lanes, ternary outputs (2-bit codes compared signed, the maximum widened to the pool format), a wider pool format under wrapping overflow, a 1-D pool after conv1d, pipelining off', async () => {
  const b = new ModelBuilder('fuse2', [8, 8, 4], 29)
    .depthwise('dw', 3, { padding: 'same', activation: { kind: 'relu' } })
    .pool('pd', 'maxpool2d', 2)
    .conv2d('tc', 6, 3, { padding: 'same', ternary: true, ternaryOut: true })
    .pool('pt', 'maxpool2d', 2);
  b.add({ name: 'rs', type: 'reshape', targetShape: [4, 6], outputShape: [4, 6] });
  b.add({ name: 'c1d', type: 'conv1d', filters: 3, kernel: [2], strides: [1], dilation: [1], padding: 'valid', outputShape: [3, 3], useBias: true,
    weights: { kernel: { shape: [2, 6, 3], data: Float32Array.from({ length: 36 }, (_, i) => Math.sin(i) * 0.5) }, bias: { shape: [3], data: Float32Array.from([0.1, -0.2, 0.3]) } } });
  b.add({ name: 'mp1', type: 'maxpool1d', pool: [2], strides: [2], padding: 'valid', outputShape: [1, 3] });
  b.last.precision = { output: { bits: 10, integer: 4, rounding: 'half-even', overflow: 'wrap' } }; // wider: converted exactly
  b.flatten('f2');
  b.dense('fc', 4);
  const r = await generateAndSimulate(b.build(), knobs(8, 3, 'half-even', 'wrap'), { version: 1, defaults: { lanes: 2 }, layers: { dw: { lanes: 4 }, tc: { lanes: 4, pipeline: false } } }, { samples: 6 });
  assertBitExact(r);
  assertCycles(r);
  assert.deepEqual(fusedLayers(r.gen.plans), ['dw+pd', 'tc+pt', 'c1d+mp1']);
  const values = new Set(r.expected.flatMap((e) => Array.from(e.tensors.get('pt')!)));
  // -1, 0, 1 in the pool's fixed<8,3> (frac 5).
  assert.deepEqual([...values].sort((x, y) => x - y), [-32, 0, 32], 'the pooled ternary values take all three values');
});

test('fused max pools on the shared MAC array (two lanes per SB_MAC16); the synthesized netlist stays bit-exact', { timeout: 600_000 }, async () => {
  const ir = new ModelBuilder('fusearr', [8, 8, 1], 31)
    .conv2d('c1', 6, 3, { padding: 'same', activation: { kind: 'relu' } })
    .pool('p1', 'maxpool2d', 2)
    .conv2d('c2', 4, 3, { activation: { kind: 'relu' } })
    .flatten()
    .dense('fc', 5)
    .build();
  const r = await generateAndSimulate(ir, knobs(8, 3, 'half-even', 'saturate'), { version: 1, architecture: 'array', defaults: { lanes: 4 } }, { samples: 5 });
  assertBitExact(r);
  assertCycles(r);
  assert.deepEqual(fusedLayers(r.gen.plans), ['c1+p1']);
  assert.ok(r.gen.array);
  await assertNetlistBitExact(r.gen, 'fusearr', 4, 41);
});

test('pools that stay engines: an average pool, an overlapping max pool, one that wraps into a narrower format, one whose input is read twice', async () => {
  const b = new ModelBuilder('nofuse', [8, 8, 2], 37).conv2d('c1', 3, 3, { padding: 'same' });
  b.pool('ap', 'avgpool2d', 2);
  b.conv2d('c2', 3, 1);
  b.pool('ov', 'maxpool2d', 2, { stride: 1 });
  b.conv2d('c3', 3, 1);
  b.pool('rq', 'maxpool2d', 1);
  const other: FixedFormat = { bits: 8, integer: 2, rounding: 'half-even', overflow: 'wrap' }; // loses an integer bit under wrapping (the knobs' overflow): not monotone
  b.last.precision = { output: other };
  b.conv2d('c4', 3, 1);
  b.pool('tw', 'maxpool2d', 1);
  b.add({ name: 'sum', type: 'add', inputs: ['tw', 'c4'], outputShape: [3, 3, 3] });
  b.flatten();
  b.dense('fc', 2);
  const r = await generateAndSimulate(b.build(), knobs(8, 3, 'half-even', 'wrap'), { version: 1, defaults: { lanes: 1 } }, { samples: 3 });
  assertBitExact(r);
  assertCycles(r);
  assert.deepEqual(fusedLayers(r.gen.plans), []);
  assert.deepEqual(r.gen.plans.filter((p) => p.kind === 'pool').map((p) => p.op.layer), ['ap', 'ov', 'rq', 'tw']);
  assert.ok(!r.gen.plans.some((p) => isFused(p.op)));
});
