/**
 * The nas stage over the recurrent space with real training on a tiny sequence problem, and the
 * recurrent search's checks made before any training. Kept small: three candidates, 6-step
 * sequences of 4 features, a few hundred samples.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeNpy } from '../../src/data/npy';
import { Rng } from '../../src/moo/rng';
import type { Architecture } from '../../src/nn/arch';
import { architectureCost } from '../../src/nn/cost';
import { runStage } from '../../src/stages/run';
import { canonicalJson } from '../../src/util/fs';
import { isDeepMakerError } from '../../src/util/errors';
import { capture, json, writeNasView } from './fixtures/stage-log';

const T = 6, F = 4, CLASSES = 3;

/** Sequences of T steps of F noisy features; one step holds a bright burst, and the class is when: early, middle or late. */
function bursts(n: number, seed: number) {
  const rng = new Rng(`bursts-${seed}`);
  const x = new Float32Array(n * T * F), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(CLASSES);
    y[i] = c;
    for (let p = 0; p < T * F; p++) x[i * T * F + p] = rng.uniform(0, 0.3);
    const step = c * 2 + rng.int(2);
    for (let f = 0; f < F; f++) x[i * T * F + step * F + f] = 1;
  }
  return { x, y };
}

function project(search: Record<string, unknown>, quantize: Record<string, unknown> = { mode: 'float' }, shape = [T, F]): string {
  const root = mkdtempSync(join(tmpdir(), 'dm-nas-recurrent-'));
  const data = join(root, 'dist', 'data');
  mkdirSync(data, { recursive: true });
  for (const [name, n, seed] of [['train', 256, 1], ['validation', 96, 2], ['test', 32, 3]] as const) {
    const s = bursts(n, seed);
    writeNpy(join(data, `${name}_x.npy`), s.x, [n, ...shape]);
    writeNpy(join(data, `${name}_y.npy`), s.y, [n]);
  }
  writeFileSync(join(data, 'report.json'), canonicalJson({ shape, classes: CLASSES, counts: { train: 256, validation: 96, test: 32 } }));
  const view = {
    search: {
      enabled: true, space: 'recurrent', algorithm: 'nsga2', population: 3, generations: 1,
      objectives: ['error', 'params', 'macs'], constraints: { maxParams: 20000 },
      fidelity: { subset: 256, epochs: [3], promote: 0.5 },
      training: { batchSize: 16, learningRate: 0.01, optimizer: 'adam', backend: 'wasm' },
      activations: ['relu'], workers: 1, seed: 1, select: 'lowest-error', ...search,
    },
    quantize,
    target: { device: 'ice40-up5k' },
    files: {},
  };
  writeNasView(root, view);
  return root;
}


describe('the nas stage over the recurrent space', () => {
  it('searches recurrent networks on sequences with real training and selects one that builds', async () => {
    const root = project({});
    try {
      const log = capture();
      await runStage('nas', root, root, log);
      const out = join(root, 'dist', 'nas');
      const report = json(join(out, 'report.json'));
      assert.equal(report.space, 'recurrent');
      assert.equal(report.candidates, 3);
      assert.equal(report.trained, 3);
      const candidates = readFileSync(join(out, 'candidates.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      for (const c of candidates) {
        assert.ok(Array.isArray(c.genome.recurrent) && c.genome.recurrent.length >= 1, JSON.stringify(c.genome));
        assert.ok(['lstm', 'gru', 'simple_rnn'].includes(c.architecture.layers[0].type));
        assert.deepEqual(c.architecture.input, [T, F]);
        assert.equal(c.values.params, architectureCost(c.architecture).params);
      }
      const selected: Architecture = json(join(out, 'selected.json'));
      assert.ok(['lstm', 'gru', 'simple_rnn'].includes(selected.layers[0].type));
      assert.equal(architectureCost(selected).params, report.selected.params);
      assert.ok(report.selected.params <= 20000);
      assert.ok(report.selected.error < 2 / 3, `selected error ${report.selected.error} (chance is 2/3)`);
      assert.equal(log.lines.filter((l) => / rung 0 \(3 epochs, 256 samples\): error /.test(l)).length, 3);
      assert.ok(log.lines.some((l) => /^nsga2 over the recurrent space/.test(l)));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('ranks recurrent candidates by the recurrent engine\'s cycles under maxCycles (fixed point within the RTL\'s table width)', async () => {
    const root = project(
      { objectives: ['error', 'params', 'cycles'], constraints: { maxParams: 20000, maxLuts: 'device', maxCycles: 200000 }, population: 2 },
      { mode: 'fixed', weights: { bits: 8 }, activations: { bits: 8, integer: 3 } },
    );
    try {
      await runStage('nas', root, root, capture());
      const report = json(join(root, 'dist', 'nas', 'report.json'));
      assert.deepEqual(report.objectives, ['error', 'params', 'cycles']);
      const candidates = readFileSync(join(root, 'dist', 'nas', 'candidates.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(candidates.length, 2);
      for (const c of candidates) {
        // A buildable design of every candidate: cycles at least one per time step and MAC lane, far below the unbuildable 1e12.
        assert.ok(c.feasible && c.values.cycles > T && c.values.cycles <= 200000, JSON.stringify(c.values));
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses, before any training, the hardware objectives and constraints, ternary quantization, and a space that does not fit the data', async () => {
    const cases: [Record<string, unknown>, Record<string, unknown> | undefined, number[] | undefined, RegExp][] = [
      [{ constraints: { maxWeightBits: 'device', maxLuts: 'device' } }, undefined, undefined, /deepmaker\.yaml \(quantize\.mode\): search\.constraints\.maxLuts with quantize\.mode float[^]*at most 10 bits[^]*none would be trained[^]*hint: .*mode: fixed[^]*maxLuts: device/],
      [{ objectives: ['error', 'params', 'cycles'] }, { mode: 'fixed', activations: { bits: 16, integer: 5 } }, undefined, /\(quantize\.activations\.bits\): search\.objectives cycles with quantize\.activations\.bits 16: the RTL builds recurrent layers whose activations have at most 10 bits/],
      [{}, { mode: 'ternary' }, undefined, /\(quantize\.mode\): quantize\.mode ternary: the recurrent search does not rank ternary networks[^]*GRU cells[^]*hint: search with quantize\.mode: fixed[^]*models\/mnist-lstm-ternary/],
      [{ space: 'chain' }, undefined, undefined, /\(search\.space\): search\.space chain searches image networks[^]*search\.space: recurrent/],
      [{}, undefined, [T, F, 1], /\(search\.space\): search\.space recurrent searches sequence networks, but the data's samples are \[6, 4, 1\][^]*data\.sequence: rows/],
    ];
    for (const [search, quantize, shape, message] of cases) {
      const root = project(search, quantize, shape);
      try {
        const log = capture();
        await assert.rejects(runStage('nas', root, root, log), (e) => isDeepMakerError(e) && message.test(e.message), JSON.stringify([search, quantize, shape]));
        assert.ok(!log.lines.some((l) => /rung|evaluation worker/.test(l)), 'nothing was trained');
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }
  });
});
