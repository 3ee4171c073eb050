/**
 * Ternary recurrent layers (FaCT-LSTM: LSTM and SimpleRNN with ternary kernels and ternarized gate
 * operands x_t, h_{t-1}; src/quant/layers.ts QuantRecurrent, src/qmodel/apply.ts, src/qmodel/lower.ts,
 * src/quant/recurrent.ts, src/cgen/recurrent.ts):
 *  - random ternary layers (fast-check: LSTM and SimpleRNN, stacked, go_backwards, return_sequences,
 *    every cell activation, a fixed-point Dense after them, random formats, both roundings and both
 *    overflow rules): the TF.js integer reference gives the compiled C's stored integers bit for bit;
 *  - that comparison sees a broken scale (one LSB) and a broken rounding;
 *  - the IR on disk keeps the ternary tensors; a ternary GRU is refused naming the layer;
 *  - the twin: trained briefly, exported and read back through quantization.json, its codes and
 *    scales reach the IR, the C equals the reference, and the reference's classes are the twin's;
 *  - the flow: train (quantize.mode ternary) -> convert -> verify on a small sequence task;
 *  - the operand statistics: calibrated before fine-tuning (epoch 0 is the float weights with real
 *    Δ and β), and restored with the weights when early stopping hands back an earlier epoch.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { importForConversion } from '../../src/cgen/convert';
import { normalize } from '../../src/ir/passes/normalize';
import { readModelIR, writeModelIR } from '../../src/ir/serialize';
import type { Activation, ImportedModel, ModelIR, RecurrentConfig } from '../../src/ir/types';
import type { Architecture } from '../../src/nn/arch';
import { selectBackend } from '../../src/nn/backend';
import { buildModel } from '../../src/nn/build';
import { saveModel } from '../../src/nn/save';
import type { Split } from '../../src/data/tensors';
import { copyWeightsByName, evaluate } from '../../src/nn/train';
import { fakeQuantize, type FixedFormat } from '../../src/numerics/fixed';
import { writeQuantizationFile } from '../../src/qmodel/file';
import { lowerModel, type QRecurrent } from '../../src/qmodel/lower';
import type { NumberKnobs } from '../../src/qmodel/precision';
import { resolveQuantization } from '../../src/quant/config';
import { QuantRecurrent } from '../../src/quant/layers';
import { buildQuantizedModel } from '../../src/quant/model';
import { calibrateTernaryStatistics, exportStandardModel, quantizationAwareTraining, quantizationFileOf } from '../../src/quant/qat';
import { ternarizeWeights } from '../../src/quant/ternary';
import { runQuantizedModel, runQuantizedReference } from '../../src/quant/reference';
import { isDeepMakerError } from '../../src/util/errors';
import { buildC, FIXED16, runRaw, tmp } from '../cgen/helpers';
import { seeded } from '../cgen/recurrent-models';
import { randomInputs } from '../cgen/tfjs-models';
import { imageProject, runFlow } from '../nn/sequence-projects';

const dirs: string[] = [];
before(async () => {
  await selectBackend('cpu');
});
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

type Fmt = { bits: number; integer: number };

interface TCell {
  cell: 'lstm' | 'simple_rnn';
  units: number;
  activation: Activation;
  recurrentActivation: Activation;
  returnSequences: boolean;
  goBackwards: boolean;
  bias: boolean;
}

interface TCase {
  steps: number;
  features: number;
  cells: TCell[];
  dense: boolean;
  input: Fmt;
  state: Fmt;
  scale: Fmt;
  biases: Fmt;
  seed: number;
  knobs: NumberKnobs;
}

const ACTIVATIONS: Activation[] = [{ kind: 'tanh' }, { kind: 'sigmoid' }, { kind: 'hard_sigmoid', alpha: 0.2 }, { kind: 'hard_sigmoid', alpha: 1 / 6 }, { kind: 'relu' }, { kind: 'relu', maxValue: 6 }, { kind: 'linear' }];

const cellArb: fc.Arbitrary<TCell> = fc.record({
  cell: fc.constantFrom<TCell['cell']>('lstm', 'lstm', 'simple_rnn'),
  units: fc.integer({ min: 1, max: 5 }),
  activation: fc.constantFrom(...ACTIVATIONS),
  recurrentActivation: fc.constantFrom(...ACTIVATIONS),
  returnSequences: fc.boolean(),
  goBackwards: fc.boolean(),
  bias: fc.boolean(),
});

const fmtArb = (minBits: number, maxBits: number, minInt: number, maxInt: number): fc.Arbitrary<Fmt> =>
  fc.integer({ min: minBits, max: maxBits }).chain((bits) => fc.integer({ min: minInt, max: Math.min(maxInt, bits + 2) }).map((integer) => ({ bits, integer })));

const caseArb: fc.Arbitrary<TCase> = fc.record({
  steps: fc.integer({ min: 1, max: 6 }),
  features: fc.integer({ min: 1, max: 5 }),
  cells: fc.array(cellArb, { minLength: 1, maxLength: 2 }),
  dense: fc.boolean(),
  input: fmtArb(4, 16, 1, 5),
  state: fmtArb(4, 16, 1, 6),
  scale: fmtArb(4, 16, -2, 2),
  biases: fmtArb(6, 16, 1, 4),
  seed: fc.integer({ min: 1, max: 1e6 }),
  knobs: fc.record({
    rounding: fc.constantFrom<NumberKnobs['rounding']>('truncate', 'half-even'),
    overflow: fc.constantFrom<NumberKnobs['overflow']>('wrap', 'saturate'),
  }).map((k) => ({ ...FIXED16, ...k, mode: 'fixed' as const })),
});

const T: Fmt = { bits: 2, integer: 2 };

/** Codes in {-1, 0, 1}, about a third zeros. */
function codes(n: number, seed: number): Float32Array {
  return Float32Array.from(seeded(n, seed, 0.5), (v) => (v < -0.17 ? -1 : v > 0.17 ? 1 : 0));
}

const positive = (n: number, seed: number, lo: number, hi: number) => Float32Array.from(seeded(n, seed, 0.5), (v) => lo + (v + 0.5) * (hi - lo));

/** A ternary recurrent model as the convert stage's IR: every layer with its own formats, as src/qmodel/apply.ts leaves them. */
function buildCase(k: TCase): ModelIR {
  let seed = k.seed;
  const withRules = (f: Fmt): FixedFormat => ({ ...f, rounding: k.knobs.rounding, overflow: k.knobs.overflow });
  const layers: any[] = [{ name: 'x', type: 'input', inputs: [], inputShapes: [], outputShape: [k.steps, k.features], activation: { kind: 'linear' }, weights: {}, precision: { output: withRules(k.input) } }];
  let top = 'x';
  k.cells.forEach((s0, n) => {
    // A stacked first layer hands on its sequence.
    const s = n < k.cells.length - 1 ? { ...s0, returnSequences: true } : s0;
    const x = layers[layers.length - 1].outputShape as number[];
    if (x.length !== 2) return;
    const g = s.cell === 'lstm' ? 4 : 1;
    const cols = g * s.units;
    const recurrent: RecurrentConfig = { cell: s.cell, activation: s.activation, recurrentActivation: s.recurrentActivation, returnSequences: s.returnSequences, goBackwards: s.goBackwards };
    const name = `rnn${n}`;
    layers.push({
      name, type: s.cell, inputs: [top], inputShapes: [x], outputShape: s.returnSequences ? [x[0], s.units] : [s.units],
      activation: { kind: 'linear' }, units: s.units, useBias: s.bias, recurrent,
      weights: {
        kernel: { shape: [x[1], cols], data: codes(x[1] * cols, seed++) },
        recurrentKernel: { shape: [s.units, cols], data: codes(s.units * cols, seed++) },
        ...(s.bias ? { bias: { shape: [cols], data: seeded(cols, seed++, 1) } } : {}),
      },
      ternary: {
        scale: positive(cols, seed++, 0.05, 1.2),
        recurrentScale: positive(cols, seed++, 0.05, 1.2),
        // Some thresholds 0 (every non-zero value kept), most within the values' range.
        inputThresholds: Float32Array.from(positive(x[1], seed++, -0.3, 1.2), (v) => Math.max(0, v)),
        stateThresholds: Float32Array.from(positive(s.units, seed++, -0.1, 0.6), (v) => Math.max(0, v)),
      },
      precision: { weights: withRules(T), scale: withRules(k.scale), output: withRules(k.state), ...(s.bias ? { biases: withRules(k.biases) } : {}) },
    });
    top = name;
  });
  if (k.dense) {
    const x = layers[layers.length - 1].outputShape as number[];
    const cin = x[x.length - 1];
    layers.push({ name: 'logits', type: 'dense', inputs: [top], inputShapes: [x], outputShape: [...x.slice(0, -1), 3], activation: { kind: 'linear' }, units: 3, useBias: true, weights: { kernel: { shape: [cin, 3], data: seeded(cin * 3, seed++, 0.8) }, bias: { shape: [3], data: seeded(3, seed++, 0.3) } } });
    top = 'logits';
  }
  return normalize({ name: 'ternary_rnn', source: { format: 'tfjs-layers', file: 'ternary.json' }, layers, inputs: ['x'], outputs: [top] } as ImportedModel);
}

const inputSize = (ir: ModelIR) => ir.inputs.reduce((a, n) => a + ir.layers.find((l) => l.name === n)!.outputShape.reduce((p, q) => p * q, 1), 0);

async function both(ir: ModelIR, knobs: NumberKnobs, x: Float32Array, count: number): Promise<{ ref: number[]; c: number[] }> {
  const ref = runQuantizedReference(ir, knobs, x, count, { batch: 3 });
  const b = await buildC(ir, knobs);
  dirs.push(b.dir);
  return { ref: Array.from(ref.raw), c: await runRaw(b, x, count) };
}

describe('ternary recurrent layers: the TF.js integer reference equals the C (fast-check)', () => {
  it('random ternary LSTMs and SimpleRNNs: identical stored integers', async () => {
    let varied = 0, runs = 0, kept = 0, codesSeen = 0;
    await fc.assert(
      fc.asyncProperty(caseArb, async (k) => {
        const ir = buildCase(k);
        const q = lowerModel(ir, k.knobs);
        const cells = q.ops.filter((o): o is QRecurrent => o.kind === 'recurrent');
        assert.ok(cells.length >= 1 && cells.every((c) => c.ternary && c.productFrac === k.scale.bits - k.scale.integer));
        const n = 5;
        const x = randomInputs(n, inputSize(ir), k.seed, -2, 2);
        const { ref, c } = await both(ir, k.knobs, x, n);
        assert.deepEqual(ref, c, `case ${JSON.stringify(k)}`);
        runs++;
        if (new Set(ref).size > 1) varied++;
        // The input operand is ternarized, not passed through: some codes are 0 and some are not.
        const th = cells[0].ternary!.inputThresholds;
        const qx = runQuantizedModel({ ...q, ops: [], outputs: [q.inputs[0].name] }, x, n).raw;
        qx.forEach((v, i) => {
          codesSeen++;
          if (Math.abs(v) >= th[i % th.length]) kept++;
        });
      }),
      { numRuns: 30, seed: 20260714, endOnFailure: true },
    );
    assert.ok(varied >= runs * 0.6, `outputs vary in ${varied} of ${runs} cases`);
    assert.ok(kept > 0.2 * codesSeen && kept < 0.95 * codesSeen, `${kept} of ${codesSeen} input values kept non-zero`);
  });
});

/** A fixed case for the checks below: LSTM(4) returning its sequence into a SimpleRNN(3), then a Dense. */
const FIXED_CASE: TCase = {
  steps: 6, features: 3, dense: true, seed: 77,
  cells: [
    { cell: 'lstm', units: 4, activation: { kind: 'tanh' }, recurrentActivation: { kind: 'sigmoid' }, returnSequences: true, goBackwards: false, bias: true },
    { cell: 'simple_rnn', units: 3, activation: { kind: 'tanh' }, recurrentActivation: { kind: 'sigmoid' }, returnSequences: false, goBackwards: true, bias: true },
  ],
  input: { bits: 10, integer: 3 }, state: { bits: 16, integer: 4 }, scale: { bits: 8, integer: 2 }, biases: { bits: 16, integer: 3 },
  knobs: { ...FIXED16, rounding: 'half-even', overflow: 'saturate' },
};

describe('the bit-exact comparison of ternary recurrent layers', () => {
  it('sees a scale one LSB off and a rounding changed (truncate instead of half-even)', async () => {
    const ir = buildCase(FIXED_CASE);
    const n = 16;
    const x = randomInputs(n, inputSize(ir), 5, -2, 2);
    const { ref, c } = await both(ir, FIXED_CASE.knobs, x, n);
    assert.deepEqual(ref, c);
    assert.ok(new Set(ref).size > 8, 'the outputs vary');
    // A scale integer one LSB off in every kernel column of the recurrent layers.
    const q = lowerModel(ir, FIXED_CASE.knobs);
    const broken = { ...q, ops: q.ops.map((o) => (o.kind === 'recurrent' ? { ...o, ternary: { ...o.ternary!, kernelScale: o.ternary!.kernelScale.map((v) => v + 1) } } : o)) };
    assert.notDeepEqual(Array.from(runQuantizedModel(broken, x, n).raw), c, 'a scale one LSB off changes the integers');
    // The C compiled with truncation against the reference at half-even.
    const truncated = await buildC(ir, { ...FIXED_CASE.knobs, rounding: 'truncate' });
    dirs.push(truncated.dir);
    assert.notDeepEqual(await runRaw(truncated, x, n), ref, 'a changed rounding changes the integers');
  });

  it('the IR on disk keeps the codes, scales and thresholds; the C reads them back identically', async () => {
    const ir = buildCase(FIXED_CASE);
    const dir = tmp('ternary-ir');
    dirs.push(dir);
    writeModelIR(dir, ir);
    const back = readModelIR(dir);
    for (const l of ir.layers.filter((l) => l.ternary)) {
      const b = back.layers.find((m) => m.name === l.name)!;
      for (const slot of ['scale', 'recurrentScale', 'inputThresholds', 'stateThresholds'] as const) assert.deepEqual(Array.from(b.ternary![slot]!), Array.from(l.ternary![slot]!), `${l.name} ${slot}`);
      assert.deepEqual(Array.from(b.weights.recurrentKernel!.data), Array.from(l.weights.recurrentKernel!.data));
    }
    const x = randomInputs(6, inputSize(ir), 9, -2, 2);
    assert.deepEqual(Array.from(runQuantizedReference(back, FIXED_CASE.knobs, x, 6).raw), Array.from(runQuantizedReference(ir, FIXED_CASE.knobs, x, 6).raw));
  });

  it('a ternary GRU is refused, naming the layer', () => {
    const ir = buildCase(FIXED_CASE);
    const l = ir.layers.find((m) => m.type === 'simple_rnn')!;
    l.type = 'gru';
    l.recurrent = { ...l.recurrent!, cell: 'gru', resetAfter: false };
    const cols = 3 * l.units!;
    const F = l.inputShapes[0][1];
    l.weights = { kernel: { shape: [F, cols], data: codes(F * cols, 1) }, recurrentKernel: { shape: [l.units!, cols], data: codes(l.units! * cols, 2) }, bias: { shape: [cols], data: seeded(cols, 3) } };
    l.ternary = { ...l.ternary!, scale: positive(cols, 4, 0.1, 1), recurrentScale: positive(cols, 5, 0.1, 1) };
    assert.throws(() => lowerModel(ir, FIXED_CASE.knobs), (e: Error) => isDeepMakerError(e) && e.message.includes(l.name) && /ternary recurrent layers are LSTM and SimpleRNN/.test(e.message));
  });
});

// ---------------- the quantization-aware twin ----------------

const NUMERICS = { rounding: 'half-even', overflow: 'saturate' } as const;

function sequences(shape: number[], n: number, f: FixedFormat, seed: number): Float32Array {
  const x = tf.tidy(() => tf.randomUniform([n, ...shape], -1, 1, 'float32', seed).dataSync() as Float32Array);
  return Float32Array.from(x, (v) => fakeQuantize(v, { ...f, overflow: 'saturate' }));
}

describe('ternary quantization-aware training of recurrent layers (FaCT-LSTM)', () => {
  const CASES: [string, Architecture][] = [
    ['LSTM(6) returning its sequence into a SimpleRNN(5)', { input: [6, 3], classes: 3, layers: [{ type: 'lstm', units: 6, returnSequences: true }, { type: 'simple_rnn', units: 5 }] }],
    ['LSTM(8) with hard_sigmoid gates', { input: [5, 4], classes: 4, layers: [{ type: 'lstm', units: 8, recurrentActivation: 'hard_sigmoid' }] }],
  ];
  for (const [what, arch] of CASES) {
    it(`${what}: ternary kernels and operands reach the IR; the C equals the reference; the reference's classes are the twin's`, async () => {
      const plan = resolveQuantization({ mode: 'ternary', activations: { bits: 12, integer: 4 } }, NUMERICS);
      const float = buildModel(arch, { seed: 5 });
      const q = buildQuantizedModel(arch, 5, plan);
      const copied = copyWeightsByName(float, q);
      assert.ok(copied >= arch.layers.length, `float weights copied into ${copied} layers`);
      const m = 96;
      const x = sequences(arch.input, m, plan.activations!, 3);
      const xt = tf.tensor(x, [m, ...arch.input]);
      const labels = tf.oneHot(tf.tensor1d(Array.from({ length: m }, (_, i) => i % arch.classes), 'int32'), arch.classes);
      const dir = join(mkdtempSync(join(tmpdir(), 'dm-tern-rnn-')), 'model');
      try {
        q.compile({ optimizer: tf.train.adam(0.01), loss: tf.losses.softmaxCrossEntropy });
        await q.fit(xt, labels, { epochs: 2, batchSize: 16, verbose: 0, shuffle: false });
        const cells = q.layers.filter((l): l is QuantRecurrent => l instanceof QuantRecurrent);
        assert.equal(cells.length, arch.layers.length);
        const file = quantizationFileOf(q, plan);
        for (const l of cells) {
          const o = file.layers[l.name].operands!;
          assert.equal(file.layers[l.name].weights, 'ternary');
          assert.equal(o.input.thresholds.length, (l.input as tf.SymbolicTensor).shape[2]);
          assert.equal(o.state.thresholds.length, l.units);
          assert.ok(o.input.scale > 0 && o.state.scale > 0 && o.state.thresholds.some((d) => d > 0), `${l.name}: moving statistics ${JSON.stringify(o)}`);
        }
        const exported = exportStandardModel(arch, 5, q);
        await saveModel(exported, dir);
        writeQuantizationFile(dir, file);
        const { model: ir, quant } = await importForConversion(join(dir, 'model.json'));
        for (const l of ir.layers.filter((l) => l.type === 'lstm' || l.type === 'simple_rnn')) {
          const t = l.ternary!;
          assert.ok(l.weights.kernel!.data.every((v) => v === -1 || v === 0 || v === 1) && l.weights.recurrentKernel!.data.every((v) => v === -1 || v === 0 || v === 1), `${l.name}: codes`);
          assert.ok(l.weights.kernel!.data.some((v) => v === 0) && l.weights.kernel!.data.some((v) => v !== 0));
          const o = file.layers[l.name].operands!;
          // The C's scales: each column's α times the operand's β.
          const k = exported.getLayer(l.name).getWeights()[0].dataSync();
          const cols = t.scale.length;
          for (let col = 0; col < cols; col++) {
            const alpha = Math.max(...Array.from({ length: k.length / cols }, (_, i) => Math.abs(k[i * cols + col])));
            assert.ok(Math.abs(t.scale[col] - Math.fround(alpha * o.input.scale)) <= 1e-7 * Math.max(1, t.scale[col]), `${l.name} column ${col}`);
          }
          assert.deepEqual(Array.from(t.stateThresholds!), Array.from(Float32Array.from(o.state.thresholds)));
          assert.deepEqual([l.precision!.weights!.bits, l.precision!.weights!.integer, l.precision!.output!.bits, l.precision!.output!.integer, l.precision!.scale!.bits], [2, 2, 12, 4, 16]);
        }
        const knobs: NumberKnobs = { ...FIXED16, rounding: quant!.rounding, overflow: quant!.overflow };
        const { ref, c } = await both(ir, knobs, x, m);
        assert.deepEqual(ref, c, 'C and reference');
        const r = runQuantizedReference(ir, knobs, x, m);
        const logits = (q.predict(xt) as tf.Tensor).arraySync() as number[][];
        let sameClass = 0;
        for (let i = 0; i < m; i++) {
          const v = Array.from(r.raw.subarray(i * r.outputSize, (i + 1) * r.outputSize));
          if (v.indexOf(Math.max(...v)) === logits[i].indexOf(Math.max(...logits[i]))) sameClass++;
        }
        // The twin's scales are float, the C's 16-bit; its tanh/sigmoid the float functions, the C's a table within a rounding.
        assert.ok(sameClass >= 0.9 * m, `same class on ${sameClass} of ${m} sequences`);
        exported.dispose();
      } finally {
        rmSync(join(dir, '..'), { recursive: true, force: true });
        tf.dispose([xt, labels]);
        float.dispose();
        q.dispose();
      }
    });
  }
});

describe('ternary recurrent training through train, convert and verify', () => {
  it('an LSTM with quantize.mode ternary: the twin learns the task, the C equals the reference integer for integer', async () => {
    const dir = imageProject('    - { type: lstm, units: 8 }\n', 'quantize: { mode: ternary, activations: { bits: 12, integer: 4 }, fineTune: { epochs: 3, learningRate: 0.01 } }\nverify: { samples: 120, sweep: [], sanitizeSamples: 0, traceSamples: 10, searchSamples: 60 }\n', 6, { train: 480, test: 120 });
    try {
      const { train, verify, layers } = await runFlow(dir);
      assert.equal(train.quantization.mode, 'ternary');
      const lstm = layers.find((l: { type: string }) => l.type === 'lstm');
      assert.ok(lstm.ternary.recurrentScale && lstm.ternary.inputThresholds && lstm.ternary.stateThresholds, 'layers.json names the ternary tensors');
      assert.equal(verify.quantizedReference.identical, true);
      assert.equal(verify.quantizedReference.samples, 120);
      const floatAccuracy = train.quantization.float.testAccuracy;
      assert.ok(floatAccuracy >= 0.9, `float ${floatAccuracy}`);
      // 120 test sequences after 3 fine-tuning epochs on 480: a few sequences either way (0.900 here; 0.875 with a
      // training variant tried in session 12); chance is 1/3.
      assert.ok(train.testAccuracy >= floatAccuracy - 0.15, `ternary twin ${train.testAccuracy} vs float ${floatAccuracy}`);
      assert.ok(Math.abs(verify.fixed.accuracy - train.testAccuracy) <= 0.05, `C ${verify.fixed.accuracy} vs twin ${train.testAccuracy}`);
      // 2-bit kernels, and the per-column scales of both kernels.
      const m = train.weightMemory;
      assert.equal(m.kernelBits, 2);
      assert.equal(m.scales, (2 * 4 * 8 + 3) * 16, 'LSTM: 2 × 32 column scales; Dense(3): 3');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------- operand statistics around fine-tuning ----------------

/** Sequences of `shape` in (-1, 1), labelled by the feature with the largest sum over the steps. */
function argmaxTask(shape: [number, number], n: number, seed: number): Split {
  const x = seeded(n * shape[0] * shape[1], seed, 1);
  const y = Int32Array.from({ length: n }, (_, i) => {
    const sums = new Array(shape[1]).fill(0);
    for (let t = 0; t < shape[0]; t++) for (let f = 0; f < shape[1]; f++) sums[f] += x[(i * shape[0] + t) * shape[1] + f];
    return sums.indexOf(Math.max(...sums));
  });
  return { x, y, count: n, shape: [...shape] };
}

describe('ternary recurrent operand statistics around fine-tuning', () => {
  const arch: Architecture = { input: [6, 3], classes: 3, layers: [{ type: 'lstm', units: 6 }] };
  const data = { train: argmaxTask([6, 3], 96, 11), validation: argmaxTask([6, 3], 48, 12), test: argmaxTask([6, 3], 48, 13) };
  const train = { batchSize: 16, learningRate: 0.01, optimizer: 'adam' as const, seed: 5, backend: 'wasm' as const, earlyStopping: { patience: 2 } };
  before(async () => {
    await selectBackend('wasm');
  });

  /** The operand statistics a twin of `float` gets from calibrating on every row of `split` (what fine-tuning's calibration uses here). */
  function calibratedTwin(float: tf.LayersModel, plan: ReturnType<typeof resolveQuantization>, split: Split): ReturnType<QuantRecurrent['ternaryOperands']> {
    const twin = buildQuantizedModel(arch, train.seed, plan);
    try {
      copyWeightsByName(float, twin);
      assert.equal(calibrateTernaryStatistics(twin, split, Int32Array.from({ length: split.count }, (_, i) => i), train.batchSize), 1);
      return (twin.layers.find((l) => l instanceof QuantRecurrent) as QuantRecurrent).ternaryOperands();
    } finally {
      twin.dispose();
    }
  }

  it('are calibrated on training sequences before the first fine-tuning step: epoch 0 is the float weights with nonzero Δ and β', async () => {
    const float = buildModel(arch, { seed: 5 });
    const plan = resolveQuantization({ mode: 'ternary', activations: { bits: 12, integer: 4 }, fineTune: { epochs: 0 } }, NUMERICS);
    const r = await quantizationAwareTraining({ arch, data, floatModel: float, plan, train });
    try {
      assert.equal(r.training.bestEpoch, 0);
      const cell = r.model.layers.find((l) => l instanceof QuantRecurrent) as QuantRecurrent;
      const o = cell.ternaryOperands()!;
      // x: Δ_i = threshold · mean |x_i| over the training sequences and steps (six equal batches: the mean of their Δ).
      const x = r.data.train.x;
      for (let i = 0; i < 3; i++) {
        let s = 0;
        for (let k = i; k < x.length; k += 3) s += Math.abs(x[k]);
        const expected = (plan.ternary!.threshold * s) / (x.length / 3);
        assert.ok(Math.abs(o.input.thresholds[i] - expected) <= 1e-5, `input threshold ${i}: ${o.input.thresholds[i]} vs ${expected}`);
      }
      assert.ok(o.input.scale > 0 && o.state.scale > 0 && o.state.thresholds.every((d) => d > 0), `statistics before any fine-tuning step: ${JSON.stringify(o)}`);
      assert.deepEqual(o, calibratedTwin(float, plan, r.data.train));
      // The returned model is the one validated at epoch 0: the float weights, ternarized.
      const [k] = cell.effectiveKernels();
      const t = ternarizeWeights(float.getLayer(cell.name).getWeights()[0]);
      assert.deepEqual(Array.from(k.dataSync()), Array.from(tf.mul(t.ternary, t.scale).dataSync()));
      tf.dispose([k, t.ternary, t.scale, t.delta]);
      assert.equal(evaluate(r.model, r.data.validation).accuracy, r.training.validationAccuracy);
    } finally {
      float.dispose();
      r.model.dispose();
      r.exported.dispose();
    }
  });

  it('ternary outputs (not the recurrent operands) are set from each epoch\'s weights before it is validated', async () => {
    // A dense network with ternary activations on the same task: its kept epoch carries the Δ of its own weights.
    const dense: Architecture = { input: [6, 3], classes: 3, layers: [{ type: 'flatten' }, { type: 'dense', units: 8, activation: 'relu' }, { type: 'dense', units: 3 }] };
    const float = buildModel(dense, { seed: 5 });
    const plan = resolveQuantization({ mode: 'ternary', activations: { bits: 8, integer: 4 }, ternary: { activations: true }, fineTune: { epochs: 2, learningRate: 0.01 } }, NUMERICS);
    const r = await quantizationAwareTraining({ arch: dense, data, floatModel: float, plan, train });
    try {
      assert.ok(r.training.bestEpoch >= 1, `precondition: an epoch after the start was kept (best ${r.training.bestEpoch})`);
      const hidden = r.model.layers.find((l) => (l as unknown as { hasTernaryOutput?: boolean }).hasTernaryOutput) as unknown as { name: string; ternaryDelta(): Float32Array };
      const twin = buildQuantizedModel(dense, train.seed, plan);
      try {
        copyWeightsByName(r.model, twin);
        assert.equal(calibrateTernaryStatistics(twin, r.data.train, Int32Array.from({ length: r.data.train.count }, (_, i) => i), train.batchSize), 1);
        const expected = (twin.getLayer(hidden.name) as unknown as { ternaryDelta(): Float32Array }).ternaryDelta();
        const got = hidden.ternaryDelta();
        assert.ok(Array.from(got).every((v, i) => Math.abs(v - expected[i]) <= 1e-6 * Math.max(1, Math.abs(expected[i]))), `${Array.from(got)} vs ${Array.from(expected)}`);
      } finally {
        twin.dispose();
      }
    } finally {
      float.dispose();
      r.model.dispose();
      r.exported.dispose();
    }
  });

  it('are restored with the weights when early stopping hands back an earlier epoch', async () => {
    const float = buildModel(arch, { seed: 5 });
    // A learning rate that wrecks the network: epoch 0 (the calibrated float weights) stays the best.
    const plan = resolveQuantization({ mode: 'ternary', activations: { bits: 12, integer: 4 }, fineTune: { epochs: 2, learningRate: 100 } }, NUMERICS);
    const r = await quantizationAwareTraining({ arch, data, floatModel: float, plan, train });
    try {
      assert.equal(r.training.bestEpoch, 0, 'precondition: fine-tuning made the network worse');
      const cell = r.model.layers.find((l) => l instanceof QuantRecurrent) as QuantRecurrent;
      assert.deepEqual(cell.ternaryOperands(), calibratedTwin(float, plan, r.data.train));
      assert.equal(evaluate(r.model, r.data.validation).loss, r.training.validationLoss);
    } finally {
      float.dispose();
      r.model.dispose();
      r.exported.dispose();
    }
  });
});
