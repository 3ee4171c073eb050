/**
 * The rtl and sim stages on a real trained Keras model (TinyMaix's MNIST CNN: strided convs,
 * BatchNorm folded, depthwise with multiplier 2, global average pooling, dense + softmax) and real
 * MNIST test images: the RTL must equal the compiled C fixed-point model bit for bit, and the
 * simulated cycles the predicted ones. A tampered ROM image must be caught. Editing the clock must
 * change only the sim view.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runConvertStage } from '../../src/stages/convert';
import { runRtlStage } from '../../src/stages/rtl';
import { runSpecStage, runStage } from '../../src/stages/run';
import { readJson, writeDirAtomically } from '../../src/util/fs';
import { silentLogger } from '../../src/util/log';
import { KERAS_FIXTURES } from '../fixtures/location';

const FIXTURE = join(KERAS_FIXTURES, 'tinymaix_mnist_cnn/mnist_dw.h5');
const SAMPLES = 40;

function yaml(extra: { lanes?: number; directives?: string; clockMHz?: number; device?: string } = {}): string {
  return `name: tiny
model: ${FIXTURE}
data:
  dataset: mnist
  limit: { train: 32, test: ${SAMPLES} }
convert:
  format: fixed
  precision:
    weights: { bits: 12 }
    biases: { bits: 16, integer: 6 }
    activations: { bits: 8, integer: 3 }
rtl:
  lanes: ${extra.lanes ?? 4}
${extra.directives ? `  directives: ${extra.directives}\n` : ''}sim:
  samples: ${SAMPLES}
  simulator: cxxrtl
target:
  device: ${extra.device ?? 'ice40-up5k'}
  clockMHz: ${extra.clockMHz ?? 12}
`;
}

/** A stage function run directly (as runStage does, without its upstream check): convert has no train
 * stage to wait for with `model:`, and rtl here builds the `rtl.lanes` / `rtl.directives` set without a dse run. */
async function runDirect(name: 'convert' | 'rtl', root: string): Promise<void> {
  const fn = name === 'convert' ? runConvertStage : runRtlStage;
  await writeDirAtomically(join(root, 'dist', name), (outDir) =>
    fn({
      stage: name, projectRoot: root, workspaceRoot: root, spec: readJson(join(root, `dist/spec/${name}.json`)), outDir,
      inputDir: (s: string) => join(root, 'dist', s), workDir: join(root, `.deepmaker/${name}`), log: silentLogger,
    } as never),
  );
}

/** spec -> data -> convert. */
async function prepare(root: string): Promise<void> {
  await runSpecStage(root, silentLogger);
  await runStage('data', root, root, silentLogger);
  await runDirect('convert', root);
}

test('rtl + sim on a trained MNIST CNN: bit-exact with the C model on MNIST test images, cycles as predicted; a directive file; a tampered ROM is caught', async () => {
  const root = mkdtempSync(join(tmpdir(), 'dm-sim-stage-'));
  writeFileSync(join(root, 'deepmaker.yaml'), yaml());
  await prepare(root);
  await runDirect('rtl', root);
  const rtl = readJson<any>(join(root, 'dist/rtl/report.json'));
  assert.equal(rtl.top, 'deepmaker_accel');
  assert.deepEqual(rtl.modules.map((m: any) => m.layer), ['ftr0a', 'ftr0b', 'ftr1a', 'ftr1b', 'GAP', 'fc1']);
  assert.equal(rtl.parallelism.perLayer.ftr0a.lanes, 4);
  assert.ok(existsSync(join(root, 'dist/rtl/deepmaker_accel.v')) && existsSync(join(root, 'dist/rtl/tb_deepmaker_accel.v')));
  for (const m of rtl.modules) for (const r of m.roms.filter((x: any) => x.memory === 'ebr')) assert.equal(r.depth % 256, 0, `${r.file}: whole 256-word blocks for icebram`);
  // 12-bit weights: one lane per ROM word (only weights of up to 8 bits pack two lanes into 16 bits).
  assert.deepEqual(rtl.modules[0].roms.filter((x: any) => x.role === 'weights').map((x: any) => x.width), [12, 12, 12, 12]);

  await runStage('sim', root, root, silentLogger);
  const sim = readJson<any>(join(root, 'dist/sim/report.json'));
  assert.equal(sim.samples, SAMPLES);
  assert.equal(sim.bitExact, SAMPLES);
  assert.equal(sim.cycles, rtl.predictedCycles);
  assert.equal(sim.predictedCycles, rtl.predictedCycles);
  assert.equal(sim.macsPerCycle, sim.macs / sim.cycles);
  assert.equal(sim.multiplierUtilization, sim.macs / (sim.cycles * sim.lanes));
  assert.ok(sim.multiplierUtilization > 0 && sim.multiplierUtilization <= 1);
  assert.ok(sim.floorRatio >= 1 && sim.floorRatio < 2, `floor ratio ${sim.floorRatio}`);
  assert.ok(sim.accuracy > 0.5, `the accelerator classifies MNIST digits (accuracy ${sim.accuracy})`);
  const vectors = readJson<any>(join(root, 'dist/sim/vectors.json'));
  assert.equal(readFileSync(join(root, 'dist/sim/vectors.bin')).length, SAMPLES * 784);
  assert.equal(vectors.logits.length, SAMPLES);

  // A directive file: reduction lanes on a conv, pipelining off on the dense layer.
  writeFileSync(join(root, 'directives.json'), JSON.stringify({ version: 1, defaults: { lanes: 2 }, layers: { ftr1a: { lanes: 4, unroll: 'reduction' }, fc1: { lanes: 5, pipeline: false } } }));
  writeFileSync(join(root, 'deepmaker.yaml'), yaml({ directives: 'directives.json' }));
  await runSpecStage(root, silentLogger);
  await runDirect('rtl', root);
  await runStage('sim', root, root, silentLogger);
  const rtl2 = readJson<any>(join(root, 'dist/rtl/report.json'));
  const sim2 = readJson<any>(join(root, 'dist/sim/report.json'));
  assert.equal(rtl2.directives, 'directives.json');
  assert.equal(rtl2.parallelism.perLayer.ftr1a.unroll, 'reduction');
  assert.equal(sim2.bitExact, SAMPLES);
  assert.equal(sim2.cycles, rtl2.predictedCycles);
  assert.notEqual(sim2.cycles, sim.cycles);

  // Flip one weight in a ROM image: the comparison with the C model must fail and say where the traces are.
  const hex = join(root, 'dist/rtl/dm_e0_ftr0a_w0.hex');
  const words = readFileSync(hex, 'utf8').split('\n');
  words[0] = words[0] === '7f' ? '80' : '7f';
  writeFileSync(hex, words.join('\n'));
  await assert.rejects(runStage('sim', root, root, silentLogger), (e: Error) => /samples differ between the RTL and the C fixed-point model/.test(e.message) && e.message.includes('mismatches.jsonl'));
  const traces = readFileSync(join(root, '.deepmaker/sim/mismatches.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(traces.length > 0 && traces.every((t) => t.differing.length > 0));

  // The shared MAC array on the same trained network: bit-exact on MNIST images, cycles as predicted, the array's lanes counted.
  writeFileSync(join(root, 'directives.json'), JSON.stringify({ version: 1, architecture: 'array', defaults: { lanes: 4 }, layers: { ftr1a: { lanes: 4, unroll: 'reduction' } } }));
  await runSpecStage(root, silentLogger);
  await runDirect('rtl', root);
  await runStage('sim', root, root, silentLogger);
  const rtl3 = readJson<any>(join(root, 'dist/rtl/report.json'));
  const sim3 = readJson<any>(join(root, 'dist/sim/report.json'));
  assert.equal(rtl3.architecture, 'array');
  assert.equal(rtl3.array.lanes, 4);
  assert.equal(rtl3.parallelism.lanes, 4, 'the array has 4 lanes for every layer, not 4 per layer');
  assert.equal(sim3.bitExact, SAMPLES);
  assert.equal(sim3.cycles, rtl3.predictedCycles);
  assert.equal(sim3.multiplierUtilization, sim3.macs / (sim3.cycles * 4));
});

test('views: a clock edit changes neither the rtl nor the sim view; a device edit changes the rtl view', async () => {
  const root = mkdtempSync(join(tmpdir(), 'dm-sim-views-'));
  mkdirSync(root, { recursive: true });
  const views = async (y: string) => {
    writeFileSync(join(root, 'deepmaker.yaml'), y);
    await runSpecStage(root, silentLogger);
    return { rtl: readFileSync(join(root, 'dist/spec/rtl.json'), 'utf8'), sim: readFileSync(join(root, 'dist/spec/sim.json'), 'utf8') };
  };
  const a = await views(yaml());
  const b = await views(yaml({ clockMHz: 24 }));
  const c = await views(yaml({ device: 'ice40-hx8k' }));
  assert.equal(b.rtl, a.rtl);
  assert.equal(b.sim, a.sim);
  assert.notEqual(c.rtl, a.rtl);
  assert.equal(c.sim, a.sim);
});
