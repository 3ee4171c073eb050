/**
 * The one quantized-model view (src/qmodel/lower.ts) and its consumers: the TF.js integer reference
 * computes on it and equals the C integer for integer on every layer type the C and the reference
 * share; the RTL interpreter computes on the very same view and agrees with the TF.js reference; the
 * RTL refuses, by layer, what the view describes but the hardware does not compute; the C's format
 * macros default to the formats the view uses.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { generateC } from '../../src/cgen';
import { loadModel } from '../../src/importers';
import { assignLoopNestIds } from '../../src/ir/assignLoopNestIds';
import type { ModelIR } from '../../src/ir/types';
import { selectBackend } from '../../src/nn/backend';
import { lowerModel, type QMac } from '../../src/qmodel/lower';
import type { NumberKnobs } from '../../src/qmodel/precision';
import { runQuantizedModel, runQuantizedReference } from '../../src/quant/reference';
import { lowerModelForRtl } from '../../src/rtl/lower';
import { runReference } from '../../src/sim/reference';
import { buildC, FIXED16, runRaw, tmp } from '../cgen/helpers';
import * as models from '../cgen/tfjs-models';
import { knobs as rtlKnobs, ModelBuilder, smallCnn } from '../rtl/helpers';

const KNOB_SETS: NumberKnobs[] = [
  FIXED16,
  { ...FIXED16, weights: { bits: 8, integer: 1 }, biases: { bits: 8, integer: 2 }, activations: { bits: 8, integer: 3 }, rounding: 'truncate', overflow: 'wrap' },
  { ...FIXED16, weights: { bits: 6, integer: 0 }, biases: { bits: 10, integer: 3 }, activations: { bits: 7, integer: 2 }, accumulatorBits: 12, rounding: 'half-even', overflow: 'wrap' },
];
const SAMPLES = 16;

before(async () => {
  await selectBackend('cpu');
});

describe('the TF.js integer reference on the quantized-model view equals the C', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  // cnn: dilated conv, depthwise x2, separable, zero padding, add, leaky/tanh/elu/thresholded/hard-sigmoid/sigmoid,
  // max/avg pools (same and valid), global pools, concatenation; seq: conv1d (dilated, strided), 1-D pools, dense
  // over time steps, reshape, a softmax layer on the output; multi: two inputs, two outputs, concatenation.
  for (const name of ['cnn', 'seq', 'multi'] as const) {
    it(`TF.js ${name} model: identical stored integers under ${KNOB_SETS.length} knob sets`, async () => {
      const tfModel = name === 'cnn' ? models.cnnModel() : name === 'seq' ? models.seqModel() : models.multiIoModel();
      const dir = tmp(`qview-${name}`);
      dirs.push(dir);
      const ir = await loadModel(await models.saveTfjsModel(tfModel, dir));
      const size = tfModel.inputs.reduce((a, t) => a + (t.shape.slice(1) as number[]).reduce((p, q) => p * q, 1), 0);
      const x = models.randomInputs(SAMPLES, size, 5, -3, 3);
      for (const knobs of KNOB_SETS) {
        const ref = runQuantizedReference(ir, knobs, x, SAMPLES, { batch: 5 });
        const b = await buildC(ir, knobs);
        dirs.push(b.dir);
        assert.deepEqual(Array.from(ref.raw), await runRaw(b, x, SAMPLES), `knobs ${JSON.stringify(knobs)}`);
        assert.ok(ref.raw.some((v) => v !== 0));
      }
    });
  }
});

describe('one view, two interpreters: the TF.js reference and the RTL oracle (src/sim/reference.ts) read the same integers', () => {
  const cases: [string, () => ModelIR, NumberKnobs][] = [
    ['small CNN (same padding, relu, relu6, max pool, dense)', () => smallCnn('v'), rtlKnobs(8, 3)],
    ['small CNN, truncating and wrapping, 12-bit accumulators', () => smallCnn('w'), rtlKnobs(6, 2, 'truncate', 'wrap', 12)],
    [
      'ternary weights and outputs, depthwise, average pools',
      () =>
        new ModelBuilder('t', [7, 7, 2], 4)
          .conv2d('c1', 4, 3, { ternary: true, ternaryOut: true, padding: 'same' })
          .depthwise('dw', 3, { multiplier: 2, padding: 'same', stride: 2 })
          .pool('ap', 'avgpool2d', 2, { padding: 'same' })
          .globalPool('g', 'global_avgpool2d')
          .dense('d', 3, { ternary: true })
          .build(),
      rtlKnobs(8, 3),
    ],
  ];
  for (const [what, build, knobs] of cases) {
    it(what, () => {
      const q = lowerModelForRtl(build(), knobs);
      const n = 12;
      const size = q.inputs[0].size;
      const { bits, integer } = q.inputs[0].format;
      // Inputs already on the input grid (and in its range), so both start from the same integers.
      const ints = Int32Array.from({ length: n * size }, (_, i) => ((i * 7919) % 2 ** bits) - 2 ** (bits - 1));
      const frac = bits - integer;
      const x = Float32Array.from(ints, (v) => v * 2 ** -frac);
      const tfjs = runQuantizedModel(q, x, n, { batch: 4 });
      for (let s = 0; s < n; s++) {
        const oracle = runReference(q, ints.subarray(s * size, (s + 1) * size));
        assert.deepEqual(Array.from(tfjs.raw.subarray(s * tfjs.outputSize, (s + 1) * tfjs.outputSize)), Array.from(oracle.output), `sample ${s}`);
      }
      // The reference takes its integers from the view: change one weight there and its output moves.
      const mac = q.ops.find((o): o is QMac => o.kind === 'mac' && !o.ternaryScale)!;
      mac.weights[0] += 2 ** (mac.weightFormat.bits - 2);
      const moved = runQuantizedModel(q, x, n);
      assert.notDeepEqual(Array.from(moved.raw), Array.from(tfjs.raw));
    });
  }
});

describe('the view describes what the C computes; the RTL refuses the rest by layer', () => {
  it('a dilated convolution and functions of the real value: lowered for the reference, refused for the RTL', async () => {
    const dir = tmp('qview-rtl');
    try {
      const ir = await loadModel(await models.saveTfjsModel(models.cnnModel(), dir));
      const q = lowerModel(ir, FIXED16);
      const dilated = q.ops.find((o): o is QMac => o.layer === 'c3_dilated')!;
      assert.deepEqual(dilated.dilation, [2, 2]);
      assert.equal(q.ops.find((o) => o.layer === 'dw')!.act.function?.kind, 'tanh');
      assert.throws(() => lowerModelForRtl(ir, FIXED16), (e: Error) => e.name === 'DeepMakerError' && /layer 'c3_dilated' \(conv2d\): dilation \[2,2\] is not supported in RTL[\s\S]*use dilation 1/.test(e.message));
      const multi = await loadModel(await models.saveTfjsModel(models.multiIoModel(), dir));
      assert.equal(lowerModel(multi, FIXED16).inputs.length, 2);
      assert.throws(() => lowerModelForRtl(multi, FIXED16), /the RTL core takes one input tensor, the model has 2/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a layer type neither computes is an error naming the layer', () => {
    // (Every IR layer type has an integer model now; an IR from elsewhere may name another.)
    const b = new ModelBuilder('l', [4, 3], 1);
    b.add({ name: 'up', type: 'upsampling1d' as never, outputShape: [8, 3] });
    assert.throws(() => lowerModel(b.build(), rtlKnobs(8, 3)), (e: Error) => e.name === 'DeepMakerError' && /layer 'up' \(upsampling1d\): layer type 'upsampling1d' has no fixed-point integer model[\s\S]*supported: dense.*lstm, gru, simple_rnn/.test(e.message));
  });

  it('a recurrent layer: lowered for the reference and the RTL; a format too wide for its activation tables refused by name', () => {
    const b = new ModelBuilder('l', [4, 3], 1);
    const data = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i % 7) - 3) / 8);
    b.add({
      name: 'rnn', type: 'simple_rnn', outputShape: [2], units: 2,
      recurrent: { cell: 'simple_rnn', activation: { kind: 'tanh' }, recurrentActivation: { kind: 'linear' }, returnSequences: false, goBackwards: false },
      weights: { kernel: { shape: [3, 2], data: data(6) }, recurrentKernel: { shape: [2, 2], data: data(4) }, bias: { shape: [2], data: data(2) } },
    } as never);
    const ir = b.build();
    assert.deepEqual(lowerModel(ir, rtlKnobs(8, 3)).ops.map((o) => o.kind), ['recurrent']);
    assert.deepEqual(lowerModelForRtl(ir, rtlKnobs(8, 3)).ops.map((o) => o.kind), ['recurrent']);
    assert.throws(() => lowerModelForRtl(ir, rtlKnobs(12, 3)), (e: Error) => e.name === 'DeepMakerError' && /layer 'rnn' \(simple_rnn\): a recurrent layer's activations are ROM tables[\s\S]*12-bit output format needs 4096 words[\s\S]*at most 10 bits/.test(e.message));
  });
});

it("model.h's per-layer format macros default to the formats the view computes with", () => {
  const ir = assignLoopNestIds(smallCnn('macros'));
  const own = { rounding: 'half-even' as const, overflow: 'saturate' as const };
  const c2 = ir.layers.find((l) => l.name === 'c2')!;
  c2.precision = { weights: { bits: 5, integer: 1, ...own }, biases: { bits: 12, integer: 4, ...own }, output: { bits: 9, integer: 4, ...own } };
  const knobs = rtlKnobs(8, 3);
  const h = generateC(ir, { knobs, weightStorage: 'arrays' }).files['model.h'];
  const classes: Record<string, number> = {
    DM_W_BITS: knobs.weights.bits, DM_W_INT: knobs.weights.integer, DM_B_BITS: knobs.biases.bits, DM_B_INT: knobs.biases.integer, DM_A_BITS: knobs.activations.bits, DM_A_INT: knobs.activations.integer,
  };
  const macro = (name: string): number => {
    const m = new RegExp(`#ifndef ${name}\\n#define ${name} (\\S+)\\n`).exec(h);
    assert.ok(m, `model.h defines ${name}`);
    return /^-?\d+$/.test(m[1]) ? Number(m[1]) : classes[m[1]];
  };
  const q = lowerModel(ir, knobs);
  let checked = 0;
  for (const [, prefix, layer] of h.matchAll(/\/\* (L\d+): \w+ '([^']+)' \*\//g)) {
    const op = q.ops.find((o) => o.layer === layer);
    if (!op) continue;
    assert.deepEqual([macro(`${prefix}_O_BITS`), macro(`${prefix}_O_INT`)], [op.outFormat.bits, op.outFormat.integer], `${layer} output`);
    if (op.kind === 'mac') {
      assert.deepEqual([macro(`${prefix}_W_BITS`), macro(`${prefix}_W_INT`)], [op.weightFormat.bits, op.weightFormat.integer], `${layer} weights`);
      checked++;
    }
  }
  assert.equal(checked, 3);
  assert.deepEqual(q.ops.find((o): o is QMac => o.layer === 'c2')!.weightFormat.bits, 5);
});
