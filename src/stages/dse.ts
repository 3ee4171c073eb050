/**
 * The dse stage: dist/convert (the IR, knobs.json, the C) and target.device -> dist/dse:
 *   points.jsonl   every explored point: directives per partition, predicted cycles and resources, fits
 *   pareto.json    the frontier (fitting points not dominated on cycles, logic cells, EBR, DSP)
 *   pareto.svg     cycles vs logic cells: explored points, the frontier, the front of cycles vs logic (a staircase), device budget, one-lane baseline, chosen point
 *   chosen.json    the chosen point: `directives` (schemas/directives.schema.json, read by the rtl
 *                  stage) and its predicted figures
 *   hls/           the convert C with Vitis HLS pragmas for the chosen point, directives.tcl, run_hls.tcl
 *   report.json    explored, pareto, chosen {directives, cycles, luts, ffs, ebr, dsp}, predictorError,
 *                  baseline and speedup, space, search, budget
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NumberKnobs } from '../qmodel/precision';
import { getDevice } from '../fpga/devices';
import { selectToolchain } from '../fpga/toolchain';
import { readModelIR } from '../ir/serialize';
import type { StageContext } from './context';
import { hasLanes, type Architecture } from '../rtl/directives';
import { DeepMakerError, isDeepMakerError } from '../util/errors';
import { canonicalJson, readJson } from '../util/fs';
import { checkPredictor, pickCheckPoints, PredictorCheck } from '../dse/check';
import { getBoard } from '../fpga/boards';
import { DEFAULT_BAUD } from '../fpga/uart-top';
import { confirmChoice, type Correction } from '../dse/confirm';
import { CostModel, deviceBudget, PointCost } from '../dse/cost-model';
import { exportHls } from '../dse/hls';
import { ChooseRule, choosePoint, paretoFront, paretoSvg } from '../dse/pareto';
import { DEFAULT_SEARCH, explore, ExploredPoint, SearchAlgorithm } from '../dse/search';
import { choicesOf, DirectiveSpace, toDirectiveSet } from '../dse/space';

export interface DseSpec {
  algorithm?: SearchAlgorithm;
  margin?: number;
  choose?: ChooseRule;
  check?: number;
  maxLanes?: number;
  architecture?: 'auto' | Architecture;
  seed?: number;
  population?: number;
  generations?: number;
  exhaustiveLimit?: number;
  simulate?: number;
  hlsPart?: string;
}

export interface DseView {
  dse: DseSpec;
  target: { device: string; board?: string; baud?: number };
}

/** The seed's figure the speedup is set beside (DeepMaker on LeNet-5: 24.34 ms without directives -> 0.55 ms). */
export const SEED_LENET5 = { baselineMs: 24.34, optimizedMs: 0.55, speedup: Math.round((24.34 / 0.55) * 10) / 10 };

function figures(c: PointCost) {
  return { cycles: c.cycles, luts: c.luts, ffs: c.ffs, carry: c.carry, logicCells: c.logicCells, packedLogicCells: c.packedLogicCells, ebr: c.ebr, dsp: c.dsp, spram: c.spram };
}

/** One partition's directive in compact form, for points.jsonl and pareto.json. */
function compactDirectives(space: DirectiveSpace, p: ExploredPoint): Record<string, string> {
  const out: Record<string, string> = {};
  choicesOf(space, p.genome).forEach((c, i) => {
    const part = space.partitions[i];
    if (!hasLanes(part.type)) return;
    out[part.layer] = `${c.lanes}${c.unroll === 'reduction' ? 'r' : c.unroll === 'both' ? `b${c.inputBanks ?? 2}` : c.unroll === 'window' ? `w${c.inputBanks}` : 'o'}${c.lanes > 1 && c.unroll === 'outputs' ? (c.partition === 'block' ? 'b' : 'c') : ''}${c.pipeline ? '' : '-np'}${c.multiplier === 'lut' ? '-lut' : ''}`;
  });
  return out;
}

export async function runDseStage(ctx: StageContext<DseView>): Promise<void> {
  const started = Date.now();
  const spec = ctx.spec.dse ?? {};
  const convDir = ctx.inputDir('convert');
  const ir = readModelIR(convDir);
  const knobs = readJson<NumberKnobs>(join(convDir, 'knobs.json'));
  if (knobs.mode !== 'fixed') {
    throw new DeepMakerError('the converted model is in floating point', { file: join(convDir, 'knobs.json') }, 'the hardware is fixed point: set convert.format: fixed');
  }
  const device = getDevice(ctx.spec.target.device);
  const margin = spec.margin ?? 0.1;
  const budget = deviceBudget(device, margin);
  const rule = spec.choose ?? 'min-latency';
  // Each architecture is a space of its own; auto explores both and keeps the better chosen point.
  const architectures: Architecture[] = spec.architecture === 'engines' || spec.architecture === 'array' ? [spec.architecture] : ['engines', 'array'];
  const runs = architectures.map((architecture) => {
    const m = new CostModel({ ir, knobs, device, maxLanes: spec.maxLanes ?? 16, architecture });
    ctx.log.info(`${architecture}: ${m.space.partitions.length} partitions (loop nests), ${m.space.genes.length} with directive choices; ${m.space.size.toExponential(3)} points; budget ${budget.logicCells} logic cells, ${budget.ebr} EBR, ${budget.dsp} DSP, ${budget.spram} SPRAM (${device.name}, margin ${margin})`);
    const r = explore(m, budget, {
      algorithm: spec.algorithm ?? 'auto',
      exhaustiveLimit: spec.exhaustiveLimit ?? DEFAULT_SEARCH.exhaustiveLimit,
      population: spec.population ?? DEFAULT_SEARCH.population,
      generations: spec.generations ?? DEFAULT_SEARCH.generations,
      seed: spec.seed ?? DEFAULT_SEARCH.seed,
      log: ctx.log,
    });
    let pick: ExploredPoint | undefined;
    let problem: unknown;
    try {
      pick = choosePoint(r.points, rule, budget);
    } catch (e) {
      if (!isDeepMakerError(e)) throw e;
      problem = e;
    }
    return { architecture, model: m, result: r, pick, problem };
  });
  const candidates = runs.filter((r) => r.pick);
  if (candidates.length === 0) throw runs[0].problem;
  const better = (a: ExploredPoint, b: ExploredPoint) =>
    rule === 'min-luts' ? a.cost.packedLogicCells - b.cost.packedLogicCells || a.cost.cycles - b.cost.cycles : a.cost.cycles - b.cost.cycles || a.cost.packedLogicCells - b.cost.packedLogicCells;
  const winner = [...candidates].sort((a, b) => better(a.pick!, b.pick!))[0];
  const architectureReport = {
    chosen: winner.architecture,
    why:
      candidates.length === 1
        ? runs.length === 1
          ? 'dse.architecture names it'
          : `the only architecture with a point that fits (${runs.filter((r) => !r.pick).map((r) => r.architecture).join(', ')}: none fits)`
        : `its chosen point is better by choose: ${rule} (${candidates.map((c) => `${c.architecture}: ${c.pick!.cost.cycles} cycles, ${c.pick!.cost.packedLogicCells} packed cells`).join('; ')})`,
    candidates: runs.map((r) => ({ architecture: r.architecture, explored: r.result.points.length, fitting: r.result.points.filter((p) => p.fits).length, ...(r.pick ? { cycles: r.pick.cost.cycles, packedLogicCells: r.pick.cost.packedLogicCells, ebr: r.pick.cost.ebr, dsp: r.pick.cost.dsp } : { fits: false }) })),
  };
  ctx.log.info(`architecture: ${winner.architecture} — ${architectureReport.why}`);
  const model = winner.model;
  const space = model.space;
  const result = winner.result;
  const searchSeconds = (Date.now() - started) / 1000;
  const points = result.points;
  const baseline = points.find((p) => p.genome.every((c) => c === 0))!;
  const front = paretoFront(points);
  let chosen = winner.pick!;
  const fitting = points.filter((p) => p.fits).length;

  // Predictor check: K frontier points built for real, the chosen one first. When synthesis says
  // the chosen point does not fit, the choice is made again on corrected predictions (confirm.ts).
  const k = Math.min(spec.check ?? 3, front.length);
  let check: PredictorCheck | undefined;
  let corrections: Correction[] = [];
  let syntheses = 0;
  if (k > 0) {
    const toolchain = selectToolchain('auto', ['yosys', 'nextpnr-ice40']);
    // The board the synth stage wraps the design in (none when it carries another device: synth refuses that).
    const named = ctx.spec.target.board ? getBoard(ctx.spec.target.board) : undefined;
    const board = named && named.device === device.name ? named : undefined;
    const run = async (pts: ExploredPoint[]) => {
      const c = await checkPredictor({ ir, knobs, device, space, points: pts, toolchain, workDir: ctx.workDir, simulateSamples: spec.simulate ?? 2, ...(board ? { board: { board, baud: ctx.spec.target.baud ?? DEFAULT_BAUD } } : {}), log: ctx.log });
      syntheses += c.syntheses;
      return c;
    };
    const confirmed = await confirmChoice({ points, rule: spec.choose ?? 'min-latency', budget, first: pickCheckPoints(front, chosen, k), check: run, log: ctx.log });
    chosen = confirmed.chosen;
    check = confirmed.check;
    corrections = confirmed.corrections;
    ctx.log.info(`predictor check on ${check.points.length} points: median error of the packed cells${check.packedLogicCells?.withBoardTop ? ' (with the board top)' : ''} ${check.packedLogicCells ? `${(check.packedLogicCells.medianRelError * 100).toFixed(1)} %` : 'not measured'}, of Yosys's logic cells ${(check.logicCells.medianRelError * 100).toFixed(1)} %, LUT ${(check.luts.medianRelError * 100).toFixed(1)} %; cycles ${check.cycles.exact ? 'exact' : 'NOT exact'} on ${check.cycles.checked} simulated points`);
  }
  ctx.log.info(`${result.algorithm}: ${points.length} points explored (${fitting} fit), ${front.length} on the frontier; chosen #${chosen.id}: ${chosen.cost.cycles} cycles, ${chosen.cost.logicCells} logic cells (${chosen.cost.packedLogicCells} once packed with the board top), ${chosen.cost.ebr} EBR, ${chosen.cost.dsp} DSP (baseline ${baseline.cost.cycles} cycles)`);

  // points.jsonl, pareto.json, pareto.svg, chosen.json
  const lines = points.map((p) => JSON.stringify({ id: p.id, origin: p.origin, fits: p.fits, violation: Math.round(p.violation * 1e4) / 1e4, ...figures(p.cost), directives: compactDirectives(space, p), ...(p.cost.legal ? {} : { problem: p.cost.problem }) }));
  writeFileSync(join(ctx.outDir, 'points.jsonl'), lines.join('\n') + '\n');
  const frontJson = front.map((p) => ({ id: p.id, ...figures(p.cost), directives: compactDirectives(space, p) }));
  writeFileSync(join(ctx.outDir, 'pareto.json'), canonicalJson({ objectives: ['cycles', 'logicCells', 'ebr', 'dsp'], budget, points: frontJson }));
  writeFileSync(join(ctx.outDir, 'pareto.svg'), paretoSvg(points, front, chosen, { title: `${ir.name} on ${device.name}: ${points.length} points, ${front.length} on the frontier`, budgetLogicCells: budget.logicCells, baseline }));
  const directives = toDirectiveSet(space, chosen.genome);
  const chosenJson = {
    id: chosen.id,
    rule: spec.choose ?? 'min-latency',
    directives,
    ...figures(chosen.cost),
    perPartition: chosen.cost.perPartition,
    note: 'cycles are exact for the generated RTL; luts/ffs/carry/logicCells are predicted by the calibrated model, packedLogicCells (what fit is judged on) by the packing model (src/dse/packing.ts); ebr/dsp/spram are counted from the generated memories and multipliers',
  };
  writeFileSync(join(ctx.outDir, 'chosen.json'), canonicalJson(chosenJson));

  // Vendor export.
  const hls = exportHls({
    convertDir: convDir,
    outDir: join(ctx.outDir, 'hls'),
    model: ir.name,
    partitions: space.partitions.map((p, i) => ({ partition: p, choice: p.choices[chosen.genome[i]] })),
    part: spec.hlsPart ?? 'xc7z020clg400-1',
    inputSize: model.q.inputs[0].size,
    outputSize: model.q.tensors.get(model.q.outputs[0])!.size,
    provenance: `DSE point #${chosen.id}, ${chosen.cost.cycles} cycles in the generated RTL`,
  });
  if (hls.tclOnly.length) ctx.log.warn(`${hls.tclOnly.length} directive(s) had no place in model.c and are in directives.tcl only`);

  const speedup = Math.round((baseline.cost.cycles / chosen.cost.cycles) * 100) / 100;
  const report = {
    model: ir.name,
    device: device.name,
    margin,
    budget,
    architecture: architectureReport,
    space: {
      points: space.size,
      partitions: space.partitions.map((p) => ({ layer: p.layer, type: p.type, loopNest: p.loopNest, trips: p.trips, choices: p.choices.length })),
    },
    search: { algorithm: result.algorithm, generations: result.generations, seconds: Math.round(searchSeconds * 100) / 100 },
    explored: points.length,
    fitting,
    pareto: frontJson,
    chosen: { id: chosen.id, rule: chosenJson.rule, directives, ...figures(chosen.cost) },
    baseline: { id: baseline.id, ...figures(baseline.cost), fits: baseline.fits },
    speedup: { vsOneLane: speedup, seedLenet5: SEED_LENET5, note: `${speedup}x fewer cycles than one lane per layer (the seed: LeNet-5 ${SEED_LENET5.baselineMs} ms -> ${SEED_LENET5.optimizedMs} ms, ${SEED_LENET5.speedup}x)` },
    predictorError: check
      ? { ...(check.packedLogicCells ? { packedLogicCells: check.packedLogicCells } : {}), logicCells: check.logicCells, luts: check.luts, ffs: check.ffs, ebrExact: `${check.ebrExact}/${check.points.length}`, dspExact: `${check.dspExact}/${check.points.length}`, cycles: check.cycles, points: check.points, toolchain: check.toolchain, simulator: check.simulator }
      : { skipped: 'dse.check is 0' },
    syntheses,
    corrections,
    hls: { files: hls.files.map((f) => `hls/${f}`), directives: hls.directives.length, tclOnly: hls.tclOnly.map((d) => d.tcl) },
    calibration: { toolchain: model.calibration.toolchain, designFit: model.calibration.fit.designs.logicCells },
    seconds: Math.round(((Date.now() - started) / 1000) * 100) / 100,
    files: ['points.jsonl', 'pareto.json', 'pareto.svg', 'chosen.json', 'report.json', ...hls.files.map((f) => `hls/${f}`)].sort(),
  };
  writeFileSync(join(ctx.outDir, 'report.json'), canonicalJson(report));
}
