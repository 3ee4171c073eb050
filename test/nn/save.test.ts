import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/nn/backend';
import { buildModel } from '../../src/nn/build';
import { loadModel, saveModel } from '../../src/nn/save';
import { isDeepMakerError } from '../../src/util/errors';
import { denseNetLike } from './fixtures';

test('save and load a model in TensorFlow.js layers format: same topology, weights and outputs', async () => {
  await selectBackend('wasm');
  const dir = mkdtempSync(join(tmpdir(), 'dm-save-'));
  try {
    const model = buildModel(denseNetLike, { seed: 5 });
    // Non-trivial BatchNorm statistics and biases, so that a dropped weight would show.
    model.setWeights(model.getWeights().map((w, i) => tf.add(w, tf.randomUniform(w.shape, 0.1, 0.5, 'float32', i))));
    const files = await saveModel(model, dir, { output: 'logits', classes: 4 });
    assert.deepEqual(files, ['model.json', 'group1-shard1of1.bin']);
    assert.deepEqual(readdirSync(dir).sort(), ['group1-shard1of1.bin', 'model.json']);

    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    assert.equal(json.format, 'layers-model');
    assert.equal(json.modelTopology.class_name, 'Model');
    assert.deepEqual(json.userDefinedMetadata, { deepmaker: { output: 'logits', classes: 4 } });
    const specs = json.weightsManifest[0].weights as { name: string; shape: number[] }[];
    assert.equal(specs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0), model.countParams());
    assert.equal(readFileSync(join(dir, 'group1-shard1of1.bin')).length, model.countParams() * 4);

    const loaded = await loadModel(dir);
    assert.deepEqual(loaded.layers.map((l) => l.name), model.layers.map((l) => l.name));
    const x = tf.randomNormal([3, 16, 16, 1], 0, 1, 'float32', 9);
    assert.deepEqual(Array.from((loaded.predict(x) as tf.Tensor).dataSync()), Array.from((model.predict(x) as tf.Tensor).dataSync()));
    // tf.loadLayersModel over the same IOHandler type as any TF.js consumer: a plain fromMemory works too.
    const viaMemory = await tf.loadLayersModel(tf.io.fromMemory(json.modelTopology, json.weightsManifest[0].weights, new Uint8Array(readFileSync(join(dir, 'group1-shard1of1.bin'))).buffer));
    assert.equal(viaMemory.countParams(), model.countParams());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loading a broken model directory is a DeepMakerError naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dm-save-'));
  try {
    writeFileSync(join(dir, 'model.json'), '{"modelTopology": {"class_name": "Model"}, "weightsManifest": [{"paths": ["missing.bin"], "weights": []}]}');
    await assert.rejects(loadModel(dir), (e) => isDeepMakerError(e) && /missing\.bin/.test(e.message) && e.message.includes(join(dir, 'model.json')));
    writeFileSync(join(dir, 'model.json'), 'not json');
    await assert.rejects(loadModel(dir), (e) => isDeepMakerError(e) && /cannot read/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
