/**
 * The RTL against the C fixed-point model itself (src/cgen, compiled, run with `harness -r`), on
 * hand-built models that the full pipeline rarely produces: ternary layers (ternary inputs and
 * outputs, α before the bias, wrapping accumulators) and the element-wise / pooling layers (add,
 * concatenation, zero padding, padded pools, exact average division) in other rounding/overflow modes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeGeneratedC, generateC } from '../../src/cgen';
import type { NumberKnobs } from '../../src/qmodel/precision';
import { assignLoopNestIds } from '../../src/ir/assignLoopNestIds';
import type { ModelIR } from '../../src/ir/types';
import { dequantize } from '../../src/numerics/fixed';
import type { DirectiveSet } from '../../src/rtl/directives';
import { buildCModel, runCModelRaw } from '../../src/sim/c-model';
import { generateAndSimulate, knobs, ModelBuilder } from '../rtl/helpers';

async function rtlEqualsC(ir: ModelIR, k: NumberKnobs, d: DirectiveSet): Promise<void> {
  const model = assignLoopNestIds(ir);
  const r = await generateAndSimulate(model, k, d, { samples: 5 });
  const dir = mkdtempSync(join(tmpdir(), 'dm-c-'));
  writeGeneratedC(dir, generateC(model, { knobs: k, weightStorage: 'arrays' }));
  const exe = await buildCModel(dir, k, join(dir, 'build'));
  // The C model quantizes float inputs: give it the exact values of the RTL's input integers.
  const f = r.gen.interface.inputFormat;
  const n = r.gen.interface.inputElements;
  const x = new Float32Array(r.inputs.length * n);
  r.inputs.forEach((q, s) => q.forEach((v, i) => (x[s * n + i] = dequantize(v, f))));
  const c = await runCModelRaw(exe, x, r.inputs.length, n, r.gen.interface.outputs);
  r.inputs.forEach((_, s) => assert.deepEqual(Array.from(r.sim.logits[s]), Array.from(c[s]), `sample ${s}: RTL vs C`));
}

test('ternary layers: RTL == C model (ternary outputs feeding a ternary layer, wrapping accumulators)', async () => {
  const ir = new ModelBuilder('ternc', [6, 6, 3], 11)
    .conv2d('tc', 5, 3, { ternary: true, ternaryOut: true })
    .flatten()
    .dense('td', 7, { ternary: true, activation: { kind: 'relu' } })
    .dense('fc', 4)
    .build();
  await rtlEqualsC(ir, knobs(8, 3, 'half-even', 'wrap', 14), { version: 1, layers: { tc: { lanes: 2 }, td: { lanes: 3 }, fc: { lanes: 2 } } });
});

test('add, concatenate, zero padding, padded pools, exact average division: RTL == C model (truncate/saturate, 12-bit)', async () => {
  const b = new ModelBuilder('dagc', [5, 5, 2], 13).conv2d('c1', 3, 3, { padding: 'same' });
  b.conv2d('c2', 3, 1, { activation: { kind: 'relu' } });
  b.add({ name: 'sum', type: 'add', inputs: ['c1', 'c2'], outputShape: [5, 5, 3] });
  b.add({ name: 'cat', type: 'concatenate', inputs: ['sum', 'c1'], outputShape: [5, 5, 6], axis: -1 });
  b.add({ name: 'zp', type: 'zeropad2d', pads: [[1, 0], [0, 2]], outputShape: [6, 7, 6] });
  b.add({ name: 'act', type: 'activation', activation: { kind: 'relu' }, outputShape: [6, 7, 6] });
  b.pool('ap', 'avgpool2d', 3, { stride: 2, padding: 'same' });
  b.globalPool('gap', 'global_avgpool2d');
  b.dense('fc', 3, { activation: { kind: 'softmax' } });
  await rtlEqualsC(b.build(), knobs(12, 4, 'truncate', 'saturate'), { version: 1, defaults: { lanes: 2 } });
});
