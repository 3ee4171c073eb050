import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Ajv from 'ajv';
import { emitC } from '../../src/cgen';
import { runDseStage } from '../../src/stages/dse';
import { writeModelIR } from '../../src/ir/serialize';
import { canonicalJson } from '../../src/util/fs';
import { silentLogger } from '../../src/util/log';
import { SyntheticModel } from '../../src/dse/synthetic';
import { KNOBS8 } from './helpers';

const root = mkdtempSync(join(tmpdir(), 'dm-dse-stage-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** dist/convert as the convert stage leaves it: the IR, knobs.json and the C. */
function convertOutput(): string {
  const dir = join(root, 'dist', 'convert');
  mkdirSync(dir, { recursive: true });
  // Two dense layers: the smallest design that still has a space to search (its synthesis and
  // simulator build are most of this test's time; the stage's mechanics do not depend on the model).
  const ir = new SyntheticModel('tiny_mlp', [4, 4, 1], 3).flatten().dense('fc1', 6, { relu: true }).dense('fc2', 3).build();
  writeModelIR(dir, ir);
  emitC(dir, ir, { knobs: KNOBS8, weightStorage: 'arrays' });
  writeFileSync(join(dir, 'knobs.json'), canonicalJson(KNOBS8));
  return dir;
}

function context(spec: unknown, out: string) {
  mkdirSync(out, { recursive: true });
  return { stage: 'dse', projectRoot: root, workspaceRoot: root, spec, outDir: out, workDir: join(root, '.deepmaker', 'dse'), log: silentLogger, inputDir: (s: string) => join(root, 'dist', s) };
}

describe('dse stage', () => {
  const convert = convertOutput();
  void convert;
  const spec = { dse: { check: 1, simulate: 1, maxLanes: 4 }, target: { device: 'ice40-up5k' } };

  it('explores, writes the frontier and the chosen directive set, checks the predictor on a real synthesis and exports Vitis HLS', async () => {
    const out = join(root, 'out1');
    await runDseStage(context(spec, out) as never);
    for (const f of ['points.jsonl', 'pareto.json', 'pareto.svg', 'chosen.json', 'report.json', 'hls/model.c', 'hls/directives.tcl', 'hls/run_hls.tcl']) assert.ok(existsSync(join(out, f)), f);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.equal(report.search.algorithm, 'exhaustive');
    assert.equal(report.explored, report.space.points);
    assert.equal(readFileSync(join(out, 'points.jsonl'), 'utf8').trim().split('\n').length, report.explored);
    assert.ok(report.pareto.length >= 1);
    for (const k of ['directives', 'cycles', 'luts', 'ffs', 'ebr', 'dsp']) assert.ok(k in report.chosen, k);
    // min-latency: nothing that fits is faster.
    const points = readFileSync(join(out, 'points.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(report.chosen.cycles, Math.min(...points.filter((p) => p.fits).map((p) => p.cycles)));
    assert.ok(report.chosen.logicCells <= report.budget.logicCells && report.chosen.ebr <= report.budget.ebr);
    // The speed-up is the one-lane baseline's cycles over the chosen point's, both as explored.
    const byId = new Map(points.map((p) => [p.id, p]));
    assert.equal(byId.get(report.baseline.id).cycles, report.baseline.cycles);
    assert.equal(byId.get(report.chosen.id).cycles, report.chosen.cycles);
    assert.ok(report.baseline.cycles > report.chosen.cycles, `one lane ${report.baseline.cycles} cycles, chosen ${report.chosen.cycles}`);
    assert.equal(report.speedup.vsOneLane, Math.round((report.baseline.cycles / report.chosen.cycles) * 100) / 100);
    // chosen.json is a directive file the rtl stage accepts.
    const chosen = JSON.parse(readFileSync(join(out, 'chosen.json'), 'utf8'));
    const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', 'directives.schema.json'), 'utf8'));
    const validate = new Ajv({ strict: false }).compile(schema);
    assert.ok(validate(chosen.directives), JSON.stringify(validate.errors));
    // The predictor check: one real synthesis, cycles confirmed in simulation.
    assert.equal(report.syntheses, 1);
    assert.equal(report.predictorError.points.length, 1);
    assert.equal(report.predictorError.points[0].id, chosen.id);
    // The predictor against the real synthesis (Yosys synth_ice40, run above): the calibrated model
    // must predict the synthesized logic cells and LUTs within 25 %, and EBR and DSP blocks exactly.
    // (Measured when this was written: 592 predicted / 664 synthesized logic cells, 10.8 % off;
    // LUTs 520 / 600, 13.3 %.)
    const checked = report.predictorError.points[0];
    const rel = Math.abs(checked.predicted.logicCells - checked.synthesized.logicCells) / checked.synthesized.logicCells;
    assert.ok(checked.synthesized.logicCells > 0);
    assert.ok(Math.abs(report.predictorError.logicCells.medianRelError - rel) < 1e-4, `median of one point is its error: ${report.predictorError.logicCells.medianRelError} vs ${rel}`);
    assert.ok(rel < 0.25, `logic cells: ${checked.predicted.logicCells} predicted, ${checked.synthesized.logicCells} synthesized (${(rel * 100).toFixed(1)} % off)`);
    assert.equal(checked.predicted.ebr, checked.synthesized.ebr, 'EBR');
    assert.equal(checked.predicted.dsp, checked.synthesized.dsp, 'DSP');
    assert.deepEqual([report.predictorError.ebrExact, report.predictorError.dspExact], ['1/1', '1/1']);
    // nextpnr's packed count against the packing model's prediction (no board in this spec: the accelerator alone).
    const packed = report.predictorError.packedLogicCells;
    assert.equal(packed.withBoardTop, false);
    assert.ok(checked.synthesized.packedLogicCells > 0);
    const packedRel = Math.abs(checked.predicted.packedLogicCells - checked.synthesized.packedLogicCells) / checked.synthesized.packedLogicCells;
    assert.ok(Math.abs(packed.medianRelError - packedRel) < 1e-4, `packed: ${packed.medianRelError} vs ${packedRel}`);
    const lutRel = Math.abs(checked.predicted.luts - checked.synthesized.luts) / checked.synthesized.luts;
    assert.ok(lutRel < 0.25, `LUTs: ${checked.predicted.luts} predicted, ${checked.synthesized.luts} synthesized (${(lutRel * 100).toFixed(1)} % off)`);
    assert.equal(report.predictorError.cycles.exact, true);
    assert.deepEqual(report.predictorError.points[0].simulatedCycles, [chosen.cycles]);
    assert.match(readFileSync(join(out, 'pareto.svg'), 'utf8'), /chosen #/);
  });

  it('a rerun with another margin reuses the checked synthesis of the same chosen point', async () => {
    const out = join(root, 'out2');
    await runDseStage(context({ ...spec, dse: { ...spec.dse, margin: 0.2 } }, out) as never);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const first = JSON.parse(readFileSync(join(root, 'out1', 'report.json'), 'utf8'));
    assert.equal(report.chosen.id, first.chosen.id);
    assert.equal(report.syntheses, 0);
    assert.deepEqual(report.predictorError.points[0].synthesized, first.predictorError.points[0].synthesized);
    assert.equal(report.predictorError.points[0].cached, true);
  });

  it('min-luts picks the smallest fitting point (no check)', async () => {
    const out = join(root, 'out3');
    await runDseStage(context({ ...spec, dse: { ...spec.dse, choose: 'min-luts', check: 0 } }, out) as never);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const first = JSON.parse(readFileSync(join(root, 'out1', 'report.json'), 'utf8'));
    assert.ok(report.chosen.logicCells <= first.chosen.logicCells && report.chosen.cycles >= first.chosen.cycles);
    assert.equal(report.syntheses, 0);
    assert.deepEqual(report.predictorError, { skipped: 'dse.check is 0' });
  });

  it('refuses a floating-point model with a hint', async () => {
    writeFileSync(join(root, 'dist', 'convert', 'knobs.json'), canonicalJson({ ...KNOBS8, mode: 'float' }));
    await assert.rejects(runDseStage(context(spec, join(root, 'out4')) as never), /floating point[\s\S]*hint: .*convert.format: fixed/);
    writeFileSync(join(root, 'dist', 'convert', 'knobs.json'), canonicalJson(KNOBS8));
  });
});
