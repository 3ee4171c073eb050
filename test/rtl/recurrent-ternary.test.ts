/**
 * Ternary (FaCT-LSTM) recurrent engines (src/rtl/recurrent.ts with QRecurrent.ternary): random
 * ternary LSTM and SimpleRNN layers simulated (Verilator) against the compiled C fixed-point model
 * (src/cgen/recurrent.ts, the reference bit for bit) and the TF.js integer reference; every sample's
 * cycles equal to src/rtl/cycles.ts's prediction.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { rmSync } from 'node:fs';
import { normalize } from '../../src/ir/passes/normalize';
import type { ImportedModel, ModelIR } from '../../src/ir/types';
import { fracBits, type FixedFormat } from '../../src/numerics/fixed';
import type { NumberKnobs } from '../../src/qmodel/precision';
import { buildC, runRaw } from '../cgen/helpers';
import { assertBitExact, assertCycles, generateAndSimulate, knobs, ModelBuilder, type RunResult } from './helpers';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

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

/** The builder's model through the normalizing passes (loop nest ids: the C generator names its functions by them). */
const normalized = (b: ModelBuilder): ModelIR => normalize(b.build() as unknown as ImportedModel);

async function run(ir: ModelIR, k: NumberKnobs, lanes: Record<string, number>, samples = 6): Promise<{ r: RunResult; c: number[][] }> {
  const r = await generateAndSimulate(ir, k, { version: 1, layers: Object.fromEntries(Object.entries(lanes).map(([n, l]) => [n, { lanes: l }])) }, { simulator: 'verilator', samples });
  const c = await cOutputs(ir, k, r.inputs, r.gen.interface.inputFormat);
  return { r, c };
}

function assertEqualsC(r: RunResult, c: number[][]): void {
  r.inputs.forEach((_, i) => assert.deepEqual(Array.from(r.sim.logits[i]), c[i], `sample ${i}: RTL vs C`));
}

test('smoke: ternary LSTM (sequence, 3 lanes) -> ternary SimpleRNN (2 lanes) -> Dense', async () => {
  const ir = normalized(new ModelBuilder('tlstm', [5, 3], 3)
    .recurrent('l1', 'lstm', 4, { returnSequences: true, ternary: { inputDelta: 6, stateDelta: 0.4 } })
    .recurrent('r2', 'simple_rnn', 3, { ternary: { inputDelta: 0.4, stateDelta: 0.4 } })
    .dense('fc', 4, { scale: 1 }));
  const { r, c } = await run(ir, knobs(8, 3), { l1: 3, r2: 2, fc: 1 });
  assertBitExact(r);
  assertEqualsC(r, c);
  assertCycles(r);
});
