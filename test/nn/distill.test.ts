/**
 * Knowledge distillation (TrainOptions.distill, src/nn/replica.ts Teacher; quantize.fineTune.distill):
 * the soft targets enter the loss with their weight, also on a second training thread, and the
 * quantization-aware fine-tuning builds them from the float network.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { evaluate, trainArchitecture, type TrainOptions } from '../../src/nn/train';
import type { Teacher } from '../../src/nn/replica';
import { resolveQuantization } from '../../src/quant/config';
import { teacherTargets } from '../../src/quant/qat';
import { silentLogger } from '../../src/util/log';
import { quadrants, tinyConv } from './fixtures';

const data = { train: quadrants(320, 1), validation: quadrants(128, 2) };
const base: TrainOptions = { epochs: 4, batchSize: 32, learningRate: 0.01, optimizer: 'adam', seed: 7, backend: 'wasm' };

/** A teacher that is sure of the next class: (label + 1) mod 4. */
function shiftedTeacher(weight: number): Teacher {
  const probabilities = new Float32Array(data.train.count * 4);
  for (let i = 0; i < data.train.count; i++) probabilities[i * 4 + ((data.train.y[i] + 1) % 4)] = 1;
  return { probabilities, weight, temperature: 1 };
}

/** Accuracy of the model against labels shifted by `by` on the validation split. */
function accuracyAgainst(model: tf.LayersModel, by: number): number {
  const shifted = { ...data.validation, y: Int32Array.from(data.validation.y, (c) => (c + by) % 4) };
  return evaluate(model, shifted).accuracy;
}

describe('knowledge distillation', () => {
  it('with weight 1 the network learns the teacher, not the labels; with weight 0.25 the labels still win', async () => {
    for (const workers of [1, 2]) {
      const soft = await trainArchitecture(tinyConv, data, { ...base, workers, distill: shiftedTeacher(1) });
      assert.ok(accuracyAgainst(soft.model, 1) > 0.8, `${workers} thread(s): follows the teacher (${accuracyAgainst(soft.model, 1)})`);
      assert.ok(accuracyAgainst(soft.model, 0) < 0.2, `${workers} thread(s): not the labels (${accuracyAgainst(soft.model, 0)})`);
      soft.model.dispose();
    }
    const blend = await trainArchitecture(tinyConv, data, { ...base, distill: shiftedTeacher(0.25) });
    assert.ok(accuracyAgainst(blend.model, 0) > 0.8, `a quarter of the loss from the teacher: the labels win (${accuracyAgainst(blend.model, 0)})`);
    blend.model.dispose();
  });

  it('refuses targets that do not cover the training split', async () => {
    const t = shiftedTeacher(1);
    await assert.rejects(trainArchitecture(tinyConv, data, { ...base, distill: { ...t, probabilities: t.probabilities.subarray(4) } }), /distillation targets hold 1276 values, the training split needs 320 x 4/);
  });

  it('the teacher\'s targets are the float network\'s softmax(logits / T), row for row', async () => {
    const trained = await trainArchitecture(tinyConv, data, { ...base, epochs: 2 });
    const t = teacherTargets(trained.model, data.train, { weight: 0.5, temperature: 3 }, silentLogger);
    const logits = trained.model.predict(tf.tensor(data.train.x, [data.train.count, 8, 8, 1])) as tf.Tensor2D;
    const expected = tf.softmax(tf.div(logits, 3)).dataSync();
    assert.equal(t.probabilities.length, expected.length);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(t.probabilities[i] - expected[i]) < 1e-6, `value ${i}`);
    assert.deepEqual([t.weight, t.temperature], [0.5, 3]);
    trained.model.dispose();
  });

  it('quantize.fineTune.distill is resolved into the plan only when given, and out-of-range values are refused naming the key', () => {
    const numerics = { rounding: 'half-even', overflow: 'saturate' } as const;
    assert.equal(resolveQuantization({ mode: 'ternary' } as never, numerics).fineTune.distill, undefined);
    assert.deepEqual(resolveQuantization({ mode: 'ternary', fineTune: { distill: { weight: 0.5, temperature: 2 } } } as never, numerics).fineTune.distill, { weight: 0.5, temperature: 2 });
    assert.throws(() => resolveQuantization({ mode: 'ternary', fineTune: { distill: { weight: 0, temperature: 2 } } } as never, numerics), /quantize\.fineTune\.distill/);
    assert.throws(() => resolveQuantization({ mode: 'fixed', fineTune: { distill: { weight: 0.5, temperature: 0.5 } } } as never, numerics), /quantize\.fineTune\.distill/);
  });
});
