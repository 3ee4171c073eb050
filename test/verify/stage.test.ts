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
import { runConvertStage } from '../../src/cgen/stage';
import { writeNpy } from '../../src/data/npy';
import type { StageContext } from '../../src/plugin/stage-context';
import { silentLogger } from '../../src/util/log';
import { runVerifyStage, type VerifySpec } from '../../src/verify/stage';
import { argmaxRows } from '../../src/verify/metrics';
import { formatTraceDiff } from '../../src/verify/trace';
import type { ConvertSpec } from '../../src/cgen/convert';
import { cnnModel, randomInputs, saveTfjsModel, tfjsPredict } from '../cgen/tfjs-models';

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
    // The labels are TF.js's own top-1: accuracy and agreement then say the same thing, which the test checks.
    const x = randomInputs(N, 12 * 12 * 3, 17, 0, 1);
    const y = argmaxRows(tfjsPredict(model, x, N), N, 5);
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
    assert.equal(r.reference.accuracy, 1);
    assert.equal(r.float.top1Agreement, 1);
    assert.ok(r.float.maxAbsError <= 1e-4, `float max abs error ${r.float.maxAbsError}`);
    assert.equal(r.float.accuracy, 1);
    assert.match(r.fixed.format, /activations fixed<16,6>/);
    assert.ok(r.fixed.top1Agreement >= 0.95, `fixed agreement ${r.fixed.top1Agreement}`);
    assert.deepEqual(r.sweep.map((s: any) => s.bits), [4, 12]);
    assert.deepEqual(r.sweepSearch, { samples: 20, on: 'validation', splitsPerWidth: 1 });
    assert.ok(r.sweep[1].accuracy >= r.sweep[0].accuracy);
    assert.ok(r.sweep[1].accuracy >= 0.9);
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
