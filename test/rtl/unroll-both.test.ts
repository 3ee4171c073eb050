/**
 * unroll: both (src/rtl/plan.ts, engines.ts, array.ts): lanes / input.factor output channels at once,
 * each over input.factor banks of the input, summed per output before its accumulator. Bit-exact against
 * the fixed-point reference and cycle-exact against src/rtl/cycles.ts, per-layer engines and the shared
 * array (beside outputs and reduction layers on the same array), cyclic and block weight banking, a
 * partial last group, pipelining off, ternary lanes; and a synthesized netlist.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveDirectives, type LayerDirective } from '../../src/rtl/directives';
import { isDeepMakerError } from '../../src/util/errors';
import { assertBitExact, assertCycles, assertNetlistBitExact, knobs, ModelBuilder, generateAndSimulate } from './helpers';

function model(name: string, seed: number) {
  return new ModelBuilder(name, [6, 6, 4], seed)
    .conv2d('c1', 4, 3, { padding: 'same', activation: { kind: 'relu' } })
    .conv2d('c2', 6, 3, { activation: { kind: 'relu' } })
    .pool('p', 'maxpool2d', 2)
    .flatten()
    .dense('fc', 4)
    .build();
}

test('unroll both on per-layer engines: 3 outputs x 2 input banks (partial last group), 4 x 2 with block weights and pipelining off; bit-exact, cycles as predicted', async () => {
  const r = await generateAndSimulate(model('both', 3), knobs(8, 3, 'half-even', 'saturate'), {
    version: 1,
    layers: { c1: { lanes: 6, unroll: 'both', input: { factor: 2 } }, c2: { lanes: 8, unroll: 'both', weights: { partition: 'block' }, pipeline: false }, fc: { lanes: 2 } },
  }, { samples: 5 });
  assertBitExact(r);
  assertCycles(r);
  const c1 = r.gen.plans.find((p) => p.op.layer === 'c1')!;
  assert.equal(c1.accs, 3);
  assert.equal(c1.K, 3 * 3 * 2, 'the reduction runs over half the input channels');
  assert.equal(r.gen.buffers.get('input')!.banks, 2, 'the input is banked 2 ways');
});

test('unroll both on the shared array beside outputs and reduction layers: 2 x 2 and 2 x 4 group sums, DSP dual lanes; the netlist stays bit-exact', { timeout: 600_000 }, async () => {
  const b = new ModelBuilder('bothar', [6, 6, 4], 5)
    .conv2d('c1', 4, 3, { padding: 'same', activation: { kind: 'relu' } })
    .conv2d('c2', 6, 3, { activation: { kind: 'relu' } });
  b.flatten().dense('fc', 8, { activation: { kind: 'relu' } }).dense('out', 3);
  const r = await generateAndSimulate(b.build(), knobs(8, 3, 'half-even', 'saturate'), {
    version: 1,
    architecture: 'array',
    layers: { c1: { lanes: 8, unroll: 'both', input: { factor: 4 } }, c2: { lanes: 4, unroll: 'both', input: { factor: 2 } }, fc: { lanes: 8, unroll: 'reduction' }, out: { lanes: 3 } },
  }, { samples: 5 });
  assertBitExact(r);
  assertCycles(r);
  assert.deepEqual(r.gen.array!.sums, [2, 4]);
  assert.equal(r.gen.array!.tree, true);
  assert.equal(r.gen.array!.lanes, 8);
  await assertNetlistBitExact(r.gen, 'bothar', 4, 43);
});

test('unroll both with ternary add/sub lanes on the array', async () => {
  const ir = new ModelBuilder('bothtern', [5, 5, 4], 9)
    .conv2d('tc', 6, 3, { ternary: true, ternaryOut: true })
    .flatten()
    .dense('td', 4, { ternary: true })
    .build();
  const r = await generateAndSimulate(ir, knobs(8, 3, 'half-even', 'wrap', 14), { version: 1, architecture: 'array', layers: { tc: { lanes: 12, unroll: 'both', input: { factor: 2 } }, td: { lanes: 4 } } }, { samples: 5 });
  assertBitExact(r);
  assertCycles(r);
  assert.equal(r.gen.array!.ternary, true);
});

test('unroll both: bad directives are errors naming the layer and what to use', () => {
  const ir = model('bad', 1);
  const cases: [LayerDirective, RegExp][] = [
    [{ lanes: 6, unroll: 'both', input: { factor: 3 } }, /input.factor=3.*power of two/s],
    [{ lanes: 5, unroll: 'both', input: { factor: 2 } }, /5 lanes are not/],
    [{ lanes: 2, unroll: 'both', input: { factor: 2 } }, /at least 2 output channels/],
    [{ lanes: 14, unroll: 'both', input: { factor: 2 } }, /7 output channels per group of 6/],
  ];
  for (const [d, re] of cases) {
    try {
      resolveDirectives(ir, { version: 1, layers: { c2: d } }, 'dirs.json');
      assert.fail(`accepted ${JSON.stringify(d)}`);
    } catch (e) {
      assert.ok(isDeepMakerError(e), String(e));
      assert.match(e.message, re);
      assert.match(e.message, /layer 'c2'/);
      assert.match(e.message, /dirs\.json/);
    }
  }
});
