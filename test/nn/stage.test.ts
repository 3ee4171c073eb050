import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeNpy } from '../../src/data/npy';
import { runStage } from '../../src/stages/run';
import { loadModel } from '../../src/nn/save';
import { evaluate } from '../../src/nn/train';
import { silentLogger } from '../../src/util/log';
import { canonicalJson } from '../../src/util/fs';
import { isDeepMakerError } from '../../src/util/errors';
import type { TrainSpec } from '../../src/spec/types';
import { quadrants } from './fixtures';

/** A project folder with a data stage output (the quadrant problem) and a train view. */
function project(train: Partial<TrainSpec>, model?: string): string {
  const root = mkdtempSync(join(tmpdir(), 'dm-train-'));
  const data = join(root, 'dist', 'data');
  mkdirSync(data, { recursive: true });
  const splits = { train: quadrants(256, 1), validation: quadrants(96, 2), test: quadrants(128, 3) };
  for (const [name, s] of Object.entries(splits)) {
    writeNpy(join(data, `${name}_x.npy`), s.x, [s.count, ...s.shape]);
    writeNpy(join(data, `${name}_y.npy`), s.y, [s.count]);
  }
  writeFileSync(join(data, 'report.json'), canonicalJson({ shape: [8, 8, 1], classes: 4, counts: { train: 256, validation: 96, test: 128 } }));
  const view = {
    train: { architecture: 'selected', epochs: 3, batchSize: 32, learningRate: 0.01, optimizer: 'adam', backend: 'wasm', workers: 1, seed: 1, ...train },
    ...(model ? { model } : {}),
    files: {},
  };
  mkdirSync(join(root, 'dist', 'spec'), { recursive: true });
  writeFileSync(join(root, 'dist', 'spec', 'train.json'), canonicalJson(view));
  // train's upstream nas, skipped (search.enabled: false): a report and no selected.json.
  mkdirSync(join(root, 'dist', 'nas'), { recursive: true });
  writeFileSync(join(root, 'dist', 'nas', 'report.json'), canonicalJson({ skipped: true, reason: 'search.enabled is false; train uses train.architecture' }));
  return root;
}

test('the train stage trains the spec architecture and writes model, architecture and report', async () => {
  const root = project({
    architecture: [
      { type: 'conv2d', filters: 4, kernel: 3, padding: 'same', activation: 'relu', batchnorm: true },
      { type: 'maxpool2d', pool: 2 },
      { type: 'flatten' },
    ],
  });
  try {
    await runStage('train', root, root, silentLogger);
    const out = join(root, 'dist', 'train');
    assert.deepEqual(readdirSync(out).sort(), ['architecture.json', 'model', 'report.json']);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.equal(report.skipped, false);
    assert.equal(report.architectureSource, 'spec');
    assert.equal(report.backend, 'wasm');
    assert.equal(report.epochs, 3);
    assert.equal(report.history.length, 3);
    assert.equal(report.params, 4 * 9 + 4 * 4 + 64 * 4 + 4, 'conv (no bias) + BN + classifier dense');
    assert.equal(report.weights, 4 * 9 + 4 + 64 * 4 + 4, 'BN folds into a conv bias');
    assert.ok(report.validationAccuracy > 0.8, `validation accuracy ${report.validationAccuracy}`);
    const arch = JSON.parse(readFileSync(join(out, 'architecture.json'), 'utf8'));
    assert.deepEqual(arch.input, [8, 8, 1]);
    assert.equal(arch.classes, 4);
    // The saved model reproduces the reported test accuracy.
    const model = await loadModel(join(out, 'model'));
    const test = evaluate(model, quadrants(128, 3));
    assert.equal(test.accuracy, report.testAccuracy);
    assert.deepEqual(report.files, ['model/model.json', 'model/group1-shard1of1.bin', 'architecture.json']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('with `model:` in the spec the train stage reports that it skipped', async () => {
  const root = project({}, 'models/my.h5');
  try {
    await runStage('train', root, root, silentLogger);
    const report = JSON.parse(readFileSync(join(root, 'dist', 'train', 'report.json'), 'utf8'));
    assert.equal(report.skipped, true);
    assert.match(report.reason, /models\/my\.h5/);
    assert.deepEqual(readdirSync(join(root, 'dist', 'train')), ['report.json']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('`selected` without a nas output is a DeepMakerError that says what to do; no output is left', async () => {
  const root = project({ architecture: 'selected' });
  try {
    await assert.rejects(runStage('train', root, root, silentLogger), (e) => isDeepMakerError(e) && /selected\.json/.test(e.message) && /train\.architecture/.test(e.message));
    assert.equal(existsSync(join(root, 'dist', 'train')), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a quantization-aware run interrupted during fine-tuning takes its float network from the work folder when run again; other options train it again', async () => {
  const arch = [{ type: 'conv2d', filters: 4, kernel: 3, padding: 'same', activation: 'relu' }, { type: 'maxpool2d', pool: 2 }, { type: 'flatten' }];
  const root = project({ architecture: arch as never, epochs: 2 });
  const viewFile = join(root, 'dist', 'spec', 'train.json');
  const view = JSON.parse(readFileSync(viewFile, 'utf8'));
  writeFileSync(viewFile, canonicalJson({ ...view, quantize: { mode: 'fixed', weights: { bits: 8 }, activations: { bits: 8, integer: 3 }, fineTune: { epochs: 1 } } }));
  const lines: string[] = [];
  const recording = { info: (m: string) => void lines.push(m), warn: (m: string) => void lines.push(m) };
  try {
    // Interrupted: the logger throws at the fine-tuning's first epoch line, after the float phase.
    let floatDone = false;
    const interrupting = {
      info: (m: string) => {
        if (/^epoch 2\/2 done/.test(m)) floatDone = true;
        else if (floatDone && /^epoch/.test(m)) throw new Error('interrupted');
      },
      warn: () => undefined,
    };
    await assert.rejects(runStage('train', root, root, interrupting), /interrupted/);
    assert.ok(floatDone, 'the float phase ran before the interruption');
    assert.equal(existsSync(join(root, 'dist', 'train')), false, 'no output from the interrupted run');
    await runStage('train', root, root, recording);
    assert.ok(lines.some((l) => /^float network from the checkpoint of an earlier run/.test(l)), lines.join('\n'));
    assert.ok(!lines.some((l) => /^epoch 1\/2/.test(l)), 'the float network was not trained again');
    const resumed = JSON.parse(readFileSync(join(root, 'dist', 'train', 'report.json'), 'utf8'));
    assert.equal(resumed.floatFromCheckpoint, true);
    // The same figures as a run that trains everything (a fresh work folder).
    rmSync(join(root, '.deepmaker'), { recursive: true, force: true });
    await runStage('train', root, root, silentLogger);
    const whole = JSON.parse(readFileSync(join(root, 'dist', 'train', 'report.json'), 'utf8'));
    assert.equal(whole.floatFromCheckpoint, undefined);
    // (timings aside)
    const untimed = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x) => (k === 'seconds' || k === 'imagesPerSecond' ? undefined : x)));
    assert.deepEqual(untimed(resumed.quantization), untimed(whole.quantization));
    assert.equal(resumed.testAccuracy, whole.testAccuracy);
    assert.deepEqual(untimed(resumed.history), untimed(whole.history));
    // Another seed: another float network, trained.
    writeFileSync(viewFile, canonicalJson({ ...JSON.parse(readFileSync(viewFile, 'utf8')), train: { ...view.train, architecture: arch, epochs: 2, seed: 2 } }));
    lines.length = 0;
    await runStage('train', root, root, recording);
    assert.ok(!lines.some((l) => /from the checkpoint/.test(l)) && lines.some((l) => /^epoch 1\/2/.test(l)), lines.join('\n'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
