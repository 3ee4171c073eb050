/**
 * Recurrent layers in train.architecture (lstm, gru, simple_rnn, global_avgpool1d/global_maxpool1d):
 * the plan agrees with the TF.js model built from it; shapes and options are checked with what to
 * do; and trained models go through the stages as a user runs them (spec -> data -> nas -> train ->
 * convert -> verify) on tiny sequence tasks: images read as rows (data.sequence: rows) and a CSV time
 * series (data.csv.window), in float and with post-training fixed point (convert.format: fixed).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { Architecture } from '../../src/nn/arch';
import { resolveQuantization } from '../../src/quant/config';
import { isQuantizedLayer } from '../../src/quant/layers';
import { buildQuantizedModel } from '../../src/quant/model';
import { buildModel } from '../../src/nn/build';
import { architectureCost } from '../../src/nn/cost';
import { runStage } from '../../src/stages/run';
import { silentLogger } from '../../src/util/log';
import { put } from '../data/helpers';
import { FAST_VERIFY, imageProject, runFlow } from './sequence-projects';

const seq = (layers: Architecture['layers'], input = [7, 5], classes = 3): Architecture => ({ input, classes, layers });

describe('recurrent layers in an architecture', () => {
  it('plans LSTM, GRU and SimpleRNN with the parameters and output shapes of the TF.js model', () => {
    const archs: Architecture[] = [
      seq([{ type: 'lstm', units: 6 }]),
      seq([{ type: 'gru', units: 4, returnSequences: true }, { type: 'global_avgpool1d' }]),
      seq([{ type: 'simple_rnn', units: 3, returnSequences: true, activation: 'relu' }, { type: 'lstm', units: 5, returnSequences: true, recurrentActivation: 'hard_sigmoid' }, { type: 'global_maxpool1d' }, { type: 'dense', units: 4, activation: 'relu' }]),
      seq([{ type: 'gru', units: 2, returnSequences: true }, { type: 'dense', units: 3 }]),
    ];
    for (const arch of archs) {
      const cost = architectureCost(arch);
      const model = buildModel(arch, { seed: 3 });
      try {
        assert.equal(cost.params, model.countParams(), JSON.stringify(arch.layers));
        for (const l of cost.layers) assert.deepEqual([null, ...l.outputShape], model.getLayer(l.name).outputShape, l.name);
      } finally {
        model.dispose();
      }
    }
    // gates × (features + units + 1) × units weights; timesteps × gates × units × (features + units) MACs.
    const lstm = architectureCost(archs[0]).layers[0];
    assert.deepEqual([lstm.type, lstm.params, lstm.weights, lstm.macs], ['LSTM', 4 * (5 * 6 + 6 * 6 + 6), 4 * (5 * 6 + 6 * 6 + 6), 7 * 4 * 6 * (5 + 6)]);
    const gru = architectureCost(archs[1]).layers[0];
    assert.deepEqual([gru.type, gru.params, gru.macs, gru.outputShape], ['GRU', 3 * (5 * 4 + 4 * 4 + 4), 7 * 3 * 4 * (5 + 4), [7, 4]]);
    assert.deepEqual(architectureCost(archs[3]).layers.map((l) => l.type), ['GRU', 'Flatten', 'Dense'], 'a dense after a sequence flattens it; it is the classifier');
  });

  it('builds the cells with Keras\'s options (sigmoid gates, unit forget bias, seeded initialisers)', () => {
    const arch = seq([{ type: 'lstm', units: 4, returnSequences: true }, { type: 'gru', units: 3, recurrentActivation: 'hard_sigmoid' }]);
    const a = buildModel(arch, { seed: 5 }), b = buildModel(arch, { seed: 5 });
    try {
      const lstm = a.getLayer('l0_lstm').getConfig() as Record<string, unknown>;
      assert.equal(lstm.recurrentActivation, 'sigmoid');
      assert.equal(lstm.activation, 'tanh');
      assert.equal(lstm.unitForgetBias, true);
      assert.equal(lstm.returnSequences, true);
      assert.equal((a.getLayer('l1_gru').getConfig() as Record<string, unknown>).recurrentActivation, 'hardSigmoid');
      // LSTM bias: forget gate (units 4..7) starts at 1.
      assert.deepEqual(Array.from(a.getLayer('l0_lstm').getWeights()[2].dataSync()), [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
      a.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), b.getWeights()[i].dataSync(), 'same seed, same weights'));
      // The recurrent kernel is orthogonal: U·Uᵀ = I for the [units, gates·units] matrix.
      const u = a.getLayer('l0_lstm').getWeights()[1].arraySync() as number[][];
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
        const dot = u[i].reduce((s, v, k) => s + v * u[j][k], 0);
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-5, `U·Uᵀ[${i}][${j}] = ${dot}`);
      }
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('a global_avgpool1d rounds its averages to the activations format in quantization-aware training, as the C does', () => {
    const arch = seq([{ type: 'global_avgpool1d' }], [5, 3]);
    const plan = resolveQuantization({ mode: 'fixed', activations: { bits: 8, integer: 4 } }, { rounding: 'half-even', overflow: 'saturate' });
    const model = buildQuantizedModel(arch, 1, plan);
    try {
      const pool = model.getLayer('l0_global_avgpool1d');
      assert.ok(isQuantizedLayer(pool), pool.getClassName());
      const probe = tf.model({ inputs: model.inputs, outputs: pool.output as tf.SymbolicTensor });
      // Step values 0.1, 0.2, 0.3, 0.4, 0.55 in every feature: mean 0.31, held as 5/16 with 4 fractional bits.
      const x = tf.tensor3d([[0.1, 0.2, 0.3, 0.4, 0.55].map((v) => [v, v, -v])]);
      assert.deepEqual(Array.from((probe.predict(x) as tf.Tensor).dataSync()), [5 / 16, 5 / 16, -5 / 16]);
      x.dispose();
    } finally {
      model.dispose();
    }
  });

  it('refuses what cannot be built, naming the layer and what to do', () => {
    const bad: [Architecture, RegExp][] = [
      [seq([{ type: 'lstm', units: 4 }], [6, 6, 1]), /architecture\.layers\[0\] \(lstm\): lstm l0_lstm needs a sequence input \[timesteps, features\], got \[6, 6, 1\][\s\S]*data\.sequence: rows/],
      [seq([{ type: 'lstm', units: 4 }, { type: 'gru', units: 3 }]), /layers\[1\] \(gru\): gru l1_gru needs a sequence input .* got \[4\][\s\S]*before any flatten\/dense/],
      [seq([{ type: 'gru', units: 4, resetAfter: true }]), /layers\[0\] \(gru\): gru with resetAfter: true cannot be trained here: TensorFlow\.js.* reset_after false only[\s\S]*remove resetAfter/],
      [seq([{ type: 'lstm', units: 4, resetAfter: false }]), /resetAfter is a gru option; lstm has none/],
      [seq([{ type: 'simple_rnn', units: 4, recurrentActivation: 'sigmoid' }]), /simple_rnn has no recurrentActivation/],
      [seq([{ type: 'lstm', units: 4, activation: 'softmax' as never }]), /activation = "softmax" is not an activation of a recurrent cell[\s\S]*hard_sigmoid/],
      [seq([{ type: 'lstm', units: 0 }]), /units = 0; need a positive integer/],
      [seq([{ type: 'lstm', units: 4 }, { type: 'global_avgpool1d' }]), /global_avgpool1d l1_global_avgpool1d pools a sequence .* got \[4\][\s\S]*returnSequences: true/],
    ];
    for (const [arch, re] of bad) assert.throws(() => architectureCost(arch), re);
  });
});

describe('recurrent models through train, convert and verify', () => {
  it('sequential images (data.sequence: rows): an LSTM pooled over its sequence trains, converts, and its float C equals TF.js', async () => {
    const dir = imageProject('    - { type: lstm, units: 8, returnSequences: true }\n    - { type: global_avgpool1d }\n    - { type: dense, units: 6, activation: tanh }\n', 'convert: { format: float }\n', 8);
    try {
      const { train, verify, layers } = await runFlow(dir);
      assert.ok(train.testAccuracy > 0.6, `test accuracy ${train.testAccuracy} after 8 epochs (chance 0.33) ${JSON.stringify(train.history.map((h: any) => [h.loss, h.validationAccuracy]))}`);
      assert.deepEqual(train.layers.map((l: { type: string }) => l.type), ['LSTM', 'GlobalAveragePooling1D', 'Dense', 'Dense']);
      const lstm = layers.find((l: { type: string }) => l.type === 'lstm');
      assert.ok(lstm, `the converter reads the trained LSTM back: ${layers.map((l: { type: string }) => l.type)}`);
      assert.deepEqual(lstm.inputShapes?.[0] ?? lstm.inputShape, [6, 4], 'the model input is [H, W·C]');
      assert.equal(verify.float.top1Agreement, 1);
      assert.ok(verify.float.maxAbsError <= 1e-5, `float C vs TF.js: ${verify.float.maxAbsError}`);
      assert.equal(verify.float.accuracy, verify.reference.accuracy);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a GRU (hard_sigmoid gates) and a SimpleRNN stacked: post-training fixed point (convert.format: fixed, 8-bit weights) keeps the float decisions', async () => {
    const dir = imageProject(
      '    - { type: simple_rnn, units: 6, returnSequences: true }\n    - { type: gru, units: 8, recurrentActivation: hard_sigmoid }\n',
      'convert:\n  format: fixed\n  precision: { weights: { bits: 8 }, biases: { bits: 16 }, activations: { bits: 16, integer: 5 } }\n',
    );
    try {
      const { train, verify } = await runFlow(dir);
      assert.ok(train.testAccuracy > 0.6, `test accuracy ${train.testAccuracy}`);
      assert.ok(verify.float.maxAbsError <= 1e-5, `float C vs TF.js: ${verify.float.maxAbsError}`);
      assert.equal(verify.fixed.knobs.weights.bits, 8);
      assert.ok(verify.fixed.top1Agreement >= 0.95, `fixed C vs the float network: top-1 agreement ${verify.fixed.top1Agreement}`);
      assert.ok(verify.fixed.accuracy >= train.testAccuracy - 0.05, `fixed accuracy ${verify.fixed.accuracy} vs float ${train.testAccuracy}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ternary quantization-aware training of a GRU (FaCT-LSTM covers lstm and simple_rnn) is refused before any training, saying what to do', async () => {
    const dir = imageProject('    - { type: gru, units: 4 }\n', 'quantize: { mode: ternary }\n');
    try {
      await runStage('spec', dir, dir, silentLogger);
      await runStage('data', dir, dir, silentLogger);
      await runStage('nas', dir, dir, silentLogger);
      const lines: string[] = [];
      const log = { info: (m: string) => void lines.push(m), warn: (m: string) => void lines.push(m) };
      await assert.rejects(runStage('train', dir, dir, log), (e: unknown) => {
        assert.match(String((e as Error).message), /quantize\.mode, train\.architecture\[0\] \(gru\): quantize\.mode ternary: train\.architecture\[0\] is a gru layer; ternary recurrent layers \(FaCT-LSTM\) are lstm and simple_rnn[\s\S]*quantize: \{ mode: fixed \}/);
        return true;
      });
      assert.equal(existsSync(join(dir, 'dist', 'train', 'model')), false);
      assert.deepEqual(lines.filter((l) => /epoch|training \d+ samples/.test(l)), [], 'no training ran');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a CSV time series (data.csv.window) reaches a recurrent model as [window, features]', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dm-rnn-csv-'));
    try {
      // Two features; the label of a row says whether feature a rose over the last 3 rows.
      const series = (n: number, seed: number) => {
        let s = seed;
        const a: number[] = [];
        const rows = ['a,b,label'];
        for (let r = 0; r < n; r++) {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          a.push(Math.sin(r / 3 + seed) * 5 + (s / 4294967296) * 0.5);
          rows.push(`${a[r].toFixed(3)},${((s >>> 8) % 100) / 10},${r >= 3 && a[r] > a[r - 3] ? 'up' : 'down'}`);
        }
        return rows.join('\n') + '\n';
      };
      put(dir, 'train.csv', series(400, 1));
      put(dir, 'test.csv', series(80, 2));
      writeFileSync(
        join(dir, 'deepmaker.yaml'),
        `name: ts\ndata:\n  dataset: csv\n  csv: { label: label, window: 5 }\n  normalize: standardize\n  train: { files: [train.csv] }\n  test: { files: [test.csv] }\nsearch: { enabled: false }\ntrain:\n  architecture:\n    - { type: simple_rnn, units: 6 }\n  epochs: 2\n  batchSize: 16\n  learningRate: 0.02\n  backend: wasm\nquantize: { mode: float }\nconvert: { format: float }\n${FAST_VERIFY}`,
      );
      const { train, verify, layers } = await runFlow(dir);
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'dist', 'data', 'report.json'), 'utf8')).shape, [5, 2]);
      assert.deepEqual(train.layers[0].type, 'SimpleRNN');
      const rnn = layers.find((l: { type: string }) => l.type === 'simple_rnn');
      assert.deepEqual(rnn.inputShapes?.[0] ?? rnn.inputShape, [5, 2]);
      assert.equal(verify.float.top1Agreement, 1);
      assert.ok(verify.float.maxAbsError <= 1e-5, `float C vs TF.js: ${verify.float.maxAbsError}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
