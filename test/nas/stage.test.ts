/**
 * The nas stage with real training (src/nn through the worker pool) on a tiny image problem, and
 * its skip behaviour. Kept small: a few candidates, a few hundred 8x8 samples.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeNpy } from '../../src/data/npy';
import { Rng } from '../../src/moo/rng';
import type { Architecture } from '../../src/nn/arch';
import { architectureCost } from '../../src/nn/cost';
import { searchTraining } from '../../src/stages/nas';
import { runStage } from '../../src/stages/run';
import { canonicalJson } from '../../src/util/fs';
import { capture, json, writeNasView } from './fixtures/stage-log';

/** 8x8 images with a bright 3x3 blob in one quadrant; the class is the quadrant. */
function quadrants(n: number, seed: number) {
  const rng = new Rng(`quadrants-${seed}`);
  const x = new Float32Array(n * 64), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(4);
    y[i] = c;
    for (let p = 0; p < 64; p++) x[i * 64 + p] = rng.uniform(0, 0.3);
    const r0 = (c >> 1) * 4 + rng.int(2), c0 = (c & 1) * 4 + rng.int(2);
    for (let dr = 0; dr < 3; dr++) for (let dc = 0; dc < 3; dc++) x[i * 64 + (r0 + dr) * 8 + c0 + dc] = 1;
  }
  return { x, y, count: n };
}

function project(search: Record<string, unknown>, model?: string, quantize?: Record<string, unknown>): string {
  const root = mkdtempSync(join(tmpdir(), 'dm-nas-stage-'));
  const data = join(root, 'dist', 'data');
  mkdirSync(data, { recursive: true });
  for (const [name, n, seed] of [['train', 384, 1], ['validation', 128, 2], ['test', 64, 3]] as const) {
    const s = quadrants(n, seed);
    writeNpy(join(data, `${name}_x.npy`), s.x, [n, 8, 8, 1]);
    writeNpy(join(data, `${name}_y.npy`), s.y, [n]);
  }
  writeFileSync(join(data, 'report.json'), canonicalJson({ shape: [8, 8, 1], classes: 4, counts: { train: 384, validation: 128, test: 64 } }));
  const view = {
    search: {
      enabled: true, space: 'chain', algorithm: 'nsga2', population: 3, generations: 2,
      objectives: ['error', 'macs', 'params', 'weightBits'], constraints: { maxWeightBits: 'device', maxMacs: 60000 },
      fidelity: { subset: 256, epochs: [2, 4], promote: 0.5 },
      training: { batchSize: 16, learningRate: 0.01, optimizer: 'adam', backend: 'wasm' },
      activations: ['relu'], workers: 2, seed: 1, select: 'lowest-error', ...search,
    },
    quantize: quantize ?? { mode: 'fixed', weights: { bits: 8, integer: 1 } },
    target: { device: 'ice40-up5k' },
    ...(model ? { model } : {}),
    files: {},
  };
  writeNasView(root, view);
  return root;
}


describe('the nas stage', () => {
  it('searches with real training, writes its outputs, and a rerun takes every evaluation from the store', async () => {
    const root = project({});
    try {
      const log = capture();
      await runStage('nas', root, root, log);
      const out = join(root, 'dist', 'nas');
      assert.deepEqual(readdirSync(out).sort(), ['candidates.jsonl', 'hypervolume.svg', 'pareto.json', 'pareto.svg', 'report.json', 'selected.json']);
      const report = json(join(out, 'report.json'));
      assert.equal(report.skipped, false);
      assert.equal(report.cacheHits, 0);
      assert.ok(report.evaluations >= 3 && report.trained === report.evaluations, JSON.stringify(report));
      assert.equal(report.hypervolume.length, 2);
      assert.ok(report.hypervolume[1] > 0);
      for (const p of report.pareto) for (const f of ['id', 'error', 'params', 'macs', 'weightBits']) assert.ok(typeof p[f] === (f === 'id' ? 'string' : 'number'), `${f} in ${JSON.stringify(p)}`);
      // The selected architecture is the report's, builds, meets the constraints and learned the task (chance is 75% error).
      const selected: Architecture = json(join(out, 'selected.json'));
      const cost = architectureCost(selected);
      assert.equal(cost.params, report.selected.params);
      assert.ok(report.selected.macs <= 60000 && report.selected.weightBits <= 122880);
      assert.ok(report.selected.error < 0.5, `selected error ${report.selected.error}`);
      assert.equal(report.selected.error, Math.min(...report.pareto.map((p: { error: number }) => p.error)));
      // Progress: one line per training and per generation.
      assert.equal(log.lines.filter((l) => / rung \d \(\d+ epochs?, 256 samples\): error /.test(l)).length, report.evaluations);
      assert.equal(log.lines.filter((l) => /^generation \d\/2: /.test(l)).length, 2);
      assert.match(readFileSync(join(out, 'pareto.svg'), 'utf8'), /^<svg[^]*error vs parameters[^]*error vs MACs[^]*<\/svg>\n$/);
      const candidates = readFileSync(join(out, 'candidates.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(candidates.length, report.candidates);

      const again = capture();
      await runStage('nas', root, root, again);
      const second = json(join(out, 'report.json'));
      assert.equal(second.trained, 0);
      assert.equal(second.cacheHits, report.evaluations);
      assert.deepEqual(second.pareto, report.pareto);
      assert.ok(!again.lines.some((l) => /evaluation worker/.test(l)), 'no worker is started when everything is stored');

      // Another project of the workspace with the same search and data shares the store; a bounded
      // select picks another member of the same front.
      const other = join(root, 'models', 'small');
      cpSync(join(root, 'dist', 'data'), join(other, 'dist', 'data'), { recursive: true });
      const smallest = Math.min(...report.pareto.map((p: { params: number }) => p.params));
      const view = json(join(root, 'dist', 'spec', 'nas.json'));
      mkdirSync(join(other, 'dist', 'spec'), { recursive: true });
      writeFileSync(join(other, 'dist', 'spec', 'nas.json'), canonicalJson({ ...view, search: { ...view.search, select: { rule: 'lowest-error', maxParams: smallest } } }));
      await runStage('nas', other, root, capture());
      const third = json(join(other, 'dist', 'nas', 'report.json'));
      assert.equal(third.trained, 0, 'every training comes from the workspace store');
      assert.deepEqual(third.pareto, report.pareto);
      assert.equal(third.selected.params, smallest);
      assert.equal(third.select, `lowest-error with params <= ${smallest}`);
      assert.equal(existsSync(join(other, '.deepmaker', 'nas', 'evals')), false, 'no per-project store');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('with real training: stratified subsets, a confirmation rung on all the training data whose errors select, and a rerun from the store', async () => {
    const root = project({ population: 3, generations: 1, fidelity: { subset: 128, epochs: [1], promote: 0.5, stratify: true, final: { top: 2, epochs: 2 } } });
    try {
      const log = capture();
      await runStage('nas', root, root, log);
      const out = join(root, 'dist', 'nas');
      const report = json(join(out, 'report.json'));
      const c = report.confirmation;
      assert.equal(c.candidates.length, Math.min(2, report.pareto.length));
      for (const e of c.candidates) {
        assert.deepEqual([e.final.epochs, e.final.subset, e.lowFidelity.epochs, e.lowFidelity.subset], [2, 384, 1, 128]);
        assert.ok(e.final.error >= 0 && e.final.error <= 1);
      }
      const best = [...c.candidates].sort((a: any, b: any) => a.final.error - b.final.error || a.lowFidelityRank - b.lowFidelityRank)[0];
      assert.equal(report.selected.id, best.id);
      assert.equal(report.selected.error, best.final.error);
      assert.equal(report.trained, report.evaluations);
      assert.ok(log.lines.some((l) => /^final \w+ \(rank 1 at low fidelity, 2 epochs, 384 samples\): error /.test(l)), log.lines.join('\n'));
      assert.ok(log.lines.some((l) => /Kendall's tau-b/.test(l)));

      await runStage('nas', root, root, capture());
      const again = json(join(out, 'report.json'));
      assert.equal(again.trained, 0);
      assert.equal(again.confirmation.cacheHits, c.candidates.length);
      assert.deepEqual(again.selected, report.selected);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('with search.training.quantizedEpochs, ranks every candidate by its ternary twin\'s validation error (confirmation rung too), and a rerun takes them from the store', async () => {
    const training = { batchSize: 16, learningRate: 0.01, optimizer: 'adam', backend: 'wasm', quantizedEpochs: 1 };
    const ternary = { mode: 'ternary', activations: { bits: 8, integer: 4 }, ternary: { activations: true } };
    const root = project({ population: 3, generations: 1, fidelity: { subset: 128, epochs: [1], promote: 0.5, final: { top: 1, epochs: 1 } }, training }, undefined, ternary);
    try {
      const log = capture();
      await runStage('nas', root, root, log);
      const out = join(root, 'dist', 'nas');
      const report = json(join(out, 'report.json'));
      const candidates = readFileSync(join(out, 'candidates.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const rungs = candidates.flatMap((c) => c.rungs);
      assert.ok(rungs.length >= 3);
      // Each training measured both networks; the error is the ternary twin's, not a copy of the float one.
      for (const r of rungs) assert.ok(typeof r.floatError === 'number' && r.error >= 0 && r.error <= 1, JSON.stringify(r));
      assert.ok(rungs.some((r) => r.error !== r.floatError), JSON.stringify(rungs));
      assert.ok(log.lines.some((l) => /rung 0 \(1 epoch, 128 samples\): error [\d.]+% \(ternary; float [\d.]+%\)/.test(l)), log.lines.join('\n'));
      const confirmed = report.confirmation.candidates[0];
      assert.equal(report.selected.error, confirmed.final.error);

      await runStage('nas', root, root, capture());
      const again = json(join(out, 'report.json'));
      assert.equal(again.trained, 0);
      assert.deepEqual(again.selected, report.selected);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('fine-tunes the search\'s quantized twin at the train stage\'s rate, not at the search\'s float rate', () => {
    const search = { training: { batchSize: 32, learningRate: 0.01, optimizer: 'adam', backend: 'wasm', quantizedEpochs: 3 } } as never;
    const numerics = { rounding: 'half-even', overflow: 'saturate' } as const;
    const ternary = { mode: 'ternary', activations: { bits: 8, integer: 4 }, ternary: { activations: true } } as never;
    const t = searchTraining(search, ternary, numerics, 'deepmaker.yaml', 0.002);
    assert.equal(t.learningRate, 0.01, 'the float training keeps search.training\'s rate');
    assert.deepEqual(t.quantize!.fineTune, { epochs: 3, learningRate: 0.002 });
    // Fixed point fine-tunes at a tenth of the train stage's rate; quantize.fineTune.learningRate wins over both.
    assert.equal(searchTraining(search, { mode: 'fixed' } as never, numerics, 'deepmaker.yaml', 0.002).quantize!.fineTune.learningRate, 0.0002);
    assert.equal(searchTraining(search, { ...(ternary as object), fineTune: { learningRate: 0.004 } } as never, numerics, 'deepmaker.yaml', 0.002).quantize!.fineTune.learningRate, 0.004);
    // The rest of quantize.fineTune is the train stage's too (distillation).
    assert.deepEqual(searchTraining(search, { ...(ternary as object), fineTune: { distill: { weight: 0.5, temperature: 2 } } } as never, numerics, 'deepmaker.yaml', 0.002).quantize!.fineTune, { epochs: 3, learningRate: 0.002, distill: { weight: 0.5, temperature: 2 } });
    // quantize.fineTune.earlyStopping is the train stage's: the twin's few epochs stop as search.training's do, and
    // its keys stay what they were without it.
    assert.deepEqual(searchTraining(search, { ...(ternary as object), fineTune: { earlyStopping: false } } as never, numerics, 'deepmaker.yaml', 0.002).quantize!.fineTune, { epochs: 3, learningRate: 0.002 });
    // A view written without the train stage's rate (none before session 13) keeps the search's.
    assert.equal(searchTraining(search, ternary, numerics, 'deepmaker.yaml').quantize!.fineTune.learningRate, 0.01);
  });

  it('refuses search.training.quantizedEpochs with quantize.mode float, naming the key, before any training', async () => {
    const root = project({ training: { batchSize: 16, learningRate: 0.01, optimizer: 'adam', backend: 'wasm', quantizedEpochs: 1 } }, undefined, { mode: 'float' });
    try {
      await assert.rejects(runStage('nas', root, root, capture()), (e: Error) => /search\.training\.quantizedEpochs is 1 but quantize\.mode is float/.test(e.message));
      assert.ok(!existsSync(join(root, '.deepmaker', 'nas', 'evals')));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('with search.enabled false it reports skipped and selects nothing (train uses train.architecture)', async () => {
    const root = project({ enabled: false });
    try {
      await runStage('nas', root, root, capture());
      assert.deepEqual(readdirSync(join(root, 'dist', 'nas')), ['report.json']);
      const r = json(join(root, 'dist', 'nas', 'report.json'));
      assert.equal(r.skipped, true);
      assert.match(r.reason, /search\.enabled is false/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('with model: in the spec it reports skipped', async () => {
    const root = project({}, 'models/my.h5');
    try {
      await runStage('nas', root, root, capture());
      const r = json(join(root, 'dist', 'nas', 'report.json'));
      assert.equal(r.skipped, true);
      assert.match(r.reason, /existing model/);
      assert.equal(existsSync(join(root, 'dist', 'nas', 'selected.json')), false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
