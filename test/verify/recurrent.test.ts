/**
 * The convert and verify stages on a recurrent model (Conv1D -> LSTM -> LSTM -> Dense, written by
 * TF.js): the float C equals TF.js, the fixed-point C agrees, the per-layer trace covers every
 * layer output and each LSTM's cell state, the delivered C compiles as written, the sanitizers are
 * quiet, and the TF.js integer reference gives the fixed-point C's very integers (quantizedReference).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConvertStage } from '../../src/stages/convert';
import type { ConvertSpec } from '../../src/cgen/convert';
import { writeNpy } from '../../src/data/npy';
import type { StageContext } from '../../src/stages/context';
import { silentLogger } from '../../src/util/log';
import { argmaxRows } from '../../src/verify/metrics';
import { formatTraceDiff } from '../../src/verify/trace';
import { runVerifyStage } from '../../src/stages/verify';
import { lstmStack } from '../cgen/recurrent-models';
import { randomInputs, saveTfjsModel, tfjsPredict } from '../cgen/tfjs-models';

function ctx<V>(root: string, stage: string, spec: V): StageContext<V> {
  const outDir = join(root, 'dist', stage);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const workDir = join(root, '.deepmaker', stage);
  mkdirSync(workDir, { recursive: true });
  return { stage, projectRoot: root, workspaceRoot: root, spec, outDir, workDir, inputDir: (s) => join(root, 'dist', s), log: silentLogger };
}

const N = 24;

describe('verify on a recurrent model', () => {
  let root: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'dm-verify-rnn-'));
    const model = lstmStack();
    await saveTfjsModel(model, join(root, 'models', 'lstm'));
    const x = randomInputs(N, 12 * 3, 19, -1.5, 1.5);
    const top = argmaxRows(tfjsPredict(model, x, N), N, 3);
    mkdirSync(join(root, 'dist', 'data'), { recursive: true });
    writeNpy(join(root, 'dist', 'data', 'test_x.npy'), x, [N, 12, 3]);
    writeNpy(join(root, 'dist', 'data', 'test_y.npy'), top, [N]);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('float C = TF.js within 1e-5; the trace covers every layer and the LSTM cell states', async () => {
    const convert: ConvertSpec = { format: 'fixed', precision: { activations: { bits: 16, integer: 6 } }, weightStorage: 'arrays' };
    await runConvertStage(ctx(root, 'convert', { model: 'models/lstm/model.json', convert }));
    const table = JSON.parse(readFileSync(join(root, 'dist', 'convert', 'report.json'), 'utf8')).layers;
    assert.deepEqual(table.map((l: any) => l.type), ['input', 'conv1d', 'lstm', 'lstm', 'dense']);
    await runVerifyStage(ctx(root, 'verify', { verify: { samples: N, sweep: [8, 12], tolerance: 0.05, traceSamples: 8, searchSamples: 12, searchRadius: 0, sanitizeSamples: 3, backend: 'cpu' } }));
    const r = JSON.parse(readFileSync(join(root, 'dist', 'verify', 'report.json'), 'utf8'));
    assert.match(r.reference.engine, /loadLayersModel/);
    assert.ok(r.float.maxAbsError <= 1e-5, `float max abs error ${r.float.maxAbsError}`);
    assert.equal(r.float.top1Agreement, 1);
    assert.ok(r.fixed.top1Agreement >= 0.9, `fixed<16,6> agreement ${r.fixed.top1Agreement}`);
    assert.deepEqual(r.delivered, { mode: 'fixed', samples: N, identical: true });
    assert.deepEqual({ float: r.sanitizers.float, fixed: r.sanitizers.fixed }, { float: 'clean', fixed: 'clean' });
    // The TF.js integer reference computes the recurrent layers from the quantized-model view: the C's very integers.
    assert.equal(r.quantizedReference.skipped, undefined);
    assert.deepEqual({ samples: r.quantizedReference.samples, identicalSamples: r.quantizedReference.identicalSamples, identical: r.quantizedReference.identical }, { samples: N, identicalSamples: N, identical: true });
    const trace = JSON.parse(readFileSync(join(root, 'dist', 'verify', 'trace.json'), 'utf8'));
    assert.deepEqual(trace.layers.map((l: any) => l.layer), ['conv_input', 'conv', 'lstm_seq', 'lstm_seq:cell_state', 'lstm_back', 'lstm_back:cell_state', 'out']);
    for (const name of ['lstm_seq', 'lstm_seq:cell_state', 'lstm_back', 'lstm_back:cell_state']) {
      const l = trace.layers.find((x: any) => x.layer === name);
      assert.ok(l, `${name} is traced`);
      assert.ok(l.max > l.min, `${name}: a range [${l.min}, ${l.max}]`);
      assert.ok(l.maxAbsError > 0 && l.maxAbsError < 0.01, `${name}: fixed<16,6> vs float ${l.maxAbsError}`);
    }
    assert.match(formatTraceDiff(trace), /lstm_back:cell_state/);
  });
});
