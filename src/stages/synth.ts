/**
 * The synth stage: dist/rtl (the accelerator) -> dist/synth.
 *
 *  1. Yosys synth_ice40 (-dsp on the UP5K) of the accelerator alone: netlist, resource figures.
 *     A design that does not fit the device stops here, with the figures.
 *  2. The synthesized netlist simulated on the first `netlistSamples` vectors of the sim stage, bit
 *     for bit against the C fixed-point model's outputs (dist/sim/vectors.json): Yosys was seen to
 *     map DSPs wrongly without a word (DESIGN §6), so a bit-exact RTL alone proves nothing about the
 *     bitstream.
 *  3. With a board: the UART wrapper synthesized around the accelerator netlist, which is stitched
 *     in unchanged (what was simulated is what gets placed).
 *
 * dist/synth: netlist.json (for nextpnr), netlist.v, accel.json/accel.v (the accelerator alone),
 * board_top.v (with a board), rom/*.hex (the ROM images the netlist was built with: the "old" files
 * for an icebram swap), manifest.json (what the bitstream stage reads), report.json.
 *
 * The clock is not in this stage's view: the board top here runs at the board's oscillator; the
 * bitstream stage chooses the design clock (target.clockMHz, or `auto` from the achieved Fmax) and
 * makes the top again with a PLL, so a clock edit reruns only the bitstream stage.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageContext } from './context';
import type { StreamInterface } from '../rtl/interface';
import { DeepMakerError } from '../util/errors';
import { canonicalJson, readJson } from '../util/fs';
import { Board, boardPcfPath, getBoard } from '../fpga/boards';
import { Device, fitProblems, getDevice, resolvePackage, ResourceUse } from '../fpga/devices';
import { packedUtilization } from '../fpga/pnr';
import type { YosysNetlist } from '../fpga/netlist-sim';
import type { SynthResources } from '../fpga/resources';
import { runStreamOnNetlist } from '../fpga/stream-sim';
import { synthesize, SynthResult, yosysWarnings } from '../fpga/synth';
import { selectToolchain, Toolchain, ToolchainChoice } from '../fpga/toolchain';
import { modelIdentity } from '../fpga/board-protocol';
import { AccelPorts, DEFAULT_BAUD } from '../fpga/uart-top';
import { synthesizeBoardTop } from '../fpga/board-synth';

export interface SynthView {
  target: { device: string; package?: string; board: string; toolchain: ToolchainChoice; baud?: number };
}

/** What the sim stage leaves for this one (src/stages/sim.ts). */
export interface SimVectors {
  file: string;
  samples: number;
  netlistSamples: number;
  inputBytes: number;
  outputs: number;
  outBits: number;
  logits: number[][];
  classes: number[];
}

export const NETLIST_SIMULATOR = 'deepmaker netlist simulator (src/fpga/netlist-sim.ts: cycle-based, 32 samples bit-parallel, Yosys ice40/cells_sim.v semantics)';

/** The RTL sources of dist/rtl: every .v but the testbenches, and the ROM images they read. */
export function rtlInputs(rtlDir: string): { sources: string[]; dataFiles: string[] } {
  const files = readdirSync(rtlDir).sort();
  const sources = files.filter((f) => f.endsWith('.v') && !f.startsWith('tb_')).map((f) => join(rtlDir, f));
  const dataFiles = files.filter((f) => /\.(hex|mem)$/.test(f)).map((f) => join(rtlDir, f));
  if (sources.length === 0) throw new DeepMakerError('dist/rtl holds no Verilog', { file: rtlDir }, 'rerun the rtl stage');
  return { sources, dataFiles };
}

export function resourceUse(r: SynthResources): ResourceUse {
  return { logicCells: r.logicCells, ebr: r.ebr, dsp: r.dsp, spram: r.spram };
}

function figures(r: SynthResources, d: Device): string {
  return `${r.logicCells}/${d.logicCells} logic cells (${r.luts} LUTs, ${r.ffs} flip-flops), ${r.ebr}/${d.ebr} EBR, ${r.dsp}/${d.dsp} DSP, ${r.spram}/${d.spram} SPRAM`;
}

/** Stops with the figures when the design needs more of something than the device has. */
export function checkFit(r: SynthResources, d: Device, what: string, logFile: string, packedLogicCells?: number): void {
  const use = resourceUse(r);
  if (packedLogicCells !== undefined) use.logicCells = packedLogicCells;
  const over = fitProblems(use, d);
  if (over.length === 0) return;
  const worst = over.map((p) => `${p.resource} ${p.used} > ${p.available}`).join(', ');
  const packed = packedLogicCells !== undefined ? `${packedLogicCells} logic cells once packed by nextpnr; ` : '';
  throw new DeepMakerError(
    `${what} does not fit ${d.name}: ${worst} (uses ${packed}${figures(r, d)})`,
    { file: logFile },
    'use fewer MAC lanes (rtl.lanes, or dse.margin / dse.maxLanes), narrower weights, a smaller model, or a bigger device (target.device)',
  );
}

export function checkBoardDevice(board: Board | undefined, device: Device): void {
  if (board && board.device !== device.name) {
    throw new DeepMakerError(`board '${board.name}' carries an ${board.device}, but target.device is ${device.name}`, { where: 'target.board' }, `set target.device: ${board.device}, or target.board: none`);
  }
}

export async function runSynthStage(ctx: StageContext<SynthView>): Promise<void> {
  const t = ctx.spec.target;
  const device = getDevice(t.device);
  const board = getBoard(t.board);
  checkBoardDevice(board, device);
  const toolchain = selectToolchain(t.toolchain);
  const rtlDir = ctx.inputDir('rtl');
  const iface = readJson<StreamInterface>(join(rtlDir, 'interface.json'));
  const { sources, dataFiles } = rtlInputs(rtlDir);
  // What the board answers to an identify command: a host run for another model refuses it.
  const modelId = modelIdentity(join(rtlDir, 'interface.json'), [...sources, ...dataFiles]);
  const ports: AccelPorts = { inputBytes: iface.inputBytes, outputs: iface.outputs, outBits: iface.outBits, classBits: iface.classBits, modelId };
  const work = join(ctx.workDir, 'run');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });

  ctx.log.info(`synthesizing ${iface.top} for ${device.name} with ${toolchain.kind} Yosys (${sources.length} sources, ${dataFiles.length} ROM images)`);
  const accel = await synthesize({ toolchain, device, dir: join(work, 'accel'), sources, dataFiles, top: iface.top, name: 'accel' });
  ctx.log.info(`${iface.top}: ${figures(accel.resources, device)} in ${accel.seconds.toFixed(1)} s`);
  checkFit(accel.resources, device, `the accelerator ${iface.top}`, accel.logFile);

  const netlistSim = simulateNetlist(ctx, accel, iface);

  let final: SynthResult = accel;
  let uart: Record<string, unknown> | undefined;
  const baud = t.baud ?? DEFAULT_BAUD;
  if (board) {
    // At the oscillator's clock: the bitstream stage chooses the design clock and, for a PLL clock,
    // synthesizes this top again around the same accelerator netlist (the PLL is a hard block; only
    // the UART divider's constants change).
    const top = await synthesizeBoardTop({ toolchain, device, board, accel: ports, accelNetlist: accel.netlistVerilog, baud, clock: { mhz: board.oscillatorMHz }, dir: join(work, 'top') });
    final = top.synth;
    ctx.log.info(`${top.boardTop.module} (${board.title}, UART ${baud} baud): ${figures(final.resources, device)}`);
    checkFit(final.resources, device, `the ${board.name} top (accelerator + UART)`, final.logFile);
    copyFileSync(top.topFile, join(ctx.outDir, 'board_top.v'));
    const bt = top.boardTop;
    uart = { baud, actualBaud: Math.round(bt.actualBaud), clocksPerBit: bt.clocksPerBit, timeoutClocks: bt.timeoutClocks, inputBytes: iface.inputBytes, clockMHz: bt.clockMHz };
  }

  // The exact logic-cell count comes from nextpnr's packer; Yosys's figures are a lower bound.
  const pkg = resolvePackage(device, t.package, board?.package);
  const packDir = join(work, 'pack');
  mkdirSync(packDir, { recursive: true });
  const packStarted = process.hrtime.bigint();
  const packed = await packedUtilization({ toolchain, device, package: pkg, dir: packDir, netlistJson: final.netlistJson, pcf: board ? boardPcfPath(board) : undefined });
  const packSeconds = Number(process.hrtime.bigint() - packStarted) / 1e9;
  const packedLc = packed.ICESTORM_LC?.used ?? final.resources.logicCells;
  ctx.log.info(`packed: ${packedLc}/${device.logicCells} logic cells`);
  checkFit(final.resources, device, board ? `the ${board.name} top (accelerator + UART)` : `the accelerator ${iface.top}`, join(packDir, 'pack.pack.log'), packedLc);

  copyFileSync(final.netlistJson, join(ctx.outDir, 'netlist.json'));
  copyFileSync(final.netlistVerilog, join(ctx.outDir, 'netlist.v'));
  if (final !== accel) {
    copyFileSync(accel.netlistJson, join(ctx.outDir, 'accel.json'));
    copyFileSync(accel.netlistVerilog, join(ctx.outDir, 'accel.v'));
  }
  if (dataFiles.length) {
    mkdirSync(join(ctx.outDir, 'rom'), { recursive: true });
    for (const f of dataFiles) copyFileSync(f, join(ctx.outDir, 'rom', f.slice(rtlDir.length + 1)));
  }
  const versions = await toolchain.versions(['yosys']);
  const r = final.resources;
  const log = readFileSync(accel.logFile, 'utf8');
  const report = {
    device: device.name,
    board: board?.name ?? 'none',
    top: final.top,
    netlist: 'netlist.json',
    package: pkg,
    luts: r.luts,
    ffs: r.ffs,
    carry: r.carry,
    logicCells: packedLc,
    logicCellsLowerBound: r.logicCells,
    ebr: r.ebr,
    dsp: r.dsp,
    spram: r.spram,
    cells: r.cells,
    available: { logicCells: device.logicCells, ebr: device.ebr, dsp: device.dsp, spram: device.spram },
    utilization: {
      logicCells: packedLc / device.logicCells,
      ebr: device.ebr ? r.ebr / device.ebr : 0,
      dsp: device.dsp ? r.dsp / device.dsp : 0,
    },
    accel: final !== accel ? { top: accel.top, ...withoutCells(accel.resources) } : undefined,
    uart,
    netlistSim,
    tool: toolchain.kind,
    version: versions.yosys,
    seconds: { synth: round(accel.seconds + (final !== accel ? final.seconds : 0)), netlistSim: netlistSim.seconds, pack: round(packSeconds) },
    yosysWarnings: yosysWarnings(log).length,
    roms: dataFiles.map((f) => `rom/${f.slice(rtlDir.length + 1)}`),
  };
  writeFileSync(join(ctx.outDir, 'report.json'), canonicalJson(report));
  // What the bitstream stage needs, without timings: an unchanged netlist then cuts off there.
  const manifest: SynthManifest = {
    device: device.name,
    package: pkg,
    board: board?.name ?? 'none',
    top: final.top,
    netlist: 'netlist.json',
    roms: report.roms,
    cycles: netlistSim.cycles,
    accel: { top: iface.top, netlist: final !== accel ? 'accel.v' : 'netlist.v', ...ports },
    baud,
  };
  writeFileSync(join(ctx.outDir, 'manifest.json'), canonicalJson(manifest));
}

/** dist/synth/manifest.json: the netlist and how it was built (no timings, unlike report.json). */
export interface SynthManifest {
  device: string;
  package: string;
  board: string;
  top: string;
  netlist: string;
  roms: string[];
  /** Clocks per inference, counted on the synthesized netlist (the latency at the clock the bitstream stage chooses). */
  cycles: number;
  /** The accelerator alone (its synthesized Verilog) and its stream ports, for a board top made again at another clock. */
  accel: { top: string; netlist: string } & AccelPorts;
  baud: number;
}

function withoutCells(r: SynthResources): Omit<SynthResources, 'cells'> {
  const { cells: _cells, ...rest } = r;
  return rest;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Replays the sim stage's vectors on the synthesized netlist; every logit must equal the C model's. */
function simulateNetlist(ctx: StageContext<SynthView>, accel: SynthResult, iface: StreamInterface) {
  const simDir = ctx.inputDir('sim');
  const vecFile = join(simDir, 'vectors.json');
  if (!existsSync(vecFile)) throw new DeepMakerError('the sim stage left no test vectors', { file: vecFile }, 'rerun the sim stage');
  const vec = readJson<SimVectors>(vecFile);
  if (vec.inputBytes !== iface.inputBytes || vec.outputs !== iface.outputs) {
    throw new DeepMakerError(`the sim vectors (${vec.inputBytes} bytes -> ${vec.outputs} outputs) do not match the accelerator (${iface.inputBytes} -> ${iface.outputs})`, { file: vecFile }, 'rerun the sim stage');
  }
  const bytes = new Uint8Array(readFileSync(join(simDir, vec.file)));
  const netlist = JSON.parse(readFileSync(accel.netlistJson, 'utf8')) as YosysNetlist;
  let lastLog = Date.now();
  const check = checkNetlistAgainstVectors(netlist, iface.top, bytes, vec, (done, total) => {
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      ctx.log.info(`netlist simulation: ${done}/${total} samples`);
    }
  });
  ctx.log.info(`netlist simulation: ${check.bitExact}/${check.samples} samples bit-exact with the C model (${check.cycles} cycles per inference, ${check.seconds.toFixed(1)} s)`);
  if (check.bitExact < check.samples) {
    const file = join(ctx.workDir, 'netlist-mismatches.jsonl');
    writeFileSync(file, check.mismatches.map((m) => m + '\n').join(''));
    throw new DeepMakerError(
      `the synthesized netlist differs from the C fixed-point model on ${check.samples - check.bitExact} of ${check.samples} samples (the RTL did not: Yosys changed the design's behaviour)`,
      { file },
      'the traces name the samples and outputs; building the multipliers from logic (multiplier: lut in a directive set, rtl.directives) avoids the DSP mapping',
    );
  }
  const { mismatches: _m, ...summary } = check;
  return summary;
}

export interface NetlistCheck {
  samples: number;
  bitExact: number;
  /** Clocks per inference on the netlist, counted as the RTL simulation counts them (last input to first output). */
  cycles: number;
  simulator: string;
  lanes: number;
  simulatedCycles: number;
  seconds: number;
  /** One JSON line per sample that differs. */
  mismatches: string[];
}

/** The first `vec.netlistSamples` samples of `bytes` through the netlist, compared with the C model's logits and classes. */
export function checkNetlistAgainstVectors(netlist: YosysNetlist, top: string, bytes: Uint8Array, vec: SimVectors, progress?: (done: number, total: number) => void): NetlistCheck {
  const n = Math.min(vec.netlistSamples, vec.samples, Math.floor(bytes.length / vec.inputBytes));
  const samples = Array.from({ length: n }, (_, s) => bytes.subarray(s * vec.inputBytes, (s + 1) * vec.inputBytes));
  const started = process.hrtime.bigint();
  const result = n === 0 ? undefined : runStreamOnNetlist(netlist, samples, { top, progress });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const mismatches: string[] = [];
  let bitExact = 0;
  for (let s = 0; s < n; s++) {
    const got = result!.outputs[s];
    const want = vec.logits[s];
    const differing = want.flatMap((v, i) => (got[i] !== v ? [i] : []));
    if (differing.length === 0 && got.length === want.length && result!.classes[s] === vec.classes[s]) bitExact++;
    else mismatches.push(JSON.stringify({ sample: s, netlist: { logits: got, class: result!.classes[s] }, c: { logits: want, class: vec.classes[s] }, differing }));
  }
  return {
    samples: n,
    bitExact,
    cycles: result ? Math.max(...result.cycles) : 0,
    simulator: NETLIST_SIMULATOR,
    lanes: result?.lanes ?? 0,
    simulatedCycles: result?.simulatedCycles ?? 0,
    seconds: round(seconds),
    mismatches,
  };
}
