/**
 * Place and route with nextpnr-ice40, then icepack: a netlist JSON in, an .asc and a .bin out, with
 * the achieved clock frequency and the placed resource use read from nextpnr's --report JSON (its
 * log is the fallback and the explanation when it fails).
 */
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DeepMakerError } from '../util/errors';
import type { Device } from './devices';
import { ToolFailure, Toolchain } from './toolchain';

export interface PnrInput {
  toolchain: Toolchain;
  device: Device;
  package: string;
  /** Folder for the inputs (copied) and outputs. */
  dir: string;
  netlistJson: string;
  /** Pin constraints; without one, nextpnr places the top's ports on pins of its choosing. */
  pcf?: string;
  /** The clock constraint nextpnr optimises for. */
  freqMHz: number;
  /** nextpnr's placement seed (it is deterministic for a given seed). */
  seed?: number;
  /** Output base name: <name>.asc, <name>.bin, <name>.pnr.json, <name>.pnr.log. */
  name?: string;
}

export interface ClockTiming {
  /** nextpnr's name of the clock net. */
  clock: string;
  achievedMHz: number;
  constraintMHz: number;
}

export interface PnrResult {
  asc: string;
  bin: string;
  bytes: number;
  /** The slowest clock's achieved frequency (the design's Fmax). */
  fmaxMHz: number;
  clocks: ClockTiming[];
  /** nextpnr's utilisation: ICESTORM_LC, ICESTORM_RAM, ICESTORM_DSP, SB_IO... */
  utilization: Record<string, { used: number; available: number }>;
  pnrSeconds: number;
  packSeconds: number;
  logFile: string;
}

interface NextpnrReport {
  fmax?: Record<string, { achieved: number; constraint: number }>;
  utilization?: Record<string, { used: number; available: number }>;
}

export async function placeAndRoute(input: PnrInput): Promise<PnrResult> {
  const name = input.name ?? 'top';
  const json = basename(input.netlistJson);
  if (join(input.dir, json) !== input.netlistJson) copyFileSync(input.netlistJson, join(input.dir, json));
  const inputs = [json];
  const args = [input.device.nextpnrFlag, '--package', input.package, '--json', json, '--asc', `${name}.asc`, '--freq', String(input.freqMHz), '--report', `${name}.pnr.json`, '--seed', String(input.seed ?? 1)];
  // Timing is judged by the caller, with the figures; nextpnr would otherwise stop without them.
  args.push('--timing-allow-fail');
  if (input.pcf) {
    const pcf = basename(input.pcf);
    copyFileSync(input.pcf, join(input.dir, pcf));
    inputs.push(pcf);
    args.push('--pcf', pcf);
  }
  const logName = `${name}.pnr.log`;
  let pnrSeconds: number;
  let log: string;
  try {
    const r = await input.toolchain.run('nextpnr-ice40', { dir: input.dir, args, inputs, logFile: logName });
    pnrSeconds = r.seconds;
    log = r.log;
  } catch (e) {
    if (e instanceof ToolFailure) throw explainPnrFailure(e, input);
    throw e;
  }
  const reportFile = join(input.dir, `${name}.pnr.json`);
  const report: NextpnrReport = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, 'utf8')) as NextpnrReport) : {};
  const clocks = report.fmax ? Object.entries(report.fmax).map(([clock, f]) => ({ clock, achievedMHz: f.achieved, constraintMHz: f.constraint })) : clocksFromLog(log);
  const utilization = report.utilization ?? utilizationFromLog(log);

  const pack = await input.toolchain.run('icepack', { dir: input.dir, args: [`${name}.asc`, `${name}.bin`], inputs: [`${name}.asc`], logFile: `${name}.icepack.log` });
  const bin = join(input.dir, `${name}.bin`);
  return {
    asc: join(input.dir, `${name}.asc`),
    bin,
    bytes: statSync(bin).size,
    fmaxMHz: clocks.length ? Math.min(...clocks.map((c) => c.achievedMHz)) : Infinity,
    clocks,
    utilization,
    pnrSeconds,
    packSeconds: pack.seconds,
    logFile: join(input.dir, logName),
  };
}

/** "Info: Max frequency for clock 'clk$glb_clk': 35.59 MHz (PASS at 12.00 MHz)": the last figure per clock (after routing). */
export function clocksFromLog(log: string): ClockTiming[] {
  const byClock = new Map<string, ClockTiming>();
  for (const m of log.matchAll(/Max frequency for clock\s+'([^']+)':\s*([\d.]+)\s*MHz\s*\((?:PASS|FAIL)\s+at\s+([\d.]+)\s*MHz\)/g)) {
    byClock.set(m[1], { clock: m[1], achievedMHz: Number(m[2]), constraintMHz: Number(m[3]) });
  }
  return [...byClock.values()];
}

/** "Info: 	         ICESTORM_LC:  1234/  5280    23%": nextpnr's device utilisation block. */
export function utilizationFromLog(log: string): Record<string, { used: number; available: number }> {
  const out: Record<string, { used: number; available: number }> = {};
  for (const m of log.matchAll(/^Info:\s+(\w+):\s+(\d+)\/\s*(\d+)\s+\d+%/gm)) out[m[1]] = { used: Number(m[2]), available: Number(m[3]) };
  return out;
}

function explainPnrFailure(e: ToolFailure, input: PnrInput): Error {
  const use = utilizationFromLog(e.log);
  const over = Object.entries(use).filter(([, u]) => u.used > u.available);
  if (over.length > 0 || /Unable to place|does not fit|too many|more .* than available/i.test(e.log)) {
    const figures = Object.entries(use)
      .filter(([, u]) => u.used > 0)
      .map(([k, u]) => `${k} ${u.used}/${u.available}`)
      .join(', ');
    return new DeepMakerError(
      `the design does not fit ${input.device.name} (${input.package}) at place and route${figures ? `: ${figures}` : ''}`,
      { file: e.location.file },
      'use fewer MAC lanes or a smaller model (rtl.lanes, dse.margin), or a bigger device (target.device)',
    );
  }
  return e;
}

/**
 * nextpnr's packer alone (--pack-only, a few seconds): the exact number of logic cells the design
 * takes. Yosys's LUT and flip-flop counts are only a lower bound: nextpnr pairs a flip-flop with the
 * LUT driving it and gives carry chains cells of their own (measured on a 4-lane MNIST CNN: 5,125
 * LUTs and 2,524 flip-flops packed into 6,256 logic cells).
 */
export async function packedUtilization(input: Omit<PnrInput, 'freqMHz' | 'seed'>): Promise<Record<string, { used: number; available: number }>> {
  const name = input.name ?? 'pack';
  const json = basename(input.netlistJson);
  if (join(input.dir, json) !== input.netlistJson) copyFileSync(input.netlistJson, join(input.dir, json));
  const args = [input.device.nextpnrFlag, '--package', input.package, '--json', json, '--pack-only', '--report', `${name}.pack.json`];
  const inputs = [json];
  if (input.pcf) {
    const pcf = basename(input.pcf);
    copyFileSync(input.pcf, join(input.dir, pcf));
    inputs.push(pcf);
    args.push('--pcf', pcf);
  }
  const r = await input.toolchain.run('nextpnr-ice40', { dir: input.dir, args, inputs, logFile: `${name}.pack.log` });
  const reportFile = join(input.dir, `${name}.pack.json`);
  return existsSync(reportFile) ? ((JSON.parse(readFileSync(reportFile, 'utf8')) as NextpnrReport).utilization ?? {}) : utilizationFromLog(r.log);
}

