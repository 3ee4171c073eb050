/**
 * Every supported layer and activation, in models written by TensorFlow.js itself: the float C
 * matches TF.js within 1e-4; the fixed-point C equals the fixed.ts oracle bit for bit under several
 * knob settings; both builds run clean under AddressSanitizer and UndefinedBehaviorSanitizer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rmSync } from 'node:fs';
import type * as tfTypes from '@tensorflow/tfjs';
import { loadModel, importModel } from '../../src/importers';
import type { NumberKnobs } from '../../src/qmodel/precision';
import type { ModelIR } from '../../src/ir/types';
import { referenceFor } from '../../src/verify/reference';
import { fixedInference, fixedLayerValues } from './fixed-reference';
import { resolveFormats } from '../../src/qmodel/precision';
import { fracBits } from '../../src/numerics/fixed';
import { runHarness } from '../../src/verify/run-c';
import { join } from 'node:path';
import { buildC, FIXED16, FLOAT, maxAbsDiff, runFloat, runRaw, tmp } from './helpers';
import * as models from './tfjs-models';

const SAMPLES = 12;

const KNOB_SETS: NumberKnobs[] = [
  FIXED16,
  { ...FIXED16, weights: { bits: 8, integer: 1 }, biases: { bits: 8, integer: 2 }, activations: { bits: 8, integer: 3 }, rounding: 'truncate', overflow: 'wrap' },
  { ...FIXED16, weights: { bits: 6, integer: 0 }, biases: { bits: 10, integer: 3 }, activations: { bits: 7, integer: 2 }, accumulatorBits: 12, rounding: 'half-even', overflow: 'wrap' },
  { ...FIXED16, weights: { bits: 12, integer: -1 }, biases: { bits: 5, integer: 5 }, activations: { bits: 10, integer: 11 }, rounding: 'truncate', overflow: 'saturate' },
];

for (const name of ['cnn', 'seq', 'multi'] as const) {
  describe(`TF.js ${name} model`, () => {
    let dir: string;
    let tfModel: tfTypes.LayersModel;
    let file: string;
    let ir: ModelIR;
    let x: Float32Array;
    before(async () => {
      tfModel = name === 'cnn' ? models.cnnModel() : name === 'seq' ? models.seqModel() : models.multiIoModel();
      dir = tmp(`tfjs-${name}`);
      file = await models.saveTfjsModel(tfModel, dir);
      ir = await loadModel(file);
      const size = tfModel.inputs.reduce((a, t) => a + (t.shape.slice(1) as number[]).reduce((p, q) => p * q, 1), 0);
      x = models.randomInputs(SAMPLES, size, 99);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('float C matches TF.js predict within 1e-4, and TF.js reloading the file agrees', async () => {
      const want = models.tfjsPredict(tfModel, x, SAMPLES);
      const b = await buildC(ir, FLOAT);
      const got = await runFloat(b, x, SAMPLES);
      assert.ok(maxAbsDiff(got, want) <= 1e-4, `max abs error ${maxAbsDiff(got, want)}`);
      const ref = await referenceFor(file, await importModel(file), { backend: 'cpu' });
      assert.match(ref.engine, /loadLayersModel/);
      assert.ok(maxAbsDiff(await ref.predict(x, SAMPLES), want) <= 1e-5);
      rmSync(b.dir, { recursive: true, force: true });
    });

    it('fixed-point C equals the fixed.ts oracle bit for bit, every layer, under every knob set', async () => {
      for (const knobs of KNOB_SETS) {
        const b = await buildC(ir, knobs);
        const got = await runRaw(b, x, SAMPLES);
        const size = b.gen.inputSize;
        const want: number[] = [];
        for (let s = 0; s < SAMPLES; s++) want.push(...fixedInference(ir, knobs, x.subarray(s * size, (s + 1) * size)));
        assert.deepEqual(got, want, `knobs ${JSON.stringify(knobs)}`);
        // Every layer, not only the outputs: the trace holds each layer's values, dequantized (exact in float32).
        const traced = await runHarness(b.exe, b.dir, x, 3, size, b.gen.outputSize, { tag: 'trace', weightsDir: join(b.dir, 'weights'), trace: true });
        const formats = resolveFormats(ir, knobs);
        const per = b.gen.trace.reduce((a, t) => a + t.size, 0);
        for (let s = 0; s < 3; s++) {
          const layers = fixedLayerValues(ir, knobs, x.subarray(s * size, (s + 1) * size));
          let off = s * per;
          for (const t of b.gen.trace) {
            const frac = fracBits(formats.get(t.name)!.output);
            const expect = layers.get(t.name)!.map((q) => Math.fround(q * 2 ** -frac));
            assert.deepEqual(Array.from(traced.trace!.subarray(off, off + t.size)), expect, `layer ${t.name}, sample ${s}, knobs ${JSON.stringify(knobs)}`);
            off += t.size;
          }
        }
        rmSync(b.dir, { recursive: true, force: true });
      }
    });

    it('runs clean under -fsanitize=address,undefined in float and fixed point', async () => {
      for (const knobs of [FLOAT, KNOB_SETS[2]]) {
        const b = await buildC(ir, knobs, { sanitize: true });
        const out = await runFloat(b, x, 4);
        assert.equal(out.length, 4 * b.gen.outputSize);
        assert.ok(out.every(Number.isFinite));
        rmSync(b.dir, { recursive: true, force: true });
      }
    });
  });
}
