import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { trainArchitecture, evaluate, scheduledLearningRate, type TrainOptions } from '../../src/nn/train';
import { join } from 'node:path';
import { buildModel } from '../../src/nn/build';
import { quadrants, tinyConv } from './fixtures';

const data = { train: quadrants(320, 1), validation: quadrants(128, 2) };
const base: TrainOptions = { epochs: 3, batchSize: 32, learningRate: 0.01, optimizer: 'adam', seed: 7, backend: 'wasm' };

async function weightsAfter(opts: Partial<TrainOptions>) {
  const r = await trainArchitecture(tinyConv, data, { ...base, ...opts });
  const w = r.model.getWeights().map((t) => Array.from(t.dataSync()));
  r.model.dispose();
  return { r, w };
}

test('training is deterministic for a seed (conv, depthwise, batchnorm, dropout on wasm)', async () => {
  const a = await weightsAfter({});
  const b = await weightsAfter({});
  const c = await weightsAfter({ seed: 8 });
  assert.equal(a.r.backend, 'wasm');
  assert.deepEqual(a.w, b.w, 'same seed, same weights');
  assert.deepEqual(a.r.history, b.r.history.map((h, i) => ({ ...h, imagesPerSecond: a.r.history[i].imagesPerSecond, seconds: a.r.history[i].seconds })));
  assert.notDeepEqual(a.w, c.w, 'another seed, other weights');
  assert.ok(a.r.validationAccuracy > 0.8, `learns the quadrant problem (validation accuracy ${a.r.validationAccuracy})`);
  assert.equal(a.r.params, a.r.model.countParams());
});

test('two training threads: deterministic, and the same optimisation as one thread', async () => {
  const one = await weightsAfter({});
  const two = await weightsAfter({ workers: 2 });
  const again = await weightsAfter({ workers: 2 });
  assert.equal(two.r.workers, 2);
  assert.deepEqual(two.w, again.w);
  // BatchNorm statistics are per share and the summation order differs: close, not equal.
  assert.ok(Math.abs(two.r.history[0].loss - one.r.history[0].loss) < 0.05, `${two.r.history[0].loss} vs ${one.r.history[0].loss}`);
  assert.ok(two.r.validationAccuracy > 0.8, `validation accuracy ${two.r.validationAccuracy}`);
});

test('a model factory module builds the model on every thread; initFrom starts from given weights', async () => {
  const viaFactory = await weightsAfter({ epochs: 1, workers: 2, modelFactory: { module: join(__dirname, 'factory-fixture'), exportName: 'buildWithSeedOffset', options: { offset: 1 } } });
  const direct = await weightsAfter({ epochs: 1, workers: 2, seed: 8 });
  // Same initial weights (seed 7 + 1 = 8), but the batch order follows the trainer's seed: 7 vs 8.
  assert.notDeepEqual(viaFactory.w, direct.w);
  const init8 = buildModel(tinyConv, { seed: 8 });
  const fromInit = await trainArchitecture(tinyConv, data, { ...base, epochs: 1, workers: 2, seed: 7, initFrom: init8 });
  assert.deepEqual(fromInit.model.getWeights().map((t) => Array.from(t.dataSync())), viaFactory.w);
  fromInit.model.dispose();
  init8.dispose();
});

test('early stopping stops on a rising validation loss and restores the best epoch', async () => {
  // Random labels: the model memorises the training set, the validation loss only gets worse.
  const noisy = { train: quadrants(128, 3, true), validation: quadrants(128, 4, true) };
  const arch = { input: [8, 8, 1], classes: 4, layers: [{ type: 'flatten' as const }, { type: 'dense' as const, units: 64, activation: 'relu' as const }] };
  const r = await trainArchitecture(arch, noisy, { ...base, epochs: 40, learningRate: 0.02, earlyStopping: { patience: 2 } });
  assert.ok(r.stoppedEarly, `stopped early (ran ${r.epochs} epochs)`);
  assert.ok(r.epochs < 40);
  assert.equal(r.epochs - r.bestEpoch, 2, 'stops after `patience` epochs without improvement');
  const losses = r.history.map((h) => h.validationLoss);
  assert.equal(Math.min(...losses), losses[r.bestEpoch - 1]);
  const now = evaluate(r.model, noisy.validation);
  assert.ok(Math.abs(now.loss - r.history[r.bestEpoch - 1].validationLoss) < 1e-5, 'the returned model has the best epoch\'s weights');
  assert.equal(r.validationLoss, losses[r.bestEpoch - 1]);
  assert.ok(r.history.at(-1)!.loss < r.history[0].loss, 'while the training loss kept falling');
  r.model.dispose();
});

test('a subset trains on that many samples, and data that does not fit the architecture is a DeepMakerError', async () => {
  const r = await trainArchitecture(tinyConv, data, { ...base, epochs: 1, subset: 64 });
  assert.equal(r.trainSamples, 64);
  r.model.dispose();
  await assert.rejects(trainArchitecture({ ...tinyConv, input: [9, 9, 1] }, data, base), /expects inputs \[9, 9, 1\]/);
  await assert.rejects(trainArchitecture({ ...tinyConv, classes: 3 }, data, base), /label 3, outside 0..2/);
  assert.equal(tf.memory().numTensors < 200, true, `no tensor leak (${tf.memory().numTensors} alive)`);
});

test('fine-tuning with startIsCandidate keeps the starting weights when no epoch improves on them', async () => {
  const trained = await trainArchitecture(tinyConv, data, base);
  const start = trained.model.getWeights().map((t) => Array.from(t.dataSync()));
  // A learning rate this large wrecks the network in one epoch: epoch 0 must win.
  const wrecked = await trainArchitecture(tinyConv, data, { ...base, epochs: 2, learningRate: 50, earlyStopping: { patience: 2 }, initFrom: trained.model, startIsCandidate: true });
  assert.equal(wrecked.bestEpoch, 0);
  assert.deepEqual(wrecked.model.getWeights().map((t) => Array.from(t.dataSync())), start);
  assert.equal(wrecked.validationAccuracy, evaluate(trained.model, data.validation).accuracy);
  // Without it, the wrecked weights are what comes back.
  const plain = await trainArchitecture(tinyConv, data, { ...base, epochs: 2, learningRate: 50, earlyStopping: { patience: 2 }, initFrom: trained.model });
  assert.ok(plain.bestEpoch >= 1);
  assert.notDeepEqual(plain.model.getWeights().map((t) => Array.from(t.dataSync())), start);
  for (const m of [trained.model, wrecked.model, plain.model]) m.dispose();
});

test('cosine schedule: the rate of each epoch, and the optimizer follows it', async () => {
  assert.equal(scheduledLearningRate(0.01, 'cosine', 1, 4), 0.01);
  assert.ok(Math.abs(scheduledLearningRate(0.01, 'cosine', 3, 4) - 0.005) < 1e-12);
  assert.equal(scheduledLearningRate(0.01, undefined, 3, 4), 0.01);
  const constant = await weightsAfter({ epochs: 2 });
  const cosine = await weightsAfter({ epochs: 2, schedule: 'cosine' });
  assert.deepEqual(cosine.r.history.map((h) => h.learningRate), [0.01, 0.005]);
  // Epoch 1 runs at the same rate (same loss); epoch 2 at half of it, so the weights part.
  assert.equal(cosine.r.history[0].loss, constant.r.history[0].loss);
  assert.notDeepEqual(cosine.w, constant.w);
  // Two threads apply the same schedule.
  const two = await weightsAfter({ epochs: 2, schedule: 'cosine', workers: 2 });
  assert.deepEqual(two.r.history.map((h) => h.learningRate), [0.01, 0.005]);
});
