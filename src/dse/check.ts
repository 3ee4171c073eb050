/**
 * The predictor check: K points of the frontier built for real. Each point's accelerator is
 * generated (src/rtl), synthesized with Yosys (src/fpga/synth.ts) and simulated on a few random
 * inputs (src/sim/simulate.ts); the report compares the predicted logic cells, LUTs, flip-flops,
 * EBR and DSP with the synthesized ones, and the predicted cycles with the simulated ones.
 *
 * Results are cached in the stage's work folder by the hash of the generated design, so a rerun
 * (another margin, another rule) synthesizes only points it has not seen.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NumberKnobs } from '../qmodel/precision';
import { resolvePackage, type Device } from '../fpga/devices';
import { packedUtilization } from '../fpga/pnr';
import { synthesize } from '../fpga/synth';
import { synthesizeBoardTop } from '../fpga/board-synth';
import type { Board } from '../fpga/boards';
import type { Toolchain } from '../fpga/toolchain';
import type { ModelIR } from '../ir/types';
import { maxInt, minInt } from '../numerics/fixed';
import { Rng } from '../moo/rng';
import { generateRtl, GeneratedRtl } from '../rtl/generate';
import { encodeInputBytes } from '../rtl/interface';
import { simulate } from '../sim/simulate';
import { sha256 } from '../util/fs';
import type { Logger } from '../util/log';
import { errorStats, ErrorStats, relError } from './calibration';
import type { ExploredPoint } from './search';
import { DirectiveSpace, toDirectiveSet } from './space';

export interface CheckedPoint {
  id: number;
  predicted: { cycles: number; luts: number; ffs: number; carry: number; logicCells: number; packedLogicCells?: number; ebr: number; dsp: number; spram: number };
  synthesized: { luts: number; ffs: number; carry: number; logicCells: number; ebr: number; dsp: number; spram: number; packedLogicCells?: number };
  /** Cycles per inference measured in simulation, per sample (all equal for this RTL). */
  simulatedCycles: number[];
  /** |predicted − synthesized| / synthesized of the logic cells. */
  logicCellError: number;
  lutError: number;
  synthSeconds: number;
  cached: boolean;
}

export interface PredictorCheck {
  points: CheckedPoint[];
  /** The packing model's prediction against nextpnr's packed count (with the board top when there is a board). */
  packedLogicCells?: ErrorStats & { withBoardTop: boolean };
  logicCells: ErrorStats;
  luts: ErrorStats;
  ffs: ErrorStats;
  /** EBR and DSP blocks: predicted exactly on how many of the points. */
  ebrExact: number;
  dspExact: number;
  cycles: { exact: boolean; checked: number; mismatches: { id: number; predicted: number; simulated: number[] }[] };
  toolchain: string;
  simulator?: string;
  syntheses: number;
}

/** K points spread along the frontier (by cycles), the chosen one first. */
export function pickCheckPoints(front: ExploredPoint[], chosen: ExploredPoint, k: number): ExploredPoint[] {
  if (k <= 0) return [];
  const sorted = [...front].sort((a, b) => a.cost.cycles - b.cost.cycles);
  const out: ExploredPoint[] = [chosen];
  const others = sorted.filter((p) => p.id !== chosen.id);
  for (let i = 0; out.length < k && i < others.length; i++) {
    const idx = Math.round(((i + 0.5) * others.length) / Math.max(1, k - 1));
    const p = others[Math.min(others.length - 1, idx)];
    if (!out.includes(p)) out.push(p);
  }
  for (const p of others) if (out.length < k && !out.includes(p)) out.push(p);
  return out.slice(0, k);
}

function randomSamples(gen: GeneratedRtl, n: number, seed: string): Uint8Array[] {
  const rng = new Rng(seed);
  const f = gen.interface.inputFormat;
  return Array.from({ length: n }, () => encodeInputBytes(Int32Array.from({ length: gen.interface.inputElements }, () => rng.intBetween(minInt(f.bits), maxInt(f.bits))), f));
}

export interface CheckOptions {
  ir: ModelIR;
  knobs: NumberKnobs;
  device: Device;
  space: DirectiveSpace;
  points: ExploredPoint[];
  toolchain: Toolchain;
  workDir: string;
  /** Simulate each point on this many random samples for its cycles (0: no simulation). */
  simulateSamples: number;
  /**
   * The board whose UART top is synthesized around each point before it is packed, as the synth stage
   * builds it, so the packed count is the one fit is judged on (the packing model predicts it with the
   * top). Without a board, the accelerator alone is packed.
   */
  board?: { board: Board; baud: number };
  log: Logger;
}

export async function checkPredictor(o: CheckOptions): Promise<PredictorCheck> {
  const checked: CheckedPoint[] = [];
  let syntheses = 0;
  let simulator: string | undefined;
  const mismatches: PredictorCheck['cycles']['mismatches'] = [];
  const toolchain = Object.values(await o.toolchain.versions(['yosys']))[0] ?? o.toolchain.kind;
  for (const p of o.points) {
    const set = toDirectiveSet(o.space, p.genome);
    const gen = generateRtl(o.ir, o.knobs, set, { name: o.device.name, dsp: o.device.dsp, spram: o.device.spram }, 'dse');
    const hash = sha256(JSON.stringify({ v: [...gen.verilog], h: [...gen.hex].map(([n, t]) => [n, sha256(t)]), device: o.device.name, samples: o.simulateSamples, packed: true, board: o.board ? [o.board.board.name, o.board.baud] : null })).slice(0, 20);
    const dir = join(o.workDir, 'check', hash);
    const resultFile = join(dir, 'result.json');
    let synthesized: CheckedPoint['synthesized'];
    let simulatedCycles: number[] = [];
    let synthSeconds = 0;
    let cached = false;
    if (existsSync(resultFile)) {
      const r = JSON.parse(readFileSync(resultFile, 'utf8'));
      ({ synthesized, simulatedCycles, synthSeconds } = r);
      simulator = r.simulator ?? simulator;
      cached = true;
    } else {
      mkdirSync(dir, { recursive: true });
      const sources = [...gen.verilog].map(([n, t]) => {
        writeFileSync(join(dir, n), t);
        return join(dir, n);
      });
      const dataFiles = [...gen.hex].map(([n, t]) => {
        writeFileSync(join(dir, n), t);
        return join(dir, n);
      });
      o.log.info(`predictor check: point #${p.id} (${p.cost.cycles} cycles, ${p.cost.logicCells} logic cells predicted): synthesizing`);
      const s = await synthesize({ toolchain: o.toolchain, device: o.device, dir: join(dir, 'synth'), sources, dataFiles, top: gen.top });
      syntheses++;
      synthSeconds = s.seconds;
      synthesized = { luts: s.resources.luts, ffs: s.resources.ffs, carry: s.resources.carry, logicCells: s.resources.logicCells, ebr: s.resources.ebr, dsp: s.resources.dsp, spram: s.resources.spram };
      // nextpnr's packer: a LUT and a flip-flop share a logic cell only when the LUT feeds that
      // flip-flop, so the placed design needs more cells than max(LUTs, FFs). The synth stage
      // checks the fit on this count; confirm.ts does too.
      const packDir = join(dir, 'pack');
      mkdirSync(packDir, { recursive: true });
      const packedNetlist = o.board
        ? (await synthesizeBoardTop({ toolchain: o.toolchain, device: o.device, board: o.board.board, accel: { ...gen.interface, modelId: 0 }, accelNetlist: s.netlistVerilog, baud: o.board.baud, clock: { mhz: o.board.board.oscillatorMHz }, dir: join(dir, 'top') })).synth.netlistJson
        : s.netlistJson;
      const packed = await packedUtilization({ toolchain: o.toolchain, device: o.device, package: resolvePackage(o.device), dir: packDir, netlistJson: packedNetlist });
      if (packed.ICESTORM_LC) synthesized.packedLogicCells = packed.ICESTORM_LC.used;
      if (o.simulateSamples > 0) {
        const sim = await simulate({
          sources,
          dataFiles,
          top: gen.top,
          inputBytes: gen.interface.inputBytes,
          outputs: gen.interface.outputs,
          outBits: gen.interface.outBits,
          samples: randomSamples(gen, o.simulateSamples, `check:${p.key}`),
          workDir: join(o.workDir, 'sim-builds'),
          optimize: 0,
          maxCyclesPerSample: gen.cycles.cycles * 2 + 10_000,
        });
        simulatedCycles = sim.cycles;
        simulator = sim.simulator.version;
      }
      writeFileSync(resultFile, JSON.stringify({ synthesized, simulatedCycles, synthSeconds, simulator }, null, 2));
    }
    const c = p.cost;
    if (simulatedCycles.some((s) => s !== c.cycles)) mismatches.push({ id: p.id, predicted: c.cycles, simulated: simulatedCycles });
    checked.push({
      id: p.id,
      predicted: { cycles: c.cycles, luts: c.luts, ffs: c.ffs, carry: c.carry, logicCells: c.logicCells, packedLogicCells: c.packedLogicCells, ebr: c.ebr, dsp: c.dsp, spram: c.spram },
      synthesized,
      simulatedCycles,
      logicCellError: round4(relError(c.logicCells, synthesized.logicCells, 1)),
      lutError: round4(relError(c.luts, synthesized.luts, 1)),
      synthSeconds: Math.round(synthSeconds * 10) / 10,
      cached,
    });
    o.log.info(`  #${p.id}: logic cells ${c.logicCells} predicted / ${synthesized.logicCells} synthesized${synthesized.packedLogicCells !== undefined ? `; packed${o.board ? ` with the ${o.board.board.name} top` : ''} ${c.packedLogicCells} predicted / ${synthesized.packedLogicCells}` : ''}; EBR ${c.ebr}/${synthesized.ebr}; DSP ${c.dsp}/${synthesized.dsp}${simulatedCycles.length ? `; cycles ${c.cycles} predicted / ${simulatedCycles.join(',')} simulated` : ''}`);
  }
  const pairs = (k: 'logicCells' | 'luts' | 'ffs') => checked.map((x) => [x.predicted[k], x.synthesized[k]] as [number, number]);
  const packedPairs = checked.filter((x) => x.predicted.packedLogicCells !== undefined && x.synthesized.packedLogicCells !== undefined).map((x) => [x.predicted.packedLogicCells!, x.synthesized.packedLogicCells!] as [number, number]);
  return {
    points: checked,
    ...(packedPairs.length ? { packedLogicCells: { ...errorStats(packedPairs, 1), withBoardTop: !!o.board } } : {}),
    logicCells: errorStats(pairs('logicCells'), 1),
    luts: errorStats(pairs('luts'), 1),
    ffs: errorStats(pairs('ffs'), 1),
    ebrExact: checked.filter((x) => x.predicted.ebr === x.synthesized.ebr).length,
    dspExact: checked.filter((x) => x.predicted.dsp === x.synthesized.dsp).length,
    cycles: { exact: mismatches.length === 0, checked: checked.filter((x) => x.simulatedCycles.length > 0).length, mismatches },
    toolchain,
    ...(simulator ? { simulator } : {}),
    syntheses,
  };
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
