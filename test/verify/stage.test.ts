/**
 * The convert and verify stages as plain functions over files (as the Nx executors call them):
 * a TF.js model given as the spec's `model:`, a test split in dist/data, and the report DESIGN §5
 * asks for, the sweep SVG and the trace diff that names the first drifting layer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConvertStage } from '../../src/stages/convert';
import { readIdx } from '../../src/data/idx';
import { writeNpy } from '../../src/data/npy';
import { mnistDir } from '../../src/data/sources';
import type { StageContext } from '../../src/stages/context';
import { silentLogger } from '../../src/util/log';
import { runVerifyStage, type VerifySpec } from '../../src/stages/verify';
import { argmaxRows } from '../../src/verify/metrics';
import { formatTraceDiff } from '../../src/verify/trace';
import type { ConvertSpec } from '../../src/cgen/convert';
import { cnnModel, randomInputs, saveTfjsModel, tfjsPredict } from '../cgen/tfjs-models';
import { KERAS_FIXTURES } from '../fixtures/location';

function ctx<V>(root: string, stage: string, spec: V): StageContext<V> {
  const outDir = join(root, 'dist', stage);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const workDir = join(root, '.deepmaker', stage);
  mkdirSync(workDir, { recursive: true });
  return { stage, projectRoot: root, workspaceRoot: root, spec, outDir, workDir, inputDir: (s) => join(root, 'dist', s), log: silentLogger };
}

const N = 40;

describe('convert and verify stages', () => {
  let root: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'dm-stage-'));
    const model = cnnModel();
    await saveTfjsModel(model, join(root, 'models', 'cnn'));
    // The labels agree with TF.js's top-1 on exactly the even samples and name another class on the
    // odd ones, so the reference's accuracy is exactly 0.5: a stage that scored the reference against
    // itself (1), or against shifted labels (not 0.5 in general), fails.
    const x = randomInputs(N, 12 * 12 * 3, 17, 0, 1);
    const top = argmaxRows(tfjsPredict(model, x, N), N, 5);
    const y = top.map((c, i) => (i % 2 === 0 ? c : (c + 1 + (i % 4)) % 5));
    mkdirSync(join(root, 'dist', 'data'), { recursive: true });
    writeNpy(join(root, 'dist', 'data', 'test_x.npy'), x, [N, 12, 12, 3]);
    writeNpy(join(root, 'dist', 'data', 'test_y.npy'), y, [N]);
    // A validation split: the sweep chooses its integer bits there, never on the test samples.
    const vx = randomInputs(30, 12 * 12 * 3, 23, 0, 1);
    writeNpy(join(root, 'dist', 'data', 'validation_x.npy'), vx, [30, 12, 12, 3]);
    writeNpy(join(root, 'dist', 'data', 'validation_y.npy'), argmaxRows(tfjsPredict(model, vx, 30), 30, 5), [30]);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const verifySpec: VerifySpec = { samples: N, sweep: [4, 12], tolerance: 0.05, traceSamples: 8, searchSamples: 20, searchRadius: 0, sanitizeSamples: 3, backend: 'cpu' };

  it('convert writes the IR, the C, the knobs and a report with the layer table and the files', async () => {
    const convert: ConvertSpec = { format: 'fixed', precision: { activations: { bits: 16, integer: 6 } }, rounding: 'half-even', overflow: 'saturate', weightStorage: 'arrays' };
    await runConvertStage(ctx(root, 'convert', { model: 'models/cnn/model.json', convert }));
    const dir = join(root, 'dist', 'convert');
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    for (const f of ['layers.json', 'model.h', 'model.c', 'weights.c', 'weights.h', 'harness.c', 'Makefile', 'knobs.json', 'source/model.json']) {
      assert.ok(existsSync(join(dir, f)), f);
      assert.ok(report.files.includes(f), `report lists ${f}`);
    }
    assert.equal(report.source.format, 'tfjs-layers');
    assert.equal(report.layers[0].type, 'input');
    assert.ok(report.layers.some((l: any) => l.layer === 'sep_depthwise' && l.type === 'depthwise_conv2d'));
    assert.equal(report.knobs.mode, 'fixed');
    assert.equal(report.knobs.weights.bits, 16);
    assert.match(readFileSync(join(dir, 'model.h'), 'utf8'), /#define DM_FIXED 1/);
  });

  it('verify reports samples, reference, float, fixed and sweep; draws the sweep; checks the delivered C', async () => {
    await runVerifyStage(ctx(root, 'verify', { verify: verifySpec }));
    const dir = join(root, 'dist', 'verify');
    const r = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    assert.equal(r.samples, N);
    assert.equal(r.reference.kind, 'tensorflow.js');
    assert.match(r.reference.engine, /loadLayersModel/);
    assert.equal(r.reference.accuracy, 0.5);
    assert.equal(r.float.top1Agreement, 1);
    assert.ok(r.float.maxAbsError <= 1e-4, `float max abs error ${r.float.maxAbsError}`);
    assert.equal(r.float.accuracy, 0.5);
    assert.match(r.fixed.format, /activations fixed<16,6>/);
    assert.ok(r.fixed.top1Agreement >= 0.95, `fixed agreement ${r.fixed.top1Agreement}`);
    // Against labels that match the reference on half the samples, an accuracy can move from 0.5 by
    // at most the fraction of samples that disagree with the reference.
    const within = (e: { accuracy: number; top1Agreement: number }) => Math.abs(e.accuracy - 0.5) <= 1 - e.top1Agreement + 1e-9;
    assert.ok(within(r.fixed), `fixed: accuracy ${r.fixed.accuracy}, agreement ${r.fixed.top1Agreement}`);
    assert.deepEqual(r.sweep.map((s: any) => s.bits), [4, 12]);
    assert.deepEqual(r.sweepSearch, { samples: 20, on: 'validation', splitsPerWidth: 1 });
    for (const e of r.sweep) assert.ok(within(e), `sweep ${e.bits}: accuracy ${e.accuracy}, agreement ${e.top1Agreement}`);
    assert.ok(r.sweep[1].top1Agreement >= r.sweep[0].top1Agreement);
    assert.ok(r.sweep[1].top1Agreement >= 0.9);
    assert.deepEqual(r.delivered, { mode: 'fixed', samples: N, identical: true });
    assert.deepEqual({ float: r.sanitizers.float, fixed: r.sanitizers.fixed }, { float: 'clean', fixed: 'clean' });
    const svg = readFileSync(join(dir, 'precision-sweep.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns/);
    assert.equal((svg.match(/<circle /g) ?? []).length, 2);
    const trace = JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8'));
    assert.equal(trace.layers[0].layer, 'image');
    assert.ok(trace.layers.find((l: any) => l.layer === 'out').logits);
    // Only the softmax output holds logits in fixed point; every other layer shows its own float range.
    assert.deepEqual(trace.layers.filter((l: any) => l.logits).map((l: any) => l.layer), ['out']);
    const image = trace.layers.find((l: any) => l.layer === 'image');
    assert.ok(image.min >= 0 && image.max <= 1 && image.max > 0.9, `the input layer's range is the inputs' [0, 1): [${image.min}, ${image.max}]`);
    assert.doesNotMatch(formatTraceDiff(trace), /image \(logits\)/);
    assert.equal((formatTraceDiff(trace).match(/\(logits\)/g) ?? []).length, 1);
  });

  it('the trace names the first layer that drifts and asks for integer bits when the format is too narrow', async () => {
    const convert: ConvertSpec = { format: 'fixed', precision: { activations: { bits: 10, integer: 1 } }, weightStorage: 'files' };
    await runConvertStage(ctx(root, 'convert', { model: 'models/cnn/model.json', convert }));
    await runVerifyStage(ctx(root, 'verify', { verify: { ...verifySpec, sweep: [8], sanitizeSamples: 0 } }));
    const r = JSON.parse(readFileSync(join(root, 'dist', 'verify', 'report.json'), 'utf8'));
    const trace = JSON.parse(readFileSync(join(root, 'dist', 'verify', 'trace.json'), 'utf8'));
    const first = trace.layers.find((l: any) => l.drifts);
    assert.ok(first, 'some layer drifts with 1 integer bit');
    assert.equal(r.firstDrift.layer, first.layer);
    assert.ok(first.integerBits > 1);
    assert.match(r.firstDrift.hint, /raise the integer bits/);
    // Every layer before it stays within the tolerance.
    for (const l of trace.layers.slice(0, trace.layers.indexOf(first))) assert.ok(l.maxAbsError <= 0.05, l.layer);
  });
});

describe('verify stage against real labels', () => {
  // A trained MNIST CNN (TinyMaix's mnist_valid.h5, Keras 2.8: three strided conv + BN + ReLU, global
  // average pool, dense, softmax) on the first MNIST test images with their true labels: the
  // accuracy then measures the model, not the reference's agreement with itself.
  const FIXTURE = join(KERAS_FIXTURES, 'tinymaix_mnist_cnn', 'mnist_valid.h5');
  const M = 200;
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'dm-stage-mnist-'));
    const images = readIdx(join(mnistDir(), 't10k-images-idx3-ubyte'), M);
    const labels = readIdx(join(mnistDir(), 't10k-labels-idx1-ubyte'), M);
    mkdirSync(join(root, 'dist', 'data'), { recursive: true });
    writeNpy(join(root, 'dist', 'data', 'test_x.npy'), Float32Array.from(images.data as ArrayLike<number>, (v) => v / 255), [M, 28, 28, 1]);
    writeNpy(join(root, 'dist', 'data', 'test_y.npy'), Int32Array.from(labels.data as ArrayLike<number>), [M]);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('the reference, the float C and the fixed-point C score as a trained MNIST network does', async () => {
    await runConvertStage(ctx(root, 'convert', { model: FIXTURE, convert: { format: 'fixed', precision: { activations: { bits: 16, integer: 6 } }, weightStorage: 'files' } as ConvertSpec }));
    await runVerifyStage(ctx(root, 'verify', { verify: { samples: M, sweep: [8], tolerance: 0.05, traceSamples: 8, searchSamples: 50, searchRadius: 0, sanitizeSamples: 0, backend: 'cpu' } }));
    const r = JSON.parse(readFileSync(join(root, 'dist', 'verify', 'report.json'), 'utf8'));
    assert.equal(r.samples, M);
    // Trained MNIST CNNs of this size score about 98 %; labels shifted by one sample would give ~10 %.
    assert.ok(r.reference.accuracy >= 0.9, `TF.js accuracy on ${M} MNIST test images: ${r.reference.accuracy}`);
    // An accuracy can differ from the reference's by at most the fraction of disagreeing samples.
    for (const [name, e] of [['float', r.float], ['fixed', r.fixed]] as const) {
      assert.ok(Math.abs(e.accuracy - r.reference.accuracy) <= 1 - e.top1Agreement + 1e-9, `${name}: accuracy ${e.accuracy}, agreement ${e.top1Agreement}, reference ${r.reference.accuracy}`);
    }
    assert.equal(r.float.top1Agreement, 1);
    assert.ok(r.fixed.accuracy >= 0.9, `fixed<16,6> accuracy ${r.fixed.accuracy}`);
  });
});
