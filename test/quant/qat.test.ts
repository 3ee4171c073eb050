import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fakeQuantize } from '../../src/numerics/fixed';
import { copyWeightsByName, trainArchitecture } from '../../src/nn/train';
import { buildModel } from '../../src/nn/build';
import { resolveQuantization } from '../../src/quant/config';
import { copyFoldedWeights, foldBatchNormArchitecture } from '../../src/quant/fold';
import { fineTuneQuantized, quantizationAwareTraining, quantizeInputs, type QatResult } from '../../src/quant/qat';
import { buildQuantizedModel } from '../../src/quant/model';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NumberKnobs } from '../../src/cgen';
import { importForConversion } from '../../src/cgen/convert';
import { saveModel } from '../../src/nn/save';
import { writeQuantizationFile } from '../../src/qmodel/file';
import { runQuantizedReference } from '../../src/quant/reference';
import { quadrants, tinyConv } from '../nn/fixtures';

const data = { train: quadrants(384, 1), validation: quadrants(128, 2), test: quadrants(256, 3) };

/**
 * What the C computes from what the train stage hands on (the exported model + quantization.json,
 * through the real importer and passes), against the quantization-aware model itself: the share of
 * test samples with identical logits and with the same class.
 */
async function exportedAgreesWithTraining(r: QatResult): Promise<{ identical: number; sameClass: number }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'dm-qat-')), 'model');
  await saveModel(r.exported, dir);
  writeQuantizationFile(dir, r.file);
  const { model: ir, quant } = await importForConversion(join(dir, 'model.json'));
  const q = quant!;
  const knobs: NumberKnobs = { mode: 'fixed', weights: { bits: 8, integer: 1 }, biases: { bits: 16, integer: 6 }, activations: q.activations, accumulatorBits: 0, rounding: q.rounding, overflow: q.overflow };
  const test = r.data.test;
  const ref = runQuantizedReference(ir, knobs, test.x, test.count);
  const logits = (r.model.predict(tf.tensor(test.x, [test.count, ...test.shape])) as tf.Tensor).arraySync() as number[][];
  let identical = 0, sameClass = 0;
  const w = ref.outputSize;
  for (let i = 0; i < test.count; i++) {
    const c = Array.from(ref.raw.subarray(i * w, (i + 1) * w), (v) => v * 2 ** -ref.fracs[0]);
    if (c.join() === logits[i].join()) identical++;
    if (c.indexOf(Math.max(...c)) === logits[i].indexOf(Math.max(...logits[i]))) sameClass++;
  }
  return { identical: identical / test.count, sameClass: sameClass / test.count };
}
const base = { batchSize: 32, learningRate: 0.01, optimizer: 'adam' as const, seed: 5, backend: 'wasm' as const };

describe('quantization-aware fine-tuning', () => {
  it('the twin starts from the float weights, also in layers with a ternary output (whose moving Δ is an extra weight)', () => {
    const plan = resolveQuantization({ mode: 'ternary', activations: { bits: 8, integer: 3 }, ternary: { activations: true } }, { rounding: 'half-even', overflow: 'saturate' });
    const float = buildModel(tinyConv, { seed: 1 });
    const twin = buildQuantizedModel(tinyConv, 2, plan);
    try {
      assert.equal(twin.getLayer('l0_conv2d').weights.length, 3, 'precondition: kernel, bias and ternary_delta');
      copyWeightsByName(float, twin);
      for (const l of float.layers) {
        const want = l.getWeights();
        if (!want.length) continue;
        const got = twin.getLayer(l.name).getWeights();
        want.forEach((w, i) => assert.deepEqual(Array.from(got[i].dataSync()), Array.from(w.dataSync()), `${l.name} weight ${i}`));
      }
      // The moving Δ keeps its own (zero) start.
      assert.ok(twin.getLayer('l0_conv2d').getWeights()[2].dataSync().every((v) => v === 0));
    } finally {
      float.dispose();
      twin.dispose();
    }
  });

  it('folding BatchNormalization into the layer before it keeps the float model\'s outputs', () => {
    const model = buildModel(tinyConv, { seed: 2 });
    const bn = model.getLayer('l2_depthwise_conv2d_bn');
    bn.setWeights([tf.tensor1d([1.5, -0.7, 0.9, 1.1]), tf.tensor1d([0.1, -0.2, 0.3, 0]), tf.tensor1d([0.05, -0.1, 0.2, 0.3]), tf.tensor1d([0.5, 2, 1, 0.25])]);
    const twin = foldBatchNormArchitecture(tinyConv);
    assert.deepEqual(twin.layers[2], { ...tinyConv.layers[2], batchnorm: false });
    const folded = buildModel(twin, { seed: 9 });
    copyFoldedWeights(tinyConv, model, folded);
    assert.deepEqual(folded.layers.map((l) => l.name).filter((n) => !n.endsWith('_bn') && !n.endsWith('_act')), folded.layers.map((l) => l.name));
    const x = tf.tensor(data.test.x.subarray(0, 64 * 20), [20, 8, 8, 1]);
    const a = (model.predict(x) as tf.Tensor).dataSync(), b = (folded.predict(x) as tf.Tensor).dataSync();
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `${a[i]} vs ${b[i]}`);
  });

  it('ternary: fine-tunes the float model, exports α·t kernels, per-channel thresholds and the report fields', async () => {
    const float = await trainArchitecture(tinyConv, data, { ...base, epochs: 6 });
    const plan = resolveQuantization({ mode: 'ternary', activations: { bits: 8, integer: 3 }, ternary: { activations: true }, fineTune: { epochs: 3 } }, { rounding: 'half-even', overflow: 'saturate' });
    const r = await quantizationAwareTraining({ arch: tinyConv, data, floatModel: float.model, plan, train: base, ebrBits: 122880 });
    const q = r.report.quantization;
    assert.equal(q.mode, 'ternary');
    assert.ok(q.float.testAccuracy > 0.9, `float accuracy ${q.float.testAccuracy}`);
    assert.ok(q.quantized.testAccuracy > 0.85, `ternary accuracy ${q.quantized.testAccuracy}`);
    // Exported kernels: per output filter, every non-zero weight is ±α.
    for (const name of ['l0_conv2d', 'l2_depthwise_conv2d', 'classifier']) {
      const k = r.exported.getLayer(name).getWeights()[0];
      const v = k.dataSync();
      const c = name === 'l2_depthwise_conv2d' ? k.shape[2]! : k.shape[k.rank - 1]!;
      for (let f = 0; f < c; f++) {
        const mags = new Set<number>();
        for (let i = f; i < v.length; i += c) if (v[i] !== 0) mags.add(Math.abs(v[i]));
        assert.ok(mags.size <= 1, `${name} filter ${f} holds ${[...mags]}`);
      }
      assert.equal(r.file.layers[name].weights, 'ternary');
    }
    // Ternary outputs at the two activations (the BN's Activation layer hosts the depthwise one); the logits stay fixed point.
    assert.equal(r.file.layers.l0_conv2d.output?.kind, 'ternary');
    assert.equal(r.file.layers.l2_depthwise_conv2d_act.output?.kind, 'ternary');
    assert.equal(r.file.layers.classifier.output?.kind, 'fixed');
    const th = r.file.layers.l0_conv2d.output as { thresholds: number[] };
    assert.equal(th.thresholds.length, 4);
    assert.ok(th.thresholds.every((t) => t > 0));
    // Sparsity and memory: zeros are counted, 2 bits per kernel weight plus scales and biases.
    assert.ok(r.report.sparsity.weights > 0.1 && r.report.sparsity.weights < 0.9, `weight sparsity ${r.report.sparsity.weights}`);
    assert.ok(r.report.sparsity.activations > 0 && r.report.sparsity.activations < 1);
    const m = r.report.weightMemory;
    assert.equal(m.kernels, 2 * (3 * 3 * 1 * 4 + 3 * 3 * 4 + 16 * 4));
    assert.equal(m.scales, 16 * (4 + 4 + 4));
    assert.equal(m.biases, 16 * (4 + 4 + 4));
    assert.equal(r.report.weightBits, m.kernels + m.scales + m.biases);
    assert.equal(m.fits, true);
    // The quantized model was trained on inputs quantized as the C quantizes them.
    assert.equal(r.data.train.x[5], fakeQuantize(data.train.x[5], { ...plan.activations!, overflow: 'saturate' }));
    // What convert and the C make of the exported model is the network that was trained.
    const agree = await exportedAgreesWithTraining(r);
    assert.ok(agree.identical >= 0.95, `identical logits on ${agree.identical * 100}% of the samples`);
    assert.ok(agree.sameClass >= 0.98, `same class on ${agree.sameClass * 100}% of the samples`);
  });

  it('quantize.fineTune.earlyStopping: false runs every fine-tuning epoch, { patience } stops on its own, absent inherits train\'s', async () => {
    const float = await trainArchitecture(tinyConv, data, { ...base, epochs: 2 });
    // At a rate of ~0 no epoch improves on the starting weights' validation loss: train's patience 1 stops after epoch 1.
    const plan = (earlyStopping?: { patience: number } | false) =>
      resolveQuantization({ mode: 'ternary', activations: { bits: 8, integer: 3 }, ternary: { activations: true }, fineTune: { epochs: 4, learningRate: 1e-30, ...(earlyStopping === undefined ? {} : { earlyStopping }) } }, { rounding: 'half-even', overflow: 'saturate' });
    const q = plan().activations!;
    const inputs = { train: quantizeInputs(data.train, q), validation: quantizeInputs(data.validation, q) };
    const epochsRun = async (p: ReturnType<typeof plan>) => {
      const r = await fineTuneQuantized({ arch: tinyConv, floatModel: float.model, plan: p, data: inputs, train: { ...base, earlyStopping: { patience: 1 } } });
      r.training.model.dispose();
      return r.training.history.length;
    };
    try {
      assert.equal(await epochsRun(plan()), 1, 'absent: train.earlyStopping (patience 1)');
      assert.equal(await epochsRun(plan(false)), 4, 'false: every epoch');
      assert.equal(await epochsRun(plan({ patience: 2 })), 2, 'its own patience');
    } finally {
      float.model.dispose();
    }
  });

  it('quantize.fineTune.weightsFirst: a phase of ternary weights with fixed-point activations, and the ternary phase starts from it', async () => {
    const float = await trainArchitecture(tinyConv, data, { ...base, epochs: 2 });
    const plan = (weightsFirst?: number) =>
      resolveQuantization({ mode: 'ternary', activations: { bits: 8, integer: 3 }, ternary: { activations: true }, fineTune: { epochs: 2, earlyStopping: false, ...(weightsFirst ? { weightsFirst } : {}) } }, { rounding: 'half-even', overflow: 'saturate' });
    const q = plan().activations!;
    const inputs = { train: quantizeInputs(data.train, q), validation: quantizeInputs(data.validation, q) };
    const lines: string[] = [];
    const log = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) } as never;
    try {
      const one = await fineTuneQuantized({ arch: tinyConv, floatModel: float.model, plan: plan(), data: inputs, train: base });
      const two = await fineTuneQuantized({ arch: tinyConv, floatModel: float.model, plan: plan(3), data: inputs, train: base, log });
      assert.equal(one.weightsFirst, undefined);
      assert.equal(two.weightsFirst?.epochs, 3);
      assert.equal(two.training.history.length, 2, 'then fineTune.epochs with ternary activations');
      assert.ok(lines.some((l) => /ternary weights first: 3 epochs with fixed<8,3> activations, then 2 with ternary activations too/.test(l)), lines.join('\n'));
      // The second phase is the ternary network (ternary outputs), and it did not start where the one-phase run did.
      assert.equal(two.training.model.getLayer('l0_conv2d').weights.length, 3, 'kernel, bias and ternary_delta');
      const k1 = one.training.model.getLayer('l0_conv2d').getWeights()[0].dataSync();
      const k2 = two.training.model.getLayer('l0_conv2d').getWeights()[0].dataSync();
      assert.ok(k1.some((v, i) => v !== k2[i]), 'the ternary phase started from the first phase, not from the float weights');
      one.training.model.dispose();
      two.training.model.dispose();
    } finally {
      float.model.dispose();
    }
  });

  it('fixed: 8-bit kernels on the grid, within a few points of float on an easy problem', async () => {
    const float = await trainArchitecture(tinyConv, data, { ...base, epochs: 6 });
    const plan = resolveQuantization({ mode: 'fixed', weights: { bits: 8, integer: 1 }, activations: { bits: 8, integer: 3 }, fineTune: { epochs: 2 } }, { rounding: 'half-even', overflow: 'saturate' });
    const r = await quantizationAwareTraining({ arch: tinyConv, data, floatModel: float.model, plan, train: base });
    // BatchNormalization was folded before fine-tuning, so the folded kernels are the ones on the grid.
    assert.equal(r.report.quantization.batchNormFolded, true);
    assert.ok(!r.exported.layers.some((l) => l.getClassName() === 'BatchNormalization'));
    for (const name of ['l0_conv2d', 'l2_depthwise_conv2d', 'classifier']) {
      const k = r.exported.getLayer(name).getWeights()[0].dataSync();
      assert.ok(Array.from(k).every((v) => Number.isInteger(v * 128)), `${name}: kernel values on the fixed<8,1> grid`);
    }
    assert.ok(r.report.quantization.quantized.testAccuracy >= r.report.quantization.float.testAccuracy - 0.05);
    assert.equal(r.report.weightMemory.kernelBits, 8);
    const agree = await exportedAgreesWithTraining(r);
    assert.ok(agree.identical >= 0.95, `identical logits on ${agree.identical * 100}% of the samples`);
    assert.ok(agree.sameClass >= 0.98, `same class on ${agree.sameClass * 100}% of the samples`);
    for (const m of [float.model, r.model, r.exported]) m.dispose();
  });

  it('fixed without weights.integer: each layer\'s integer bits fitted to its folded kernel, carried through quantization.json to the C', async () => {
    const float = await trainArchitecture(tinyConv, data, { ...base, epochs: 6 });
    const plan = resolveQuantization({ mode: 'fixed', weights: { bits: 8 }, activations: { bits: 8, integer: 3 }, fineTune: { epochs: 1 } }, { rounding: 'half-even', overflow: 'saturate' });
    assert.equal(plan.weightIntegerAuto, true);
    const r = await quantizationAwareTraining({ arch: tinyConv, data, floatModel: float.model, plan, train: base });
    const formats = r.report.quantization.layerWeights!;
    assert.deepEqual(Object.keys(formats).sort(), ['classifier', 'l0_conv2d', 'l2_depthwise_conv2d']);
    assert.equal(r.report.quantization.weights!.integer, 'per layer');
    for (const [name, f] of Object.entries(formats)) {
      assert.equal(f.bits, 8);
      assert.deepEqual(r.file.layers[name].weightFormat, f, `${name}: the file carries the format`);
      const k = Array.from(r.exported.getLayer(name).getWeights()[0].dataSync());
      const step = 2 ** (f.integer - 8);
      assert.ok(k.every((v) => Number.isInteger(v / step)), `${name}: kernel values on the fixed<8,${f.integer}> grid`);
      // Fitted: the largest value needs these integer bits, one fewer would not hold it.
      const max = Math.max(...k.map(Math.abs));
      assert.ok(max <= 2 ** (f.integer - 1), `${name}: ${max} fits fixed<8,${f.integer}>`);
      assert.ok(max > 2 ** (f.integer - 2) - 2 * step, `${name}: ${max} needs ${f.integer} integer bits`);
    }
    const agree = await exportedAgreesWithTraining(r);
    assert.ok(agree.identical >= 0.95, `identical logits on ${agree.identical * 100}% of the samples`);
    assert.ok(agree.sameClass >= 0.98, `same class on ${agree.sameClass * 100}% of the samples`);
    for (const m of [float.model, r.model, r.exported]) m.dispose();
  });
});
