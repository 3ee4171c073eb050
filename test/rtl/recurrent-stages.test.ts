/**
 * The dse -> rtl -> sim stages on a converted recurrent model: hls4ml's trained Keras LSTM (20 steps
 * of 6 features, LSTM(16, relu, sequence) -> Flatten -> Dense(5, softmax)) in 8-bit fixed point. The
 * DSE offers lanes for the LSTM with exact cycles, the rtl stage builds the chosen point, and the sim
 * stage finds the simulated accelerator bit-exact with the compiled C fixed-point model on every test
 * sequence, in the predicted cycles.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeNpy } from '../../src/data/npy';
import { runConvertStage } from '../../src/stages/convert';
import { runSpecStage, runStage } from '../../src/stages/run';
import { readJson, writeDirAtomically } from '../../src/util/fs';
import { silentLogger } from '../../src/util/log';
import { KERAS_FIXTURES } from '../fixtures/location';
import { rng } from './helpers';

const FIXTURE = join(KERAS_FIXTURES, 'hls4ml_lstm/KERAS_lstm_model_weights.h5');
const SAMPLES = 12;

test('dse -> rtl -> sim on a converted LSTM (hls4ml): lanes for the LSTM in the space, exact cycles, bit-exact with the C on every test sequence', async () => {
  const root = mkdtempSync(join(tmpdir(), 'dm-rnn-stages-'));
  const r = rng(5);
  const seqs = (n: number) => Float32Array.from({ length: n * 20 * 6 }, () => r() * 2 - 1);
  writeFileSync(join(root, 'x.npy'), encodeNpy(seqs(24), [24, 20, 6]));
  writeFileSync(join(root, 'y.npy'), encodeNpy(Int32Array.from({ length: 24 }, (_, i) => i % 5), [24]));
  writeFileSync(join(root, 'tx.npy'), encodeNpy(seqs(SAMPLES), [SAMPLES, 20, 6]));
  writeFileSync(join(root, 'ty.npy'), encodeNpy(Int32Array.from({ length: SAMPLES }, (_, i) => i % 5), [SAMPLES]));
  writeFileSync(
    join(root, 'deepmaker.yaml'),
    `name: lstm
model: ${FIXTURE}
data:
  dataset: npy
  normalize: none
  train: { x: x.npy, y: y.npy }
  test: { x: tx.npy, y: ty.npy }
convert:
  format: fixed
  precision:
    weights: { bits: 8, integer: 2 }
    biases: { bits: 12, integer: 4 }
    activations: { bits: 8, integer: 4 }
dse:
  maxLanes: 8
  check: 0
sim:
  samples: ${SAMPLES}
  simulator: verilator
target:
  device: ice40-up5k
  clockMHz: 12
`,
  );
  await runSpecStage(root, silentLogger);
  await runStage('data', root, root, silentLogger);
  // convert reads the model file directly (no train stage to wait for with `model:`).
  await writeDirAtomically(join(root, 'dist', 'convert'), (outDir) =>
    runConvertStage({
      stage: 'convert', projectRoot: root, workspaceRoot: root, spec: readJson(join(root, 'dist/spec/convert.json')), outDir,
      inputDir: (s: string) => join(root, 'dist', s), workDir: join(root, '.deepmaker/convert'), log: silentLogger,
    } as never),
  );
  await runStage('dse', root, root, silentLogger);
  const dse = readJson<any>(join(root, 'dist/dse/report.json'));
  const chosen = readJson<any>(join(root, 'dist/dse/chosen.json'));
  const lstm = Object.keys(chosen.directives.layers).find((n) => n.toLowerCase().includes('lstm'));
  assert.ok(lstm, `the chosen directives name the LSTM layer: ${JSON.stringify(chosen.directives.layers)}`);
  // min-latency with maxLanes 8: the LSTM's 64 gate columns take all 8 lanes.
  assert.equal(chosen.directives.layers[lstm].lanes, 8);
  assert.ok(dse.explored > 1);

  await runStage('rtl', root, root, silentLogger);
  const rtl = readJson<any>(join(root, 'dist/rtl/report.json'));
  const m = rtl.modules.find((x: any) => x.layer === lstm);
  assert.equal(m.kind, 'recurrent');
  assert.equal(m.lanes, 8);
  assert.equal(rtl.predictedCycles, chosen.cycles, 'the DSE cycles are the RTL cycle model');

  await runStage('sim', root, root, silentLogger);
  const sim = readJson<any>(join(root, 'dist/sim/report.json'));
  assert.equal(sim.samples, SAMPLES);
  assert.equal(sim.bitExact, SAMPLES, 'every test sequence equal to the C fixed-point model');
  assert.equal(sim.cycles, sim.predictedCycles);
  assert.equal(sim.cycles, rtl.predictedCycles);
});
