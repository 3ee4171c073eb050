import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { Split } from '../../src/data/tensors';
import { recomputeBatchNormStatistics } from '../../src/nn/batchnorm-statistics';
import { buildModel } from '../../src/nn/build';
import { evaluate, evenlySpaced, trainArchitecture } from '../../src/nn/train';
import { denseNetLike, quadrants, tinyConv } from './fixtures';

function randomSplit(count: number, shape: number[], seed: number): Split {
  let s = seed;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const per = shape.reduce((a, b) => a * b, 1);
  return { x: Float32Array.from({ length: count * per }, rand), y: Int32Array.from({ length: count }, () => Math.floor(rand() * 4)), count, shape };
}

const bnLayers = (m: tf.LayersModel) => m.layers.filter((l) => l.getClassName() === 'BatchNormalization');

/** Mean and variance per channel of a BN layer's input over `rows` of `split`, straight from the model as it is now. */
function inputMoments(m: tf.LayersModel, layer: tf.layers.Layer, split: Split, rows: ArrayLike<number>): { mean: number[]; variance: number[] } {
  const per = split.shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(rows.length * per);
  for (let i = 0; i < rows.length; i++) x.set(split.x.subarray(rows[i] * per, (rows[i] + 1) * per), i * per);
  return tf.tidy(() => {
    const a = tf.model({ inputs: m.inputs, outputs: layer.input as tf.SymbolicTensor }).predict(tf.tensor(x, [rows.length, ...split.shape])) as tf.Tensor;
    const { mean, variance } = tf.moments(a, [0, 1, 2]);
    return { mean: Array.from(mean.dataSync()), variance: Array.from(variance.dataSync()) };
  });
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string) {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= 1e-4 * (1 + Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

test('every BatchNormalization layer gets the mean and variance of its input, its predecessors already updated (DenseNet blocks, concatenations)', () => {
  const split = randomSplit(300, [16, 16, 1], 3);
  const model = buildModel(denseNetLike, { seed: 4 });
  const layers = bnLayers(model);
  assert.ok(layers.length >= 5, `the fixture has BN layers inside dense blocks (${layers.length})`);
  // Statistics nowhere near the data's, as after a short training at a high rate.
  for (const l of layers) {
    const w = l.getWeights();
    const c = w[w.length - 1].shape[0];
    l.setWeights([...w.slice(0, -2), tf.fill([c], 5), tf.fill([c], 0.01)]);
  }
  const rows = Int32Array.from({ length: 150 }, (_, i) => 2 * i + 1);
  const updated = recomputeBatchNormStatistics(model, split, rows, 2048, 64);
  assert.equal(updated, layers.length);
  for (const l of layers) {
    const w = l.getWeights();
    const expected = inputMoments(model, l, split, rows);
    assertClose(w[w.length - 2].dataSync(), expected.mean, `${l.name} moving mean`);
    assertClose(w[w.length - 1].dataSync(), expected.variance, `${l.name} moving variance`);
    assert.ok(Array.from(w[w.length - 2].dataSync()).some((v) => Math.abs(v - 5) > 0.1), `${l.name} changed`);
  }
  model.dispose();
});

test('only the first `samples` rows count, and a model without BatchNormalization is left alone', () => {
  const split = randomSplit(64, [16, 16, 1], 9);
  const model = buildModel(denseNetLike, { seed: 4 });
  const rows = Int32Array.from({ length: 64 }, (_, i) => 63 - i);
  recomputeBatchNormStatistics(model, split, rows, 20, 8);
  const first = bnLayers(model)[0];
  const w = first.getWeights();
  assertClose(w[w.length - 2].dataSync(), inputMoments(model, first, split, rows.subarray(0, 20)).mean, 'mean over the first 20 rows');
  model.dispose();
  const plain = buildModel({ input: [8, 8, 1], classes: 4, layers: [{ type: 'conv2d', filters: 2, kernel: 3 }, { type: 'flatten' }] }, { seed: 1 });
  const before = plain.getWeights().map((t) => Array.from(t.dataSync()));
  assert.equal(recomputeBatchNormStatistics(plain, quadrants(16, 1), Int32Array.from([0, 1, 2])), 0);
  assert.deepEqual(plain.getWeights().map((t) => Array.from(t.dataSync())), before);
  plain.dispose();
});

test('evenlySpaced: every row when there are fewer, else an even spread in order', () => {
  const rows = Int32Array.from({ length: 10 }, (_, i) => 100 + i);
  assert.deepEqual(Array.from(evenlySpaced(rows, 20)), Array.from(rows));
  assert.deepEqual(Array.from(evenlySpaced(rows, 4)), [100, 102, 105, 107]);
});

test('training with precise statistics: the same kernels as with moving averages, statistics of the final weights, validation measured with them', async () => {
  const data = { train: quadrants(256, 1), validation: quadrants(128, 2) };
  const base = { epochs: 2, batchSize: 32, learningRate: 0.05, optimizer: 'adam' as const, seed: 3, backend: 'wasm' as const };
  const moving = await trainArchitecture(tinyConv, data, base);
  const precise = await trainArchitecture(tinyConv, data, { ...base, batchNormStatistics: 'precise' });
  const [mb, pb] = [bnLayers(moving.model)[0], bnLayers(precise.model)[0]];
  // Trainable weights: BN statistics play no part in a training step, so the trajectories agree bit for bit.
  const trainable = (m: tf.LayersModel) => m.trainableWeights.map((v) => Array.from(v.read().dataSync()));
  assert.deepEqual(trainable(precise.model), trainable(moving.model));
  const pw = pb.getWeights();
  const expected = inputMoments(precise.model, pb, data.train, Int32Array.from({ length: 256 }, (_, i) => i));
  assertClose(pw[pw.length - 2].dataSync(), expected.mean, 'precise moving mean');
  assertClose(pw[pw.length - 1].dataSync(), expected.variance, 'precise moving variance');
  const mw = mb.getWeights();
  assert.notDeepEqual(Array.from(mw[mw.length - 2].dataSync()), Array.from(pw[pw.length - 2].dataSync()), 'the moving averages differ from the exact statistics');
  assert.equal(precise.validationAccuracy, evaluate(precise.model, data.validation).accuracy);
  moving.model.dispose();
  precise.model.dispose();
});
