/**
 * Every Keras fixture in test/fixtures/keras: the float C (weights in arrays, -O2, strict
 * flags) matches the golden vectors within 1e-4 where the authors stored them, and otherwise
 * TensorFlow.js on the same weights within 1e-4; float and fixed builds run clean under
 * -fsanitize=address,undefined. Keras JSON variants import to the same IR as the full .h5.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { readFileSync, rmSync } from 'node:fs';
import { importModel } from '../../src/importers';
import { normalize } from '../../src/ir/passes/normalize';
import { irToJson } from '../../src/ir/serialize';
import { referenceFor } from '../../src/verify/reference';
import { readVectors } from '../../src/verify/vectors';
import { argmaxRows } from '../../src/verify/metrics';
import { KERAS_FIXTURES } from '../fixtures/location';
import { buildC, FIXED16, FLOAT, maxAbsDiff, runFloat } from './helpers';
import { randomInputs } from './tfjs-models';

interface Case {
  model: string;
  inputs?: string;
  expected?: string;
  /** Same model as another file (JSON + weights vs full .h5): compare IRs instead of rebuilding. */
  sameAs?: string;
  labels?: number[];
  scale?: number;
}

const conv1d = ['causal_conv1d_k3_s1_d2_cl', 'causal_conv1d_k4_s2_d1_cl', 'conv1d_k2_s3_d1_cl_valid', 'conv1d_k3_s1_d1_cl_same', 'conv1d_k3_s2_d1_cl_same', 'conv1d_k4_s1_d2_cl_valid', 'conv1d_k4_s3_d1_cl_same'];
const units = ['conv1d_1layer', 'conv2d_1layer', 'elu', 'relu', 'sigmoid', 'softmax', 'tanh'];

const CASES: Case[] = [
  { model: 'dl4j_cnn_batchnorm/cnn_batch_norm.h5', inputs: 'dl4j_cnn_batchnorm/input.npy', expected: 'dl4j_cnn_batchnorm/predictions.npy' },
  ...conv1d.map((n) => ({ model: `dl4j_conv1d/${n}_model.h5`, inputs: `dl4j_conv1d/${n}_inputs_and_outputs.h5`, expected: `dl4j_conv1d/${n}_inputs_and_outputs.h5` })),
  ...conv1d.map((n) => ({ model: `dl4j_conv1d/${n}_config.json`, sameAs: `dl4j_conv1d/${n}_model.h5` })),
  { model: 'hls4ml_mnist_mlp/KERAS_mnist_mlp.json', inputs: 'hls4ml_mnist_mlp/KERAS_mnist_mlp_inputs.dat', expected: 'hls4ml_mnist_mlp/KERAS_mnist_mlp_outputs.dat' },
  ...units.map((n) => ({ model: `hls4ml_unit_layers/${n}/${n}.h5`, inputs: `hls4ml_unit_layers/${n}/tb_input_features.dat`, expected: `hls4ml_unit_layers/${n}/tb_output_predictions.dat` })),
  ...units.map((n) => ({ model: `hls4ml_unit_layers/${n}/${n}.json`, sameAs: `hls4ml_unit_layers/${n}/${n}.h5` })),
  { model: 'hls4ml_3layer_batchnorm/KERAS_3layer_batch_norm.json' },
  { model: 'hls4ml_conv1d_small/KERAS_conv1d_small.json' },
  { model: 'hls4ml_conv2d_model/KERAS_conv2d_model.json' },
  { model: 'hls4ml_keras_3layer/KERAS_3layer.json' },
  // LSTM (relu, sequence) + Flatten + Dense; its *_weights.h5 is a full model file too.
  { model: 'hls4ml_lstm/KERAS_lstm_model.json' },
  { model: 'hls4ml_lstm/KERAS_lstm_model_weights.h5', sameAs: 'hls4ml_lstm/KERAS_lstm_model.json' },
  // TinyMaix: no Keras outputs, only the digits a '2' and a '9' (bytes; the model takes pixel/255).
  { model: 'tinymaix_mnist_cnn/mnist_valid.h5', inputs: 'tinymaix_mnist_cnn/sample_digits_uint8.dat', labels: [2, 9], scale: 1 / 255 },
  { model: 'tinymaix_mnist_cnn/mnist_dw.h5', inputs: 'tinymaix_mnist_cnn/sample_digits_uint8.dat', labels: [2, 9], scale: 1 / 255 },
];

function sameIr(a: unknown, b: unknown): void {
  const strip = (j: any) => ({ ...j, name: undefined, source: undefined, layers: j.layers.map((l: any) => ({ ...l })) });
  assert.deepEqual(strip(a), strip(b));
}

describe('Keras fixtures', { concurrency: 2 }, () => {
  for (const c of CASES) {
    it(c.model, async () => {
      const file = join(KERAS_FIXTURES, c.model);
      const imported = await importModel(file);
      const ir = normalize(imported);
      if (c.sameAs) {
        const other = normalize(await importModel(join(KERAS_FIXTURES, c.sameAs)));
        sameIr(irToJson(ir), irToJson(other));
        // The weights themselves, not only their hashes in the JSON form:
        ir.layers.forEach((l, i) => assert.deepEqual(l.weights.kernel?.data, other.layers[i].weights.kernel?.data));
        return;
      }
      const arrays = await buildC(ir, FLOAT, { storage: 'arrays' });
      let x: Float32Array;
      let count: number;
      if (c.inputs) {
        const v = await readVectors(join(KERAS_FIXTURES, c.inputs), 'inputs');
        assert.equal(v.width, arrays.gen.inputSize);
        x = c.scale ? v.values.map((p) => p * c.scale!) : v.values;
        count = v.count;
      } else {
        count = 16;
        x = randomInputs(count, arrays.gen.inputSize, 5, -2, 2);
      }
      const got = await runFloat(arrays, x, count);
      if (c.expected) {
        const e = await readVectors(join(KERAS_FIXTURES, c.expected), 'expected');
        assert.equal(e.count, count);
        assert.ok(maxAbsDiff(got, e.values) <= 1e-4, `max abs error vs golden ${maxAbsDiff(got, e.values)}`);
      } else {
        const ref = await referenceFor(file, imported, { backend: 'cpu' });
        const want = await ref.predict(x, count);
        assert.ok(maxAbsDiff(got, want) <= 1e-4, `max abs error vs TF.js ${maxAbsDiff(got, want)}`);
      }
      if (c.labels) assert.deepEqual(Array.from(argmaxRows(got, count, arrays.gen.outputSize)), c.labels);
      rmSync(arrays.dir, { recursive: true, force: true });
      // Sanitizers: float and fixed point, weights through the file interface.
      for (const knobs of [FLOAT, FIXED16]) {
        const b = await buildC(ir, knobs, { sanitize: true });
        const out = await runFloat(b, x, count);
        assert.ok(out.every(Number.isFinite));
        if (knobs.mode === 'float') assert.ok(maxAbsDiff(out, got) <= 1e-6, 'the sanitized float build computes the same outputs');
        rmSync(b.dir, { recursive: true, force: true });
      }
    });
  }
});

describe('fixtures the converter rejects', () => {
  it('QKeras QDense: names the layer and says what to do', async () => {
    await assert.rejects(importModel(join(KERAS_FIXTURES, 'hls4ml_qkeras_3layer/qkeras_3layer.json')), /layer 'fc1' has type QDense, which is not supported[\s\S]*QKeras layers are not converted/);
  });
  it('reads the golden files it compares with as they are', () => {
    // Guard against a vacuous comparison: the golden outputs are not all equal.
    const t = readFileSync(join(KERAS_FIXTURES, 'hls4ml_mnist_mlp/KERAS_mnist_mlp_outputs.dat'), 'utf8').trim().split('\n');
    assert.equal(t.length, 3);
    assert.notEqual(t[0], t[1]);
  });
});
