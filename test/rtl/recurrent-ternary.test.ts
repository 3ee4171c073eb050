/**
 * Ternary (FaCT-LSTM) recurrent engines (src/rtl/recurrent.ts on a QRecurrent with `ternary`): random
 * ternary LSTM and SimpleRNN layers (kernel codes, per-column scales, operand thresholds as
 * src/qmodel/apply.ts leaves them) simulated with Verilator against the compiled C fixed-point model
 * (src/cgen/recurrent.ts, the reference bit for bit) and the TF.js integer reference, on several seeds,
 * return_sequences true and false, go_backwards, a Dense after them, one lane, several lanes, lanes
 * that do not divide the gate columns; every sample's cycles equal to src/rtl/cycles.ts's prediction
 * (the fixed-point engine's formula). The comparison fails when the RTL is given one wrong threshold.
 * The DSE (src/dse) offers lanes for a ternary layer with the RTL's exact cycles.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { CostModel } from '../../src/dse/cost-model';
import { toDirectiveSet } from '../../src/dse/space';
import { getDevice } from '../../src/fpga/devices';
import { normalize } from '../../src/ir/passes/normalize';
import type { ImportedModel, ModelIR } from '../../src/ir/types';
import { fracBits, type FixedFormat } from '../../src/numerics/fixed';
import type { QRecurrent } from '../../src/qmodel/lower';
import type { NumberKnobs } from '../../src/qmodel/precision';
import { generateRtl, type RtlDevice } from '../../src/rtl/generate';
import type { DirectiveSet } from '../../src/rtl/directives';
import { buildC, runRaw } from '../cgen/helpers';
import { TEST_CALIBRATION } from '../dse/helpers';
import { assertBitExact, assertCycles, generateAndSimulate, HX8K, knobs, ModelBuilder, UP5K, type RunResult } from './helpers';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The builder's model through the normalizing passes (loop nest ids: the C generator names its functions by them). */
const normalized = (b: ModelBuilder): ModelIR => normalize(b.build() as unknown as ImportedModel);

const lanesOf = (lanes: Record<string, number>): DirectiveSet => ({ version: 1, layers: Object.fromEntries(Object.entries(lanes).map(([n, l]) => [n, { lanes: l }])) });

/** The compiled C's stored output integers for the RTL's input integers (given as their real values, which the C quantizes exactly). */
async function cOutputs(ir: ModelIR, k: NumberKnobs, inputs: Int32Array[], inFormat: FixedFormat): Promise<number[][]> {
  const b = await buildC(ir, k);
  dirs.push(b.dir);
  const fx = fracBits(inFormat);
  const x = Float32Array.from(inputs.flatMap((v) => Array.from(v, (q) => q * 2 ** -fx)));
  const raw = await runRaw(b, x, inputs.length);
  const n = raw.length / inputs.length;
  return inputs.map((_, i) => raw.slice(i * n, (i + 1) * n));
}

/** Every simulated sample's stored output integers equal the C's. */
function assertEqualsC(r: RunResult, c: number[][]): void {
  r.inputs.forEach((_, i) => assert.deepEqual(Array.from(r.sim.logits[i]), c[i], `sample ${i}: RTL vs C`));
}

/** Simulates `ir` with the lanes given and checks it against the C, the integer reference and the cycle model; the outputs must vary over the samples. */
async function checkAgainstC(ir: ModelIR, k: NumberKnobs, lanes: Record<string, number>, device: RtlDevice = UP5K): Promise<RunResult> {
  const r = await generateAndSimulate(ir, k, lanesOf(lanes), { simulator: 'verilator', samples: 6, seed: 17, device });
  assert.ok(r.gen.plans.some((p) => p.kind === 'recurrent' && (p.op as QRecurrent).ternary), 'a ternary recurrent engine');
  assertEqualsC(r, await cOutputs(ir, k, r.inputs, r.gen.interface.inputFormat));
  assertBitExact(r);
  assertCycles(r);
  assert.ok(new Set(r.sim.logits.map((v) => Array.from(v).join(','))).size > 2, 'the outputs vary over the samples');
  return r;
}

/** LSTM(4) returning its sequence into a SimpleRNN(3) (last state), then a Dense(4). */
function lstmRnnDense(seed: number): ModelIR {
  return normalized(
    new ModelBuilder(`tlr${seed}`, [5, 3], seed)
      .recurrent('l1', 'lstm', 4, { returnSequences: true, ternary: { inputDelta: 3, stateDelta: 0.25 } })
      .recurrent('r2', 'simple_rnn', 3, { ternary: { inputDelta: 0.25, stateDelta: 0.3 } })
      .dense('fc', 4, { scale: 1 }),
  );
}

for (const seed of [3, 11, 31]) {
  test(`seed ${seed}: ternary LSTM (sequence, 3 lanes) -> ternary SimpleRNN (last state, 2 lanes) -> Dense: 8-bit half-even/saturate; RTL = C, cycles as predicted`, async () => {
    const r = await checkAgainstC(lstmRnnDense(seed), knobs(8, 3, 'half-even', 'saturate'), { l1: 3, r2: 2, fc: 1 });
    // The operand thresholds and the column scales are tables of the engine.
    assert.ok(r.gen.roms.some((x) => x.role === 'threshold') && r.gen.roms.some((x) => x.role === 'scale'));
  });
}

test('ternary LSTM (last state, 1 lane) -> Dense: 6-bit truncate/wrap, no bias; HX8K (no DSP: the writer\'s scale multipliers in LUTs)', async () => {
  const ir = normalized(new ModelBuilder('tl1', [6, 2], 5).recurrent('l', 'lstm', 3, { bias: false, ternary: { inputDelta: 2, stateDelta: 0.3 } }).dense('fc', 3, { scale: 1 }));
  const r = await checkAgainstC(ir, knobs(6, 2, 'truncate', 'wrap'), { l: 1, fc: 1 }, HX8K);
  assert.equal(r.gen.dspUsed, 0);
  // Cycles per step: units·9 + groups·(features + units) + 7 + the last group's columns (12 columns on 1 lane: 12 groups of 5).
  const l = r.gen.plans.find((p) => p.op.layer === 'l')!;
  assert.equal(l.recurrent!.stepCycles, 3 * 9 + 12 * 5 + 7 + 1);
  assert.equal(r.gen.cycles.perEngine.find((e) => e.layer === 'l')!.cycles, 6 * (3 * 9 + 12 * 5 + 7 + 1) + 1);
});

test('ternary SimpleRNN (relu, sequence, backwards, 5 lanes: every column) -> ternary LSTM (hard_sigmoid gates, last state, 8 lanes: every column) as the output: 10-bit half-even/saturate, 6-bit scales (narrow products)', async () => {
  const ir = normalized(
    new ModelBuilder('tsl', [4, 3], 7)
      .recurrent('r1', 'simple_rnn', 5, { returnSequences: true, goBackwards: true, activation: { kind: 'relu' }, ternary: { inputDelta: 8, stateDelta: 1, scale: { bits: 6, integer: 1 } } })
      .recurrent('l2', 'lstm', 2, { recurrentActivation: { kind: 'hard_sigmoid', alpha: 0.2 }, ternary: { inputDelta: 1, stateDelta: 0.3, scale: { bits: 6, integer: 1 } } }),
  );
  await checkAgainstC(ir, knobs(10, 4, 'half-even', 'saturate'), { r1: 5, l2: 8 });
});

test('ternary LSTM (sequence, 7 lanes over 20 columns) as the output, 16-bit scales fixed<16,3>: 8-bit half-even/saturate', async () => {
  const ir = normalized(new ModelBuilder('tl7', [4, 6], 13).recurrent('l', 'lstm', 5, { returnSequences: true, ternary: { inputDelta: 5, stateDelta: 0.5, scale: { bits: 16, integer: 3 } } }));
  await checkAgainstC(ir, knobs(8, 3, 'half-even', 'saturate'), { l: 7 });
});

test('the comparison sees one wrong threshold: the RTL built with θ_x[0] changed follows it and differs from the C', async () => {
  const ir = lstmRnnDense(3);
  const k = knobs(8, 3, 'half-even', 'saturate');
  const wrong = structuredClone(ir);
  const l1 = wrong.layers.find((l) => l.name === 'l1')!;
  const theta = (g: ReturnType<typeof generateRtl>) => (g.q.ops.find((o) => o.layer === 'l1') as QRecurrent).ternary!.inputThresholds[0];
  // Δ 0 (θ = 1: every non-zero x[0] counts) where it was larger, else a Δ no x reaches.
  const before = theta(generateRtl(ir, k, lanesOf({ l1: 3 }), UP5K));
  l1.ternary!.inputThresholds![0] = before > 1 ? 0 : 100;
  const r = await generateAndSimulate(wrong, k, lanesOf({ l1: 3, r2: 2, fc: 1 }), { simulator: 'verilator', samples: 6, seed: 17 });
  assert.notEqual(theta(r.gen), before);
  assertBitExact(r); // the engine computes what its (wrong) integer model says
  const c = await cOutputs(ir, k, r.inputs, r.gen.interface.inputFormat);
  assert.throws(() => assertEqualsC(r, c), /RTL vs C/);
});

test('dse: lanes for the ternary layers (multiplier auto), each choice costed with the RTL generator\'s exact cycles; the engine takes the writer\'s two DSPs and no lane multiplier', () => {
  const ir = lstmRnnDense(11);
  const k = knobs(8, 3, 'half-even', 'saturate');
  const device = getDevice('ice40-up5k');
  const model = new CostModel({ ir, knobs: k, device, maxLanes: 16, calibration: TEST_CALIBRATION });
  const at = model.space.partitions.findIndex((p) => p.layer === 'l1');
  const choices = model.space.partitions[at].choices;
  assert.ok(choices.length >= 4, `${choices.length} choices for l1`);
  assert.ok(choices.every((c) => c.multiplier === 'auto' && c.unroll === 'outputs'));
  for (const [j, c] of choices.entries()) {
    const g = model.space.partitions.map(() => 0);
    g[at] = j;
    const cost = model.evaluate(g);
    assert.ok(cost.legal);
    const gen = generateRtl(ir, k, toDirectiveSet(model.space, g), { name: device.name, dsp: device.dsp, spram: device.spram });
    assert.equal(cost.cycles, gen.cycles.cycles, `${c.lanes} lanes`);
    assert.equal(gen.dspUsed, cost.dsp, `${c.lanes} lanes: DSPs`);
  }
  const one = model.evaluate(model.space.partitions.map(() => 0));
  assert.equal(one.perPartition.find((p) => p.layer === 'l1')!.dsp, 2, "the writer's ax·sW and ah·sU");
});
