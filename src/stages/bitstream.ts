/**
 * The bitstream stage: dist/synth (netlist.json) -> dist/bitstream.
 *
 * The design clock comes first (src/fpga/clock.ts): target.clockMHz as asked, or `auto`, the
 * fastest clock under the Fmax nextpnr achieves less target.clockMargin. On a board a clock other
 * than the oscillator's comes from the iCE40 PLL: the board top is synthesized again with the PLL
 * and the UART divider of that clock, around the synth stage's accelerator netlist. nextpnr-ice40
 * then places and routes for target.device/package with the board's pcf at that clock; icepack
 * writes the .bin. The stage fails, with the figures, when the achieved Fmax is below the clock.
 * The report gives the clock, Fmax and the latency (the netlist's cycles per inference at the clock).
 *
 * dist/bitstream: deepmaker.bin (for iceprog / the board), deepmaker.asc (for icebram), the pcf used,
 * rom/*.hex (the ROM images inside, for `icebram rom/x.hex new.hex < deepmaker.asc > new.asc`),
 * nextpnr.json (nextpnr's timing and utilisation report), report.json.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { StageContext } from './context';
import { DeepMakerError } from '../util/errors';
import { canonicalJson, readJson } from '../util/fs';
import { Board, boardPcfPath, getBoard } from '../fpga/boards';
import { ClockRequest, clockUnderFmax, DEFAULT_CLOCK_MARGIN, PROBE_MHZ, requestedClock } from '../fpga/clock';
import { getDevice, resolvePackage } from '../fpga/devices';
import { placeAndRoute, PnrResult } from '../fpga/pnr';
import { checkBoardDevice, SynthManifest } from './synth';
import { synthesizeBoardTop } from '../fpga/board-synth';
import { selectToolchain, ToolchainChoice } from '../fpga/toolchain';
import { boardTop, DesignClock } from '../fpga/uart-top';

export interface BitstreamView {
  target: { device: string; package?: string; board: string; clockMHz: ClockRequest; clockMargin?: number; toolchain: ToolchainChoice; baud?: number };
}

export const BITSTREAM_NAME = 'deepmaker';

export async function runBitstreamStage(ctx: StageContext<BitstreamView>): Promise<void> {
  const t = ctx.spec.target;
  const device = getDevice(t.device);
  const board = getBoard(t.board);
  checkBoardDevice(board, device);
  const pkg = resolvePackage(device, t.package, board?.package);
  const synthDir = ctx.inputDir('synth');
  const synth = readJson<SynthManifest>(join(synthDir, 'manifest.json'));
  if (synth.device !== device.name || synth.board !== (board?.name ?? 'none')) {
    throw new DeepMakerError(`dist/synth was built for ${synth.device} / ${synth.board}, not ${device.name} / ${board?.name ?? 'none'}`, { file: join(synthDir, 'manifest.json') }, 'rerun the synth stage');
  }
  if (synth.accel.modelId === undefined || synth.accel.outputs === undefined) {
    throw new DeepMakerError('dist/synth was built by an older deepmaker (no model identity for the UART protocol)', { file: join(synthDir, 'manifest.json') }, 'rerun the synth stage');
  }
  const toolchain = selectToolchain(t.toolchain);
  const work = join(ctx.workDir, 'run');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const margin = t.clockMargin ?? DEFAULT_CLOCK_MARGIN;
  const where = `${device.name}-${pkg}${board ? ` (${board.title})` : ''}`;
  const pcf = board ? boardPcfPath(board) : undefined;
  const route = async (netlistJson: string, freqMHz: number, tag: string) => {
    const dir = join(work, tag);
    mkdirSync(dir, { recursive: true });
    return placeAndRoute({ toolchain, device, package: pkg, dir, netlistJson, pcf, freqMHz, name: BITSTREAM_NAME });
  };

  // The clock: a number is taken as asked (through the PLL when it is not the oscillator's); `auto`
  // places the synth stage's netlist once for a clock it cannot reach and takes the fastest clock
  // under the Fmax achieved, less the margin.
  let clock: DesignClock;
  let probeFmaxMHz: number | undefined;
  if (t.clockMHz === 'auto') {
    ctx.log.info(`clock auto: placing and routing on ${where} for ${PROBE_MHZ} MHz to measure Fmax`);
    const probe = await route(join(synthDir, synth.netlist), PROBE_MHZ, 'probe');
    probeFmaxMHz = probe.fmaxMHz;
    clock = clockUnderFmax(board, probe.fmaxMHz, margin);
    ctx.log.info(`Fmax ${probe.fmaxMHz.toFixed(2)} MHz: the design clock is ${describeClock(clock, board)} (margin ${(margin * 100).toFixed(0)} %)`);
  } else {
    clock = requestedClock(board, t.clockMHz);
  }

  const attempts: { clockMHz: number; fmaxMHz: number }[] = [];
  let pnr: PnrResult;
  let top = synth.top;
  for (;;) {
    let netlist = join(synthDir, synth.netlist);
    if (board && clock.pll) {
      // The top again with the PLL and the UART divider of this clock, around the same accelerator netlist.
      const made = await synthesizeBoardTop({
        toolchain, device, board, accel: synth.accel, accelNetlist: join(synthDir, synth.accel.netlist), baud: synth.baud, clock, dir: join(work, `top-${clock.mhz}`),
      });
      netlist = made.synth.netlistJson;
      top = made.boardTop.module;
      copyFileSync(made.topFile, join(ctx.outDir, 'board_top.v'));
    }
    ctx.log.info(`place and route of ${top} on ${where} at ${describeClock(clock, board)} with ${toolchain.kind} nextpnr`);
    pnr = await route(netlist, clock.mhz, `at-${clock.mhz}`);
    attempts.push({ clockMHz: clock.mhz, fmaxMHz: round(pnr.fmaxMHz) });
    const problem = timingProblem(pnr.fmaxMHz, clock.mhz, pnr.clocks);
    if (!problem) break;
    // The placement for the chosen clock can come out slower than the probe's: `auto` steps down, twice at most.
    if (t.clockMHz === 'auto' && attempts.length < 3) {
      const next = clockUnderFmax(board, pnr.fmaxMHz, margin);
      if (next.mhz < clock.mhz) {
        ctx.log.warn(`${problem}; trying ${describeClock(next, board)}`);
        clock = next;
        continue;
      }
    }
    throw new DeepMakerError(problem, { file: pnr.logFile }, t.clockMHz === 'auto' ? 'shorten the critical path (pipeline: true in the directives, fewer lanes per adder tree) or raise target.clockMargin' : 'lower target.clockMHz or use auto, or shorten the critical path (fewer lanes per adder tree, pipeline: true in the directives)');
  }
  const versions = await toolchain.versions(['nextpnr-ice40', 'icepack']);
  const lc = pnr.utilization.ICESTORM_LC;
  const latencyUs = synth.cycles / clock.mhz;
  ctx.log.info(`Fmax ${pnr.fmaxMHz.toFixed(2)} MHz at a ${clock.mhz} MHz clock; ${synth.cycles} cycles = ${latencyUs.toFixed(1)} us per inference; ${lc ? `${lc.used}/${lc.available} logic cells` : ''}; ${pnr.bytes} bytes`);

  const out = (f: string) => join(ctx.outDir, f);
  copyFileSync(pnr.bin, out(`${BITSTREAM_NAME}.bin`));
  copyFileSync(pnr.asc, out(`${BITSTREAM_NAME}.asc`));
  copyFileSync(join(dirname(pnr.asc), `${BITSTREAM_NAME}.pnr.json`), out('nextpnr.json'));
  if (board) copyFileSync(boardPcfPath(board), out(board.pcf));
  const roms = (synth.roms ?? []).filter((r) => existsSync(join(synthDir, r)));
  if (roms.length) {
    mkdirSync(out('rom'), { recursive: true });
    for (const r of roms) copyFileSync(join(synthDir, r), out(r));
  }
  const uart = board ? boardTop(board, synth.accel, synth.baud, undefined, clock) : undefined;
  const report = {
    file: `${BITSTREAM_NAME}.bin`,
    asc: `${BITSTREAM_NAME}.asc`,
    bytes: pnr.bytes,
    fmaxMHz: round(pnr.fmaxMHz),
    clockMHz: clock.mhz,
    clockRequest: t.clockMHz,
    clockMargin: t.clockMHz === 'auto' ? margin : undefined,
    probeFmaxMHz: probeFmaxMHz === undefined ? undefined : round(probeFmaxMHz),
    attempts,
    pll: clock.pll ? { primitive: board?.pll === 'pad' ? 'SB_PLL40_PAD' : 'SB_PLL40_CORE', ...clock.pll } : undefined,
    cycles: synth.cycles,
    latencyUs: round(latencyUs),
    uart: uart ? { baud: uart.baud, actualBaud: Math.round(uart.actualBaud), clocksPerBit: uart.clocksPerBit, inputBytes: synth.accel.inputBytes, transferUs: round(uartTransferUs(1 + synth.accel.inputBytes, uart.actualBaud)) } : undefined,
    timingMet: true,
    clocks: pnr.clocks.map((c) => ({ clock: c.clock, achievedMHz: round(c.achievedMHz), constraintMHz: c.constraintMHz })),
    device: device.name,
    package: pkg,
    board: board?.name ?? 'none',
    boardClockMHz: board?.oscillatorMHz,
    pcf: board?.pcf,
    top,
    utilization: pnr.utilization,
    logicCells: lc?.used,
    ebr: pnr.utilization.ICESTORM_RAM?.used,
    dsp: pnr.utilization.ICESTORM_DSP?.used,
    tool: toolchain.kind,
    versions,
    seconds: { placeAndRoute: round(pnr.pnrSeconds), pack: round(pnr.packSeconds) },
    roms,
    files: [...new Set([...readdirSync(ctx.outDir), 'report.json'])].sort(),
  };
  writeFileSync(out('report.json'), canonicalJson(report));
}

function describeClock(c: DesignClock, board: Board | undefined): string {
  if (c.pll) return `${c.mhz} MHz (PLL from the ${c.pll.refMHz} MHz oscillator)`;
  return board && c.mhz === board.oscillatorMHz ? `${c.mhz} MHz (the ${board.name}'s oscillator)` : `${c.mhz} MHz`;
}

/** Time to send `bytes` over the UART, 8N1 (10 bits a byte), back to back. A sample is its command byte and inputBytes bytes (src/fpga/board-protocol.ts). */
export function uartTransferUs(bytes: number, baud: number): number {
  return (bytes * 10 * 1e6) / baud;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Why timing is not met (the message carries the figures), or undefined when it is. */
export function timingProblem(fmaxMHz: number, clockMHz: number, clocks: { clock: string; achievedMHz: number }[] = []): string | undefined {
  if (fmaxMHz >= clockMHz) return undefined;
  const per = clocks.length ? `; clocks: ${clocks.map((c) => `${c.clock} ${c.achievedMHz.toFixed(2)} MHz`).join(', ')}` : '';
  return `timing not met: Fmax ${fmaxMHz.toFixed(2)} MHz < ${clockMHz} MHz${per}`;
}
