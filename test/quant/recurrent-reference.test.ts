/**
 * The TF.js integer reference (src/quant/reference.ts) on recurrent models, from the quantized-model
 * view (src/qmodel/lower.ts): its stored integers equal the compiled fixed-point C's (harness -r,
 * dm_output_raw) bit for bit on
 *  - the recurrent test models written by TF.js (LSTM, GRU, SimpleRNN stacked and after Conv1D,
 *    Bidirectional concat / sum / ave / mul, TimeDistributed(Dense), Average, Multiply, every cell
 *    activation) and the hls4ml LSTM fixture, under knob sets with 8- and 16-bit activations, both
 *    roundings and both overflow rules, a narrow accumulator and a negative frac;
 *  - random small recurrent layers (fast-check): LSTM, GRU (reset_after true and false), SimpleRNN,
 *    go_backwards, return_sequences, a reversed backward half merged by Average / Multiply /
 *    Concatenate, every cell activation (both hard_sigmoids, relu6), random formats and rules;
 *  - formats too wide for float64 (28-bit states), where the reference computes in BigInt.
 * The view holds the table the C writes, and the RTL still refuses recurrent layers by name.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { loadModel } from '../../src/importers';
import { normalize } from '../../src/ir/passes/normalize';
import type { Activation, ImportedModel, ModelIR, RecurrentConfig } from '../../src/ir/types';
import { selectBackend } from '../../src/nn/backend';
import { tanhTable } from '../../src/numerics/recurrent';
import { lowerModel, type QRecurrent } from '../../src/qmodel/lower';
import type { NumberKnobs } from '../../src/qmodel/precision';
import { recurrentFitsDoubles } from '../../src/quant/recurrent';
import { runQuantizedReference } from '../../src/quant/reference';
import { lowerModelForRtl } from '../../src/rtl/lower';
import { isDeepMakerError } from '../../src/util/errors';
import { buildC, FIXED16, runRaw, tmp } from '../cgen/helpers';
import { FLOAT_MODELS, seeded } from '../cgen/recurrent-models';
import { randomInputs, saveTfjsModel } from '../cgen/tfjs-models';
import { KERAS_FIXTURES } from '../fixtures/location';

const KNOB_SETS: NumberKnobs[] = [
  FIXED16,
  { ...FIXED16, weights: { bits: 8, integer: 1 }, biases: { bits: 8, integer: 2 }, activations: { bits: 8, integer: 3 }, rounding: 'truncate', overflow: 'wrap' },
  { ...FIXED16, weights: { bits: 10, integer: 2 }, biases: { bits: 12, integer: 4 }, activations: { bits: 12, integer: 4 }, accumulatorBits: 18, rounding: 'half-even', overflow: 'wrap' },
  // More integer bits than bits: a negative frac, as a precision sweep may try at small widths.
  { ...FIXED16, weights: { bits: 8, integer: 1 }, biases: { bits: 8, integer: 2 }, activations: { bits: 6, integer: 7 }, rounding: 'truncate', overflow: 'saturate' },
];

const SAMPLES = 12;
const dirs: string[] = [];

before(async () => {
  await selectBackend('cpu');
});
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The reference's stored integers and the C's, for `count` samples of x. */
async function both(ir: ModelIR, knobs: NumberKnobs, x: Float32Array, count: number): Promise<{ ref: number[]; c: number[] }> {
  const ref = runQuantizedReference(ir, knobs, x, count, { batch: 5 });
  const b = await buildC(ir, knobs);
  dirs.push(b.dir);
  return { ref: Array.from(ref.raw), c: await runRaw(b, x, count) };
}

const inputSize = (ir: ModelIR) => ir.inputs.reduce((a, n) => a + ir.layers.find((l) => l.name === n)!.outputShape.reduce((p, q) => p * q, 1), 0);

describe('the TF.js integer reference equals the fixed-point C on recurrent models', () => {
  for (const [name, make] of Object.entries(FLOAT_MODELS)) {
    it(`${name} (TF.js): identical stored integers under ${KNOB_SETS.length} knob sets`, async () => {
      const dir = tmp(`qrnn-${name}`);
      dirs.push(dir);
      const ir = await loadModel(await saveTfjsModel(make(), dir));
      const x = randomInputs(SAMPLES, inputSize(ir), 11, -2, 2);
      for (const [i, knobs] of KNOB_SETS.entries()) {
        const { ref, c } = await both(ir, knobs, x, SAMPLES);
        assert.deepEqual(ref, c, `${name}, knobs ${JSON.stringify(knobs)}`);
        // (The narrow formats may round a small model's outputs to zero.)
        if (i === 0) assert.ok(ref.some((v) => v !== 0), `${name}: not all zeros at fixed<16,6>`);
      }
    });
  }

  it('the hls4ml LSTM fixture: identical stored integers under every knob set', async () => {
    const ir = await loadModel(join(KERAS_FIXTURES, 'hls4ml_lstm/KERAS_lstm_model.json'));
    assert.deepEqual(ir.layers.map((l) => l.type), ['input', 'lstm', 'flatten', 'dense']);
    const x = randomInputs(SAMPLES, inputSize(ir), 13, -2, 2);
    for (const [i, knobs] of KNOB_SETS.entries()) {
      const { ref, c } = await both(ir, knobs, x, SAMPLES);
      assert.deepEqual(ref, c, `knobs ${JSON.stringify(knobs)}`);
      if (i === 0) assert.ok(new Set(ref).size > 3, `the outputs vary at fixed<16,6>: ${[...new Set(ref)].join(', ')}`);
    }
  });
});

// ---------------- random small recurrent layers ----------------

interface CellSpec {
  cell: RecurrentConfig['cell'];
  units: number;
  activation: Activation;
  recurrentActivation: Activation;
  returnSequences: boolean;
  goBackwards: boolean;
  resetAfter: boolean;
  bias: boolean;
}

interface Case {
  steps: number;
  features: number;
  first: CellSpec;
  /** A second layer over the input, backwards and stored back in input order (a Bidirectional half), merged with the first. */
  merge?: 'average' | 'multiply' | 'concatenate';
  /** A last recurrent layer (over the first's or the merge's sequence). */
  last?: CellSpec;
  scale: number;
  seed: number;
  knobs: NumberKnobs;
}

const ACTIVATIONS: Activation[] = [{ kind: 'tanh' }, { kind: 'sigmoid' }, { kind: 'hard_sigmoid', alpha: 0.2 }, { kind: 'hard_sigmoid', alpha: 1 / 6 }, { kind: 'relu' }, { kind: 'relu', maxValue: 6 }, { kind: 'linear' }];

const cellSpec = (returnSequences?: boolean): fc.Arbitrary<CellSpec> =>
  fc.record({
    cell: fc.constantFrom<RecurrentConfig['cell']>('lstm', 'gru', 'simple_rnn'),
    units: fc.integer({ min: 1, max: 4 }),
    activation: fc.constantFrom(...ACTIVATIONS),
    recurrentActivation: fc.constantFrom(...ACTIVATIONS),
    returnSequences: returnSequences === undefined ? fc.boolean() : fc.constant(returnSequences),
    goBackwards: fc.boolean(),
    resetAfter: fc.boolean(),
    bias: fc.boolean(),
  });

const format = (minBits: number, maxBits: number, minInt: number, maxInt: number) =>
  fc.integer({ min: minBits, max: maxBits }).chain((bits) => fc.integer({ min: minInt, max: Math.min(maxInt, bits + 2) }).map((integer) => ({ bits, integer })));

const knobsArb = (wide: boolean): fc.Arbitrary<NumberKnobs> =>
  fc.record({
    weights: wide ? format(16, 20, 0, 3) : format(3, 16, 0, 4),
    biases: wide ? format(16, 24, 1, 6) : format(3, 16, 0, 6),
    // Wide: 28..32-bit states, whose products pass 2^53.
    activations: wide ? format(28, 32, 2, 8) : format(3, 16, -1, 8),
    accumulatorBits: wide ? fc.constantFrom(0, 0, 40) : fc.constantFrom(0, 0, 12, 20),
    rounding: fc.constantFrom<NumberKnobs['rounding']>('truncate', 'half-even'),
    overflow: fc.constantFrom<NumberKnobs['overflow']>('wrap', 'saturate'),
  }).map((k) => ({ ...FIXED16, ...k, mode: 'fixed' as const }));

const caseArb = (wide: boolean): fc.Arbitrary<Case> =>
  fc.record({
    steps: fc.integer({ min: 1, max: 5 }),
    features: fc.integer({ min: 1, max: 4 }),
    first: cellSpec(),
    merge: fc.option(fc.constantFrom<'average' | 'multiply' | 'concatenate'>('average', 'multiply', 'concatenate'), { nil: undefined }),
    last: fc.option(cellSpec(), { nil: undefined }),
    scale: fc.constantFrom(0.3, 0.8, 1.5),
    seed: fc.integer({ min: 1, max: 1e6 }),
    knobs: knobsArb(wide),
  });

function buildCase(k: Case): ModelIR {
  let seed = k.seed;
  const layers: any[] = [{ name: 'x', type: 'input', inputs: [], inputShapes: [], outputShape: [k.steps, k.features], activation: { kind: 'linear' }, weights: {} }];
  const shapeOf = (n: string) => layers.find((l) => l.name === n).outputShape as number[];
  const addCell = (name: string, s: CellSpec, input: string, extra: Partial<RecurrentConfig> = {}) => {
    const x = shapeOf(input);
    const g = s.cell === 'lstm' ? 4 : s.cell === 'gru' ? 3 : 1;
    const resetAfter = s.cell === 'gru' && s.resetAfter;
    const biasShape = resetAfter ? [2, g * s.units] : [g * s.units];
    const recurrent: RecurrentConfig = { cell: s.cell, activation: s.activation, recurrentActivation: s.recurrentActivation, returnSequences: s.returnSequences, goBackwards: s.goBackwards, ...(s.cell === 'gru' ? { resetAfter } : {}), ...extra };
    layers.push({
      name, type: s.cell, inputs: [input], inputShapes: [x], outputShape: recurrent.returnSequences ? [x[0], s.units] : [s.units],
      activation: { kind: 'linear' }, units: s.units, useBias: s.bias, recurrent,
      weights: {
        kernel: { shape: [x[1], g * s.units], data: seeded(x[1] * g * s.units, seed++, k.scale) },
        recurrentKernel: { shape: [s.units, g * s.units], data: seeded(s.units * g * s.units, seed++, k.scale) },
        ...(s.bias ? { bias: { shape: biasShape, data: seeded(biasShape.reduce((a, b) => a * b, 1), seed++, k.scale) } } : {}),
      },
    });
  };
  addCell('first', k.first, 'x');
  let top = 'first';
  if (k.merge) {
    // The backward half: same cell, reading the input backwards, its sequence stored in input order.
    addCell('second', { ...k.first, goBackwards: !k.first.goBackwards }, 'x', k.first.returnSequences ? { reverseOutput: true } : {});
    const shape = shapeOf('first');
    const out = k.merge === 'concatenate' ? [...shape.slice(0, -1), 2 * shape[shape.length - 1]] : shape;
    layers.push({ name: 'merge', type: k.merge, inputs: ['first', 'second'], inputShapes: [shape, shape], outputShape: out, activation: { kind: 'linear' }, weights: {}, ...(k.merge === 'concatenate' ? { axis: -1 } : {}) });
    top = 'merge';
  }
  if (k.last && shapeOf(top).length === 2) {
    addCell('last', k.last, top);
    top = 'last';
  }
  return normalize({ name: 'random_rnn', source: { format: 'tfjs-layers', file: 'random.json' }, layers, inputs: ['x'], outputs: [top] } as ImportedModel);
}

/** Checks one case; returns how many of its recurrent layers the reference computes in float64. */
async function checkCase(k: Case): Promise<{ float64: number; layers: number }> {
  const ir = buildCase(k);
  const cells = lowerModel(ir, k.knobs).ops.filter((op): op is QRecurrent => op.kind === 'recurrent');
  assert.ok(cells.length >= 1);
  const n = 4;
  const x = randomInputs(n, inputSize(ir), k.seed, -2, 2);
  const { ref, c } = await both(ir, k.knobs, x, n);
  assert.deepEqual(ref, c, `case ${JSON.stringify(k)}`);
  return { float64: cells.filter(recurrentFitsDoubles).length, layers: cells.length };
}

describe('random small recurrent layers: the reference equals the C (fast-check)', () => {
  it('formats of 3..16 bits, both roundings, both overflow rules, narrow accumulators, negative fracs (float64 path)', async () => {
    let float64 = 0, layers = 0;
    await fc.assert(
      fc.asyncProperty(caseArb(false), async (k) => {
        const r = await checkCase(k);
        float64 += r.float64;
        layers += r.layers;
      }),
      { numRuns: 24, seed: 20240601, endOnFailure: true },
    );
    assert.ok(float64 >= layers * 0.8, `${float64} of ${layers} layers on the float64 path`);
  });

  it('states of 28..32 bits, whose products pass 2^53 (BigInt path)', async () => {
    let float64 = 0;
    await fc.assert(
      fc.asyncProperty(caseArb(true), async (k) => {
        float64 += (await checkCase(k)).float64;
      }),
      { numRuns: 6, seed: 20240602, endOnFailure: true },
    );
    assert.equal(float64, 0, 'every layer on the BigInt path');
  });
});

describe('the view of a recurrent layer', () => {
  it('holds the integers the C computes with: the C\'s tanh table, quantized kernels, aligned biases, shifts; the RTL refuses its 16-bit format by name (activation tables)', async () => {
    const ir = await loadModel(join(KERAS_FIXTURES, 'hls4ml_lstm/KERAS_lstm_model.json'));
    const q = lowerModel(ir, FIXED16);
    const op = q.ops.find((o): o is QRecurrent => o.kind === 'recurrent')!;
    const l = ir.layers.find((x) => x.type === 'lstm')!;
    assert.equal(op.layer, l.name);
    assert.deepEqual(Array.from(op.tanhTable), Array.from(tanhTable()));
    assert.equal(op.tanhTable.length, 513);
    assert.deepEqual({ T: op.timeSteps, F: op.features, u: op.units, gates: op.gates, act: op.activation, ract: op.recurrentActivation }, { T: 20, F: 6, u: 16, gates: ['i', 'f', 'c', 'o'], act: { kind: 'relu' }, ract: { kind: 'sigmoid' } });
    // fixed<16,6> everywhere: P = 10 + max(10, 10), no shifts; the blend frac max(fo, 2fo) = 20.
    assert.deepEqual({ P: op.productFrac, sx: op.sx, sh: op.sh, F: op.blendFrac, H: op.blendShiftH, Pb: op.blendShiftP }, { P: 20, sx: 0, sh: 0, F: 20, H: 10, Pb: 0 });
    assert.equal(op.kernel[5], Math.round(l.weights.kernel!.data[5] * 1024));
    assert.equal(op.bias[3], Math.round(l.weights.bias!.data[3] * 1024) * 1024);
    assert.throws(() => lowerModelForRtl(ir, FIXED16), (e: Error) => isDeepMakerError(e) && /16-bit output format needs 65536 words per function/.test(e.message) && e.message.includes(l.name));
  });
});
