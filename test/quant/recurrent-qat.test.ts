/**
 * Fixed-point quantization-aware training of recurrent layers (src/quant/layers.ts QuantRecurrent):
 * the quantized twin computes the float cell when its formats are wide, and what the fixed-point C
 * computes (the TF.js integer reference is the C, bit for bit) when they are narrow; the trained
 * formats reach the C through quantization.json; and on a task where post-training quantization
 * of the float model loses accuracy at a narrow width, fine-tuning wins it back in the C.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { importForConversion } from '../../src/cgen/convert';
import type { Architecture } from '../../src/nn/arch';
import { buildModel } from '../../src/nn/build';
import { saveModel } from '../../src/nn/save';
import { copyWeightsByName } from '../../src/nn/train';
import { fakeQuantize } from '../../src/numerics/fixed';
import { writeQuantizationFile } from '../../src/qmodel/file';
import type { NumberKnobs } from '../../src/qmodel/precision';
import { resolveQuantization } from '../../src/quant/config';
import { isQuantizedLayer, QuantRecurrent } from '../../src/quant/layers';
import { buildQuantizedModel } from '../../src/quant/model';
import { exportStandardModel, quantizationFileOf } from '../../src/quant/qat';
import { runQuantizedReference } from '../../src/quant/reference';
import { imageProject, runFlow } from '../nn/sequence-projects';

const NUMERICS = { rounding: 'half-even', overflow: 'saturate' } as const;

const CELLS: [string, Architecture][] = [
  ['LSTM (return sequences) stacked on a GRU with hard_sigmoid gates', { input: [5, 3], classes: 3, layers: [{ type: 'lstm', units: 4, returnSequences: true }, { type: 'gru', units: 5, recurrentActivation: 'hard_sigmoid' }] }],
  ['SimpleRNN (relu) pooled over its sequence', { input: [5, 3], classes: 3, layers: [{ type: 'simple_rnn', units: 6, activation: 'relu', returnSequences: true }, { type: 'global_avgpool1d' }] }],
  ['GRU (tanh, sigmoid) on the last step', { input: [6, 2], classes: 4, layers: [{ type: 'gru', units: 4 }] }],
];

/** Seeded sequences in [-1, 1], quantized to `f` as the C's input layer does. */
function sequences(arch: Architecture, n: number, f: Parameters<typeof fakeQuantize>[1]): Float32Array {
  const x = tf.randomUniform([n, ...arch.input], -1, 1, 'float32', 11).dataSync() as Float32Array;
  return Float32Array.from(x, (v) => fakeQuantize(v, { ...f, overflow: 'saturate' }));
}

describe('quantization-aware training of recurrent layers (fixed point)', () => {
  for (const [what, arch] of CELLS) {
    it(`${what}: the twin is the float cell at wide formats, and the C's integers at narrow ones`, async () => {
      const float = buildModel(arch, { seed: 3 });
      // Wide: 16-bit weights (13 fractional bits), 24-bit activations (16), 32-bit biases (on the 29-bit gate grid).
      const wide = resolveQuantization({ mode: 'fixed', weights: { bits: 16, integer: 3 }, activations: { bits: 24, integer: 8 }, biasBits: 32 }, NUMERICS);
      const twin = buildQuantizedModel(arch, 3, wide);
      copyWeightsByName(float, twin);
      const recurrent = twin.layers.filter((l) => l instanceof QuantRecurrent);
      assert.equal(recurrent.length, arch.layers.filter((l) => ['lstm', 'gru', 'simple_rnn'].includes(l.type)).length, 'every recurrent layer has its quantized twin');
      assert.ok(recurrent.every(isQuantizedLayer));
      const n = 24;
      const xw = tf.tensor(sequences(arch, n, wide.activations!), [n, ...arch.input]);
      const a = (float.predict(xw) as tf.Tensor).dataSync(), b = (twin.predict(xw) as tf.Tensor).dataSync();
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      assert.ok(maxDiff < 1e-3, `wide formats: |float − twin| up to ${maxDiff}`);

      // Narrow: 6-bit weights, fixed<8,3> activations: train the twin briefly, export as the train stage does.
      const narrow = resolveQuantization({ mode: 'fixed', weights: { bits: 6, integer: 2 }, activations: { bits: 8, integer: 3 } }, NUMERICS);
      const q = buildQuantizedModel(arch, 3, narrow);
      copyWeightsByName(float, q);
      const m = 64;
      const x = sequences(arch, m, narrow.activations!);
      const xt = tf.tensor(x, [m, ...arch.input]);
      q.compile({ optimizer: tf.train.adam(0.01), loss: tf.losses.softmaxCrossEntropy });
      const labels = tf.oneHot(tf.tensor1d(Array.from({ length: m }, (_, i) => i % arch.classes), 'int32'), arch.classes);
      await q.fit(xt, labels, { epochs: 2, batchSize: 16, verbose: 0, shuffle: false });
      const exported = exportStandardModel(arch, 3, q);
      for (const l of q.layers.filter((l): l is QuantRecurrent => l instanceof QuantRecurrent)) {
        const [k, r, bias] = exported.getLayer(l.name).getWeights().map((w) => Array.from(w.dataSync()));
        assert.ok([...k, ...r].every((v) => Number.isInteger(v * 16) && Math.abs(v) <= 2), `${l.name}: kernel and recurrent kernel on the fixed<6,2> grid`);
        // Biases on the gate sums' grid: frac 4 (weights) + 5 (activations), 16 bits wide.
        assert.ok(bias.every((v) => Number.isInteger(v * 2 ** 9)), `${l.name}: biases on the 2^-9 grid`);
      }
      const dir = join(mkdtempSync(join(tmpdir(), 'dm-rnn-qat-')), 'model');
      try {
        await saveModel(exported, dir);
        const file = quantizationFileOf(q, narrow);
        writeQuantizationFile(dir, file);
        const { model: ir, quant } = await importForConversion(join(dir, 'model.json'));
        for (const l of ir.layers.filter((l) => ['lstm', 'gru', 'simple_rnn'].includes(l.type))) {
          assert.deepEqual(file.layers[l.name], { weights: 'fixed', output: { kind: 'fixed' } });
          const p = l.precision!;
          assert.deepEqual([p.weights?.bits, p.weights?.integer, p.output?.bits, p.output?.integer, p.biases?.bits, p.biases?.integer], [6, 2, 8, 3, 16, 7], `${l.name}: the trained formats in the IR`);
        }
        // The C's numbers (the integer reference is bit-exact with it) against the twin's, on the same inputs.
        const knobs: NumberKnobs = { mode: 'fixed', weights: quant!.weights!, biases: { bits: 16, integer: 6 }, activations: quant!.activations, accumulatorBits: 0, rounding: quant!.rounding, overflow: quant!.overflow };
        const ref = runQuantizedReference(ir, knobs, x, m);
        const logits = (q.predict(xt) as tf.Tensor).arraySync() as number[][];
        let identical = 0, sameClass = 0, worst = 0;
        const w = ref.outputSize;
        for (let i = 0; i < m; i++) {
          const c = Array.from(ref.raw.subarray(i * w, (i + 1) * w), (v) => v * 2 ** -ref.fracs[0]);
          if (c.join() === logits[i].join()) identical++;
          if (c.indexOf(Math.max(...c)) === logits[i].indexOf(Math.max(...logits[i]))) sameClass++;
          for (let j = 0; j < w; j++) worst = Math.max(worst, Math.abs(c[j] - logits[i][j]));
        }
        // The twin's tanh and sigmoid are the float functions, the C's a table within a rounding of
        // them: logits agree closely, mostly to the integer.
        assert.ok(identical >= 0.9 * m, `identical logits on ${identical} of ${m} sequences (max difference ${worst})`);
        assert.ok(sameClass >= 0.95 * m, `same class on ${sameClass} of ${m} sequences`);
      } finally {
        rmSync(join(dir, '..'), { recursive: true, force: true });
        tf.dispose([xw, xt, labels]);
        for (const model of [float, twin, q, exported]) model.dispose();
      }
    });
  }
});

describe('recurrent quantization-aware training through train, convert and verify', () => {
  it('an LSTM at 4-bit weights and fixed<4,2> states: QAT\'s fixed-point C keeps the accuracy post-training quantization loses', async () => {
    // Six classes: which row of the 6×4 image is bright, so the cell must count the steps in its state.
    const arch = '    - { type: lstm, units: 8 }\n';
    const task = { classes: 6, test: 200 };
    const verify = 'verify: { samples: 200, sweep: [], sanitizeSamples: 0, traceSamples: 10, searchSamples: 60 }\n';
    const qat = imageProject(arch, `quantize: { mode: fixed, weights: { bits: 4 }, activations: { bits: 4, integer: 2 }, fineTune: { epochs: 3, learningRate: 0.01 } }\n${verify}`, 6, task);
    const ptq = imageProject(arch, `quantize: { mode: float }\nconvert: { format: fixed, precision: { weights: { bits: 4 }, activations: { bits: 4, integer: 2 } } }\n${verify}`, 6, task);
    try {
      const q = await runFlow(qat);
      const p = await runFlow(ptq);
      // The same float network (same data, seed and epochs) is the start of both.
      assert.equal(q.train.quantization.float.testAccuracy, p.train.testAccuracy);
      const floatAccuracy = p.train.testAccuracy;
      // quantization.json carries the LSTM's formats; convert puts them on the layer; verify checks the C integer for integer.
      const file = JSON.parse(readFileSync(join(qat, 'dist', 'train', 'model', 'quantization.json'), 'utf8'));
      const lstmFormat = q.train.quantization.layerWeights.l0_lstm;
      assert.equal(lstmFormat.bits, 4);
      assert.deepEqual(file.layers.l0_lstm, { weights: 'fixed', weightFormat: lstmFormat, output: { kind: 'fixed' } });
      assert.deepEqual(file.activations, { bits: 4, integer: 2 });
      const lstm = q.layers.find((l: { type: string }) => l.type === 'lstm');
      assert.deepEqual([lstm.precision.weights.bits, lstm.precision.weights.integer, lstm.precision.output.bits, lstm.precision.output.integer], [4, lstmFormat.integer, 4, 2]);
      assert.equal(q.verify.quantizedReference.identical, true);
      assert.equal(q.verify.quantizedReference.samples, 200);
      assert.equal(p.verify.quantizedReference.identical, true);
      // The quantized twin's test accuracy is the C's (the same 200 test sequences).
      assert.equal(q.verify.fixed.accuracy, q.train.testAccuracy);
      // Post-training quantization visibly degrades at this width; QAT's C stays close to float.
      assert.ok(floatAccuracy >= 0.95, `float ${floatAccuracy}`);
      assert.ok(p.verify.fixed.accuracy <= floatAccuracy - 0.15, `PTQ C ${p.verify.fixed.accuracy} vs float ${floatAccuracy}`);
      assert.ok(q.verify.fixed.accuracy >= p.verify.fixed.accuracy + 0.15, `QAT C ${q.verify.fixed.accuracy} vs PTQ C ${p.verify.fixed.accuracy}`);
      assert.ok(q.verify.fixed.accuracy >= floatAccuracy - 0.05, `QAT C ${q.verify.fixed.accuracy} vs float ${floatAccuracy}`);
    } finally {
      rmSync(qat, { recursive: true, force: true });
      rmSync(ptq, { recursive: true, force: true });
    }
  });

  it('a SimpleRNN stacked on a GRU (hard_sigmoid gates), default quantize formats: the C is the trained network', async () => {
    const dir = imageProject('    - { type: simple_rnn, units: 6, returnSequences: true }\n    - { type: gru, units: 8, recurrentActivation: hard_sigmoid }\n', 'quantize: { mode: fixed }\n');
    try {
      const { train, verify, layers } = await runFlow(dir);
      assert.equal(train.quantization.mode, 'fixed');
      assert.deepEqual(Object.keys(train.quantization.layerWeights).sort(), ['classifier', 'l0_simple_rnn', 'l1_gru']);
      // Input [6 steps, 4 features]: 8-bit kernels and recurrent kernels, 16-bit biases per gate column.
      assert.equal(train.weightMemory.kernels, 8 * (4 * 6 + 6 * 6 + 6 * 24 + 8 * 24 + 8 * 3));
      assert.equal(train.weightMemory.biases, 16 * (6 + 24 + 3));
      for (const name of ['l0_simple_rnn', 'l1_gru']) {
        const l = layers.find((x: { name: string }) => x.name === name);
        assert.equal(l.precision.weights.bits, 8, `${name}: 8-bit weights`);
        assert.deepEqual([l.precision.output.bits, l.precision.output.integer], [8, 4], `${name}: states in the activations format`);
      }
      assert.equal(verify.quantizedReference.identical, true);
      assert.equal(verify.fixed.accuracy, train.testAccuracy, 'the C decides as the quantized twin did');
      assert.ok(verify.fixed.accuracy >= train.quantization.float.testAccuracy - 0.05, `fixed ${verify.fixed.accuracy} vs float ${train.quantization.float.testAccuracy}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
