/**
 * The bitstream stage: dist/synth (netlist.json) -> dist/bitstream.
 *
 * nextpnr-ice40 places and routes for target.device/package with the board's pcf and the clock
 * constraint target.clockMHz; icepack writes the .bin. The stage fails, with the figures, when the
 * achieved Fmax is below the clock (or below the board's oscillator, which is what really clocks the
 * design on a board: the wrapper has no PLL).
 *
 * dist/bitstream: deepmaker.bin (for iceprog / the board), deepmaker.asc (for icebram), the pcf used,
 * rom/*.hex (the ROM images inside, for `icebram rom/x.hex new.hex < deepmaker.asc > new.asc`),
 * nextpnr.json (nextpnr's timing and utilisation report), report.json.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageContext } from '../plugin/stage-context';
import { DeepMakerError } from '../util/errors';
import { canonicalJson, readJson } from '../util/fs';
import { boardPcfPath, getBoard } from './boards';
import { getDevice, resolvePackage } from './devices';
import { placeAndRoute } from './pnr';
import { checkBoardDevice, SynthManifest } from './synth-stage';
import { selectToolchain, ToolchainChoice } from './toolchain';

export interface BitstreamView {
  target: { device: string; package?: string; board: string; clockMHz: number; toolchain: ToolchainChoice; baud?: number };
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
  const toolchain = selectToolchain(t.toolchain);
  const work = join(ctx.workDir, 'run');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });

  ctx.log.info(`place and route of ${synth.top} on ${device.name}-${pkg}${board ? ` (${board.title})` : ''} at ${t.clockMHz} MHz with ${toolchain.kind} nextpnr`);
  const pnr = await placeAndRoute({
    toolchain,
    device,
    package: pkg,
    dir: work,
    netlistJson: join(synthDir, synth.netlist),
    pcf: board ? boardPcfPath(board) : undefined,
    freqMHz: t.clockMHz,
    name: BITSTREAM_NAME,
  });
  const versions = await toolchain.versions(['nextpnr-ice40', 'icepack']);
  const requiredMHz = requiredClockMHz(t.clockMHz, board?.oscillatorMHz);
  const lc = pnr.utilization.ICESTORM_LC;
  ctx.log.info(`Fmax ${pnr.fmaxMHz.toFixed(2)} MHz (required ${requiredMHz} MHz); ${lc ? `${lc.used}/${lc.available} logic cells` : ''}; ${pnr.bytes} bytes`);
  const problem = timingProblem(pnr.fmaxMHz, t.clockMHz, board?.oscillatorMHz, board?.name, pnr.clocks);
  if (problem) throw new DeepMakerError(problem, { file: pnr.logFile }, 'lower target.clockMHz, or shorten the critical path (fewer lanes per adder tree, pipeline: true in the directives)');
  if (board && t.clockMHz !== board.oscillatorMHz) {
    ctx.log.warn(`target.clockMHz is ${t.clockMHz} MHz but the ${board.name} runs the design at its ${board.oscillatorMHz} MHz oscillator (the wrapper has no PLL): timing was checked at ${requiredMHz} MHz`);
  }

  const out = (f: string) => join(ctx.outDir, f);
  copyFileSync(pnr.bin, out(`${BITSTREAM_NAME}.bin`));
  copyFileSync(pnr.asc, out(`${BITSTREAM_NAME}.asc`));
  copyFileSync(join(work, `${BITSTREAM_NAME}.pnr.json`), out('nextpnr.json'));
  if (board) copyFileSync(boardPcfPath(board), out(board.pcf));
  const roms = (synth.roms ?? []).filter((r) => existsSync(join(synthDir, r)));
  if (roms.length) {
    mkdirSync(out('rom'), { recursive: true });
    for (const r of roms) copyFileSync(join(synthDir, r), out(r));
  }
  const report = {
    file: `${BITSTREAM_NAME}.bin`,
    asc: `${BITSTREAM_NAME}.asc`,
    bytes: pnr.bytes,
    fmaxMHz: round(pnr.fmaxMHz),
    clockMHz: t.clockMHz,
    requiredMHz,
    timingMet: true,
    clocks: pnr.clocks.map((c) => ({ clock: c.clock, achievedMHz: round(c.achievedMHz), constraintMHz: c.constraintMHz })),
    device: device.name,
    package: pkg,
    board: board?.name ?? 'none',
    boardClockMHz: board?.oscillatorMHz,
    pcf: board?.pcf,
    top: synth.top,
    utilization: pnr.utilization,
    logicCells: lc?.used,
    ebr: pnr.utilization.ICESTORM_RAM?.used,
    dsp: pnr.utilization.ICESTORM_DSP?.used,
    tool: toolchain.kind,
    versions,
    seconds: { placeAndRoute: round(pnr.pnrSeconds), pack: round(pnr.packSeconds) },
    roms,
    files: readdirSync(ctx.outDir).concat('report.json').sort(),
  };
  writeFileSync(out('report.json'), canonicalJson(report));
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** On a board the oscillator clocks the design (no PLL): timing must hold at it too. */
export function requiredClockMHz(clockMHz: number, oscillatorMHz?: number): number {
  return Math.max(clockMHz, oscillatorMHz ?? 0);
}

/** Why timing is not met (the message carries the figures), or undefined when it is. */
export function timingProblem(fmaxMHz: number, clockMHz: number, oscillatorMHz?: number, boardName?: string, clocks: { clock: string; achievedMHz: number }[] = []): string | undefined {
  const required = requiredClockMHz(clockMHz, oscillatorMHz);
  if (fmaxMHz >= required) return undefined;
  const why = oscillatorMHz !== undefined && oscillatorMHz > clockMHz ? ` (the ${boardName ?? 'board'} clocks the design at its ${oscillatorMHz} MHz oscillator)` : '';
  const per = clocks.length ? `; clocks: ${clocks.map((c) => `${c.clock} ${c.achievedMHz.toFixed(2)} MHz`).join(', ')}` : '';
  return `timing not met: Fmax ${fmaxMHz.toFixed(2)} MHz < ${required} MHz${why}${per}`;
}

