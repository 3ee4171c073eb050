/**
 * unroll: window (src/rtl/plan.ts WindowLayout, top.ts emitWindowLoader): a conv2d reading the model
 * input takes a whole kernel row (kw pixels × C channels) per cycle from the words the input loader
 * writes, so its reduction runs over the kernel rows only. Bit-exact against the fixed-point reference
 * and cycle-exact against src/rtl/cycles.ts (the loader's flush of the last row counted) over kernel 3
 * and 5, stride 1 and 2, same and valid padding, 1 and 3 input channels, 8-bit and ternary weights,
 * lanes = kw·C and 2·kw·C, each stem followed by more layers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveDirectives, type LayerDirective } from '../../src/rtl/directives';
import { generateRtl } from '../../src/rtl/generate';
import { isDeepMakerError } from '../../src/util/errors';
import { assertBitExact, assertCycles, assertNetlistBitExact, knobs, ModelBuilder, generateAndSimulate, UP5K } from './helpers';

interface Stem {
  name: string;
  input: [number, number, number];
  filters: number;
  k: number;
  stride: number;
  padding: 'same' | 'valid';
  ternary?: boolean;
  /** Lanes per kernel-row tap count (lanes = outs · kw · C). */
  outs: number;
  /** A 2x2 max pool after the stem (fused into its writer). */
  pool?: boolean;
  extra?: LayerDirective;
}

function stemModel(s: Stem, seed: number) {
  const b = new ModelBuilder(s.name, s.input, seed).conv2d('stem', s.filters, s.k, {
    stride: s.stride, padding: s.padding, activation: { kind: 'relu' }, ...(s.ternary ? { ternary: true, ternaryOut: true } : {}),
  });
  if (s.pool) b.pool('mp', 'maxpool2d', 2);
  b.conv2d('c2', 3, 2, { activation: { kind: 'relu' }, ...(s.ternary ? { ternary: true } : {}) }).flatten().dense('fc', 4);
  return b.build();
}

async function runStem(s: Stem, seed: number) {
  const taps = s.k * s.input[2];
  const ir = stemModel(s, seed);
  const k = s.ternary ? knobs(8, 3, 'half-even', 'wrap', 16) : knobs(8, 3, 'half-even', 'saturate');
  const r = await generateAndSimulate(ir, k, { version: 1, layers: { stem: { lanes: s.outs * taps, unroll: 'window', ...(s.extra ?? {}) }, c2: { lanes: 3 }, fc: { lanes: 2 } } }, { samples: 3, seed });
  assertBitExact(r);
  assertCycles(r);
  const stem = r.gen.plans.find((p) => p.op.layer === 'stem')!;
  assert.equal(stem.K, s.k, 'the reduction runs over the kernel rows only');
  assert.equal(stem.accs, s.outs);
  assert.equal(r.gen.buffers.get('input')!.banks, taps, 'the input memory has one bank per tap of a kernel row');
  return r;
}

const stems: Stem[] = [
  { name: 'w3s2same', input: [9, 9, 1], filters: 4, k: 3, stride: 2, padding: 'same', outs: 1 },
  { name: 'w3s1valid', input: [7, 8, 1], filters: 4, k: 3, stride: 1, padding: 'valid', outs: 2 },
  { name: 'w5s1same', input: [7, 7, 1], filters: 3, k: 5, stride: 1, padding: 'same', outs: 2, ternary: true },
  { name: 'w5s2valid3', input: [9, 8, 3], filters: 4, k: 5, stride: 2, padding: 'valid', outs: 1 },
  { name: 'w3s2same3t', input: [8, 9, 3], filters: 5, k: 3, stride: 2, padding: 'same', outs: 2, ternary: true },
  { name: 'w3s1same3', input: [6, 6, 3], filters: 3, k: 3, stride: 1, padding: 'same', outs: 1 },
];

for (const [i, s] of stems.entries()) {
  test(`unroll window: ${s.k}x${s.k}/${s.stride} ${s.padding} stem on ${s.input.join('x')}, ${s.ternary ? 'ternary' : '8-bit'} weights, ${s.outs} x ${s.k * s.input[2]} lanes; bit-exact, cycles as predicted`, async () => {
    const r = await runStem(s, 11 + i);
    // Flush: the zero pixels past the right edge that some word still needs (the right padding).
    const stem = r.gen.plans.find((p) => p.op.layer === 'stem')!;
    const pl = stem.op.kind === 'mac' ? stem.op.pad[1] : 0;
    const pr = s.padding === 'same' ? (stem.window!.cols - 1) * s.stride + s.k - s.input[1] - pl : 0;
    assert.equal(stem.window!.flush, pr);
  });
}

test('unroll window: 3 outputs of 5 per group (partial last group), block weights, pipelining off, a fused max pool after the stem (it computes 6 of the 7 columns: no flush, so the row-start zeros are the left padding)', async () => {
  const r = await runStem({ name: 'wblock', input: [7, 7, 1], filters: 5, k: 3, stride: 1, padding: 'same', outs: 3, pool: true, extra: { weights: { partition: 'block' }, pipeline: false } }, 5);
  const w = r.gen.plans.find((p) => p.op.layer === 'stem')!.window!;
  assert.deepEqual([w.cols, w.flush, w.pl], [6, 0, 1]);
});

test('unroll window: a 12-bit input (two bytes per element) and lanes = 2·kw·C on 3 channels', async () => {
  const ir = stemModel({ name: 'w12', input: [6, 7, 3], filters: 4, k: 3, stride: 2, padding: 'same', outs: 2 }, 3);
  const r = await generateAndSimulate(ir, knobs(12, 5, 'half-even', 'saturate'), { version: 1, layers: { stem: { lanes: 18, unroll: 'window' } } }, { samples: 3 });
  assertBitExact(r);
  assertCycles(r);
});

test('unroll window: the Yosys netlist (synth_ice40) of a ternary design with a window stem is bit-exact in the predicted cycles', { timeout: 600_000 }, async () => {
  const ir = stemModel({ name: 'wnet', input: [8, 8, 1], filters: 4, k: 3, stride: 2, padding: 'same', outs: 2, ternary: true }, 8);
  const r = await generateAndSimulate(ir, knobs(8, 3, 'half-even', 'wrap', 16), { version: 1, layers: { stem: { lanes: 6, unroll: 'window' }, c2: { lanes: 3 }, fc: { lanes: 2 } } }, { samples: 2 });
  assertBitExact(r);
  await assertNetlistBitExact(r.gen, 'wnet', 4, 31);
});

test('unroll window: misuses are errors naming the layer and what to do', () => {
  const ir = new ModelBuilder('bad', [8, 8, 1], 1)
    .conv2d('stem', 4, 3, { padding: 'same', activation: { kind: 'relu' } })
    .conv2d('c2', 4, 3, { activation: { kind: 'relu' } })
    .flatten()
    .dense('fc', 3)
    .build();
  const cases: [string, LayerDirective, RegExp, RegExp][] = [
    ['c2', { lanes: 12, unroll: 'window' }, /reads 'stem'/, /unroll: both or reduction/],
    ['stem', { lanes: 4, unroll: 'window' }, /4 lanes are not \(output channels\) × 3 taps/, /multiple of 3/],
    ['stem', { lanes: 15, unroll: 'window' }, /5 output channels per group of 4/, /at most 12 lanes/],
    ['stem', { lanes: 6, unroll: 'window', input: { factor: 2 } }, /input.factor=2/, /set input.factor to 3/],
    ['fc', { lanes: 2, unroll: 'window' }, /window on a dense layer/, /unroll: outputs/],
  ];
  for (const [layer, d, re, hint] of cases) {
    try {
      resolveDirectives(ir, { version: 1, layers: { [layer]: d } }, 'dirs.json');
      assert.fail(`accepted ${layer} ${JSON.stringify(d)}`);
    } catch (e) {
      assert.ok(isDeepMakerError(e), String(e));
      assert.match(e.message, re);
      assert.match(e.location.where ?? '', new RegExp(`layer '${layer}'`));
      assert.match(e.hint ?? '', hint);
    }
  }
  const oneTap = new ModelBuilder('onetap', [6, 6, 1], 3).conv2d('p1', 2, 1).flatten().dense('fc', 2).build();
  assert.throws(() => resolveDirectives(oneTap, { version: 1, layers: { p1: { lanes: 2, unroll: 'window' } } }, 'dirs.json'), (e: unknown) => isDeepMakerError(e) && /a kernel row is one tap/.test(e.message) && /layer 'p1'/.test(e.location.where ?? '') && /unroll: outputs/.test(e.hint ?? ''));
  // The model input read by a second layer (a branch from the input) cannot be laid out as windows.
  const b = new ModelBuilder('branch', [6, 6, 1], 2).conv2d('a', 2, 3, { padding: 'same' });
  b.add({ name: 'b', type: 'conv2d', filters: 2, kernel: [1, 1], strides: [1, 1], dilation: [1, 1], padding: 'valid', outputShape: [6, 6, 2], inputs: ['input'], useBias: false, weights: { kernel: { shape: [1, 1, 1, 2], data: new Float32Array(2).fill(0.5) } } } as never);
  b.add({ name: 'sum', type: 'add', outputShape: [6, 6, 2], inputs: ['a', 'b'] } as never);
  const branch = b.flatten().dense('fc', 2).build();
  assert.throws(() => resolveDirectives(branch, { version: 1, layers: { a: { lanes: 3, unroll: 'window' } } }, 'dirs.json'), (e: unknown) => isDeepMakerError(e) && /layer\(s\) 'b' read it too/.test(e.message) && /layer 'a'/.test(e.location.where ?? ''));
  // generateRtl refuses the same way (no stack trace, the layer named).
  assert.throws(() => generateRtl(ir, knobs(8, 3), { version: 1, layers: { c2: { lanes: 12, unroll: 'window' } } }, UP5K), (e: unknown) => isDeepMakerError(e) && /layer 'c2'/.test(e.location.where ?? ''));
});

test('unroll window on the shared array beside outputs and both layers: group sums of kw·C = 3 lanes, 8-bit and ternary', async () => {
  for (const ternary of [false, true]) {
    const ir = new ModelBuilder(`warr${ternary ? 't' : ''}`, [8, 8, 1], 21)
      .conv2d('stem', 4, 3, { stride: 2, padding: 'same', activation: { kind: 'relu' }, ...(ternary ? { ternary: true, ternaryOut: true } : {}) })
      .conv2d('c2', 4, 3, { padding: 'same', activation: { kind: 'relu' }, ...(ternary ? { ternary: true } : {}) })
      .flatten()
      .dense('fc', 3)
      .build();
    const k = ternary ? knobs(8, 3, 'half-even', 'wrap', 16) : knobs(8, 3, 'half-even', 'saturate');
    const r = await generateAndSimulate(ir, k, { version: 1, architecture: 'array', layers: { stem: { lanes: 6, unroll: 'window' }, c2: { lanes: 4, unroll: 'both', input: { factor: 2 } }, fc: { lanes: 3 } } }, { samples: 3 });
    assertBitExact(r);
    assertCycles(r);
    assert.deepEqual(r.gen.array!.sums, [2, 3]);
  }
});
