/**
 * How often is the search's hardware admission wrong? Random networks from both search spaces are
 * drawn until `PER_SPACE` of each pass the default spec's constraints (read from the root
 * deepmaker.yaml's search.constraints, with its search.stemStrides for the densenet space; the UP5K,
 * 8-bit weights). For each admitted network the
 * smallest design (one lane per layer) is generated with random weights (an all-zero ROM would be
 * folded away by Yosys), synthesized, wrapped in the iCEBreaker UART top and packed by nextpnr.
 * The figures: how many fit the UP5K once packed, and the packed / predicted logic-cell ratios.
 *
 *   npm run bench -- admission        (ADMISSION_PER_SPACE=N to change the count; default 15)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../src/dse/nas-objectives';
import { architectureIR, quantizationKnobs } from '../src/dse/nas-objectives';
import { CostModel, hardwareObjective, type PointCost } from '../src/dse/cost-model';
import type { Device } from '../src/fpga/devices';
import type { ModelIR } from '../src/ir/types';
import type { NumberKnobs } from '../src/qmodel/precision';
import type { Architecture, DirectiveSet } from '../src/rtl/directives';
import { getBoard } from '../src/fpga/boards';
import { getDevice } from '../src/fpga/devices';
import { packedUtilization } from '../src/fpga/pnr';
import { synthesize } from '../src/fpga/synth';
import { synthesizeBoardTop } from '../src/fpga/board-synth';
import { selectToolchain } from '../src/fpga/toolchain';
import { Rng } from '../src/moo/rng';
import { measureCandidate, quantizationForCounting, resolveConstraints } from '../src/nas/objectives';
import type { SearchSpace } from '../src/nas/space';
import { chainSpace } from '../src/nas/spaces/chain';
import { denseNetSpace } from '../src/nas/spaces/densenet';
import { architectureCost } from '../src/nn/cost';
import { defaultDirectives } from '../src/rtl/directives';
import { generateRtl } from '../src/rtl/generate';
import { recordBench, timed } from './util';

const PER_SPACE = Number(process.env.ADMISSION_PER_SPACE ?? 15);
/** Which design of each network is built: `smallest` (one lane per layer: does the admission hold?) or `fastest`
 * (the fastest point the search's cost model finds under the device with the default 0.1 margin, as the `cycles`
 * objective sees it: samples of the many-lane designs the dse stage chooses, for the packing calibration). */
const DESIGN = (process.env.ADMISSION_DESIGN ?? 'smallest') as 'smallest' | 'fastest';
const DEVICE = 'ice40-up5k';
// The default spec's search, as a user gets it (the repository root's deepmaker.yaml).
const DEFAULT_SEARCH = (parse(readFileSync(join(__dirname, '..', 'deepmaker.yaml'), 'utf8')) as { search: { constraints: Record<string, unknown>; stemStrides?: number[] } }).search;
const CONSTRAINTS = DEFAULT_SEARCH.constraints;

type Design = { architecture: Architecture; set: DirectiveSet; predicted: PointCost };

/** One lane per layer, on the architecture whose packed prediction is smaller. */
function smallestDesign(ir: ModelIR, knobs: NumberKnobs, device: Device): Design {
  const designs = (['engines', 'array'] as const).map((architecture) => {
    const set = { ...defaultDirectives(ir, 1), architecture };
    return { architecture, set, predicted: new CostModel({ ir, knobs, device, architecture }).evaluateSet(set) };
  });
  return designs.sort((a, b) => a.predicted.packedLogicCells - b.predicted.packedLogicCells)[0];
}

/** The fastest design the search's hardware objective finds (architecture auto, margin 0.1). */
function fastestDesign(ir: ModelIR, knobs: NumberKnobs, device: Device): Design {
  const h = hardwareObjective({ ir, knobs, device, margin: 0.1 });
  return { architecture: h.architecture, set: h.directives, predicted: new CostModel({ ir, knobs, device, architecture: h.architecture }).evaluateSet(h.directives) };
}

async function main(): Promise<void> {
  const device = getDevice(DEVICE);
  const board = getBoard('icebreaker')!;
  const toolchain = selectToolchain('auto');
  const plan = quantizationForCounting({ mode: 'fixed', weights: { bits: 8 }, activations: { bits: 8, integer: 4 } } as never);
  const knobs = quantizationKnobs(plan);
  const constraints = resolveConstraints(CONSTRAINTS as never, DEVICE);
  const ctx = { input: [28, 28, 1], classes: 10, activations: ['relu' as const], ...(DEFAULT_SEARCH.stemStrides ? { stemStrides: DEFAULT_SEARCH.stemStrides } : {}) };
  const work = join(tmpdir(), `dm-admission-${process.pid}`);
  const rows: Record<string, unknown>[] = [];
  const drawn: Record<string, { drawn: number; admitted: number }> = {};
  for (const space of [denseNetSpace(ctx), chainSpace(ctx)] as SearchSpace<unknown>[]) {
    const rng = new Rng(`admission:${space.name}`);
    drawn[space.name] = { drawn: 0, admitted: 0 };
    const seen = new Set<string>();
    while (drawn[space.name].admitted < PER_SPACE && drawn[space.name].drawn < 5000) {
      const g = space.random(rng);
      drawn[space.name].drawn++;
      const key = space.key(g);
      if (seen.has(key)) continue;
      seen.add(key);
      const arch = space.toArchitecture(g);
      const m = measureCandidate({ arch, cost: architectureCost(arch), quantization: plan, device: DEVICE }, [], constraints);
      if (m.violation > 0) continue;
      drawn[space.name].admitted++;
      const ir = architectureIR(arch, plan, `adm_${space.name}_${drawn[space.name].admitted}`);
      // Random weights in [-1, 1): resources do not depend on the values, but Yosys folds an all-zero ROM away.
      const wr = new Rng(`weights:${key}`);
      for (const l of ir.layers) for (const t of Object.values(l.weights)) for (let i = 0; i < t.data.length; i++) t.data[i] = wr.next() * 2 - 1;
      const { architecture, set, predicted } = DESIGN === 'fastest' ? fastestDesign(ir, knobs, device) : smallestDesign(ir, knobs, device);
      const gen = generateRtl(ir, knobs, set, { name: device.name, dsp: device.dsp, spram: device.spram }, 'admission');
      const dir = join(work, `${space.name}-${drawn[space.name].admitted}`);
      mkdirSync(dir, { recursive: true });
      const write = (files: Map<string, string>) => [...files].map(([n, t]) => (writeFileSync(join(dir, n), t), join(dir, n)));
      const sources = write(gen.verilog);
      const dataFiles = write(gen.hex);
      const [accel, synthSeconds] = await timed(() => synthesize({ toolchain, device, dir: join(dir, 'accel'), sources, dataFiles, top: gen.top, name: 'accel' }));
      const top = await synthesizeBoardTop({ toolchain, device, board, accel: { ...gen.interface, modelId: 0 }, accelNetlist: accel.netlistVerilog, baud: 115200, clock: { mhz: board.oscillatorMHz }, dir: join(dir, 'top') });
      mkdirSync(join(dir, 'pack'), { recursive: true });
      const packed = await packedUtilization({ toolchain, device, package: 'sg48', dir: join(dir, 'pack'), netlistJson: top.synth.netlistJson });
      const packedCells = packed.ICESTORM_LC?.used ?? NaN;
      const row = {
        space: space.name,
        network: space.describe(g),
        architecture,
        predictedPackedLogicCells: predicted.packedLogicCells,
        params: m.values.params ?? architectureCost(arch).params,
        predictedLogicCells: predicted.logicCells,
        predicted: { luts: predicted.luts, ffs: predicted.ffs, carry: predicted.carry },
        yosys: { accel: { luts: accel.resources.luts, ffs: accel.resources.ffs, carry: accel.resources.carry }, top: { luts: top.synth.resources.luts, ffs: top.synth.resources.ffs, carry: top.synth.resources.carry } },
        admissionLogicCells: m.values.luts,
        yosysLogicCells: { accel: accel.resources.logicCells, top: top.synth.resources.logicCells },
        packedLogicCells: packedCells,
        packedOverPredicted: Math.round((packedCells / predicted.logicCells) * 1000) / 1000,
        packedOverPredictedPacked: Math.round((packedCells / predicted.packedLogicCells) * 1000) / 1000,
        ebr: top.synth.resources.ebr,
        dsp: top.synth.resources.dsp,
        fits: packedCells <= device.logicCells && top.synth.resources.ebr <= device.ebr && top.synth.resources.dsp <= device.dsp,
        synthSeconds: Math.round(synthSeconds),
      };
      rows.push(row);
      record(rows, drawn, toolchain.kind);
      console.log(`[admission] ${space.name} #${drawn[space.name].admitted} (${architecture}): predicted ${row.predictedLogicCells} (${predicted.packedLogicCells} packed), packed ${packedCells} (${row.packedOverPredictedPacked}x the packed prediction), ${row.fits ? 'fits' : 'DOES NOT FIT'} — ${row.network}`);
    }
  }
}

/** Written after every network, so a long run that is stopped still leaves its figures. */
function record(rows: Record<string, unknown>[], drawn: Record<string, { drawn: number; admitted: number }>, toolchain: string): void {
  const ratios = rows.map((r) => r.packedOverPredicted as number).sort((a, b) => a - b);
  const packedRatios = rows.map((r) => r.packedOverPredictedPacked as number).sort((a, b) => a - b);
  recordBench(DESIGN === 'fastest' ? 'admission-fastest' : 'admission', {
    device: DEVICE,
    constraints: CONSTRAINTS,
    design: `${DESIGN === 'fastest' ? 'the fastest point the hardware objective finds under the device with margin 0.1' : 'one lane per layer on the architecture (per-layer engines or the shared array) with the smaller predicted packed count'}, random 8-bit weights, iCEBreaker UART top, packed by nextpnr`,
    toolchain,
    drawn,
    admitted: rows.length,
    fit: rows.filter((r) => r.fits).length,
    worstPackedOverPredicted: ratios[ratios.length - 1],
    medianPackedOverPredicted: ratios[Math.floor(ratios.length / 2)],
    worstPackedOverPackedPrediction: packedRatios[packedRatios.length - 1],
    medianPackedOverPackedPrediction: packedRatios[Math.floor(packedRatios.length / 2)],
    networks: rows,
  });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
