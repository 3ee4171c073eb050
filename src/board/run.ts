/**
 * `deepmaker board`: optionally programs the FPGA (iceprog), then streams the project's test samples
 * to the board over its serial port (or to the simulated board, --simulate), checks every answer
 * against the C fixed-point model and writes dist/board/report.json.
 *
 * Figures: every run measures the host's wall time per sample (write to answer). Its split into
 * transfer and compute: the transfer is the line time of the bytes at the baud rate (10 bits a byte,
 * 8N1), the rest is compute plus the serial driver's and USB's latency. With --simulate the wall time
 * is the simulator's speed, not the board's; the report then also gives the times on the simulated
 * line, counted in design clocks by the simulator (what a board at that clock and baud rate takes).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CMD_INFO, CMD_SAMPLE, hexId, INFO_BYTES } from '../fpga/board-protocol';
import { lineSamples } from '../fpga/serial-sim';
import { findOnPath } from '../fpga/toolchain';
import { DeepMakerError } from '../util/errors';
import { canonicalJson, readJson } from '../util/fs';
import { silentLogger, type Logger } from '../util/log';
import { BoardLink, classify, identify, readProject, SampleResult } from './host';
import { SimulatedBoard, startSimulatedBoard } from './simulate';
import { DEFAULT_BAUD } from '../fpga/uart-top';

export interface BoardOptions {
  projectRoot: string;
  /** The serial port (not with simulate). */
  port?: string;
  /** Default: the bitstream's target.baud. */
  baud?: number;
  /** Default: every test vector. */
  samples?: number;
  simulate?: boolean;
  program?: boolean;
  /** Per answer (default 2000 ms; the simulator: 120000 ms). */
  timeoutMs?: number;
  log?: Logger;
  /** A progress line (default: none). */
  progress?: (line: string, done: boolean) => void;
}

export interface BoardReport {
  port: string;
  simulated: boolean;
  baud: number;
  samples: number;
  agreement: { agree: number; samples: number; rate: number };
  accuracy: { correct: number; labelled: number; rate: number } | null;
  mismatches: { sample: number; board: number; c: number }[];
  board: { inputBytes: number; outputs: number; modelId: string; protocol: number };
  /** Host wall clock. With simulated: true it measures the simulator, not a board. */
  measured: { seconds: number; samplesPerSecond: number; msPerSample: number; transferMs: number; computeAndLatencyMs: number };
  /** --simulate only: the simulated line, in design clocks at clockMHz. */
  simulatedLine?: {
    clockMHz: number;
    clocksPerBit: number;
    netlist: 'bitstream top' | 'top without PLL';
    samples: number;
    transferUs: number;
    computeUs: number;
    usPerSample: number;
    samplesPerSecond: number;
    computeClocks: number;
  };
  predicted?: { latencyUs: number; transferUs: number };
  programmed?: string;
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** Loads the bitstream with iceprog (the iCEBreaker's flash; iceprog -S for SRAM is left to the user). */
export async function programBoard(projectRoot: string, log: Logger): Promise<string> {
  const bit = join(projectRoot, 'dist', 'bitstream', 'deepmaker.bin');
  if (!existsSync(bit)) throw new DeepMakerError('no bitstream to program', { file: bit }, 'build it first: nx run <project>:bitstream');
  const iceprog = findOnPath('iceprog');
  if (!iceprog) {
    throw new DeepMakerError('--program needs iceprog, and iceprog is not on PATH', { where: 'deepmaker board --program' }, `apt-get install fpga-icestorm (Debian/Ubuntu; brew install icestorm on macOS), or program by hand: iceprog ${bit}`);
  }
  log.info(`programming ${bit} with ${iceprog}`);
  const code = await new Promise<number>((resolve, reject) => {
    const p = spawn(iceprog, [bit], { stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('error', reject);
    p.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw new DeepMakerError(`iceprog exited with ${code}`, { file: bit }, 'is the iCEBreaker plugged in, and may your user open its FTDI device (udev rule / plugdev group)?');
  return bit;
}

export async function runBoard(opts: BoardOptions): Promise<BoardReport> {
  const log = opts.log ?? silentLogger;
  if (opts.simulate && opts.port) throw new DeepMakerError('--simulate and --port exclude each other', { where: 'deepmaker board' }, '--simulate makes its own port (a pseudo-terminal)');
  if (opts.simulate && opts.program) throw new DeepMakerError('--simulate and --program exclude each other', { where: 'deepmaker board' }, 'the simulated board runs the project\'s netlist; --program loads a real board');
  if (!opts.simulate && !opts.port) throw new DeepMakerError('no serial port given', { where: 'deepmaker board' }, `--port /dev/ttyUSB1 (the board), or --simulate`);
  const project = readProject(opts.projectRoot);
  const available = Math.min(project.vectors.samples, Math.floor(project.bytes.length / project.iface.inputBytes));
  const n = opts.samples ?? available;
  if (!Number.isInteger(n) || n < 1) throw new DeepMakerError(`--samples ${n}: give a whole number of at least 1`, { where: 'deepmaker board' });
  if (n > available) throw new DeepMakerError(`--samples ${n}, but the sim stage left ${available} test vectors`, { file: project.files.vectors }, `use --samples ${available} or fewer, or raise sim.samples in deepmaker.yaml`);

  const programmed = opts.program ? await programBoard(opts.projectRoot, log) : undefined;
  const bitReportFile = join(opts.projectRoot, 'dist', 'bitstream', 'report.json');
  const bitReport = existsSync(bitReportFile) ? readJson<{ latencyUs?: number; uart?: { baud: number; transferUs: number } }>(bitReportFile) : undefined;
  let sim: SimulatedBoard | undefined;
  let baud = opts.baud ?? bitReport?.uart?.baud;
  if (opts.simulate) {
    sim = await startSimulatedBoard({ projectRoot: opts.projectRoot, baud: opts.baud, log });
    baud = sim.baud;
  }
  baud ??= projectBaud(opts.projectRoot);
  const timeoutMs = opts.timeoutMs ?? (sim ? simulatedTimeoutMs(opts.projectRoot, project.iface.inputBytes, sim.clocksPerBit) : 2000);
  const port = sim ? sim.port : opts.port!;
  let link: BoardLink | undefined;
  try {
    link = await BoardLink.open(port, baud);
    const id = await identify(link, project.identity, timeoutMs, project.files.interface, baud);
    log.info(`board on ${port}: model ${hexId(id.modelId)}, ${id.inputBytes} bytes in, ${id.outputs} classes (protocol ${id.version})`);
    const results: SampleResult[] = [];
    const started = process.hrtime.bigint();
    let agree = 0;
    for (let i = 0; i < n; i++) {
      const sample = project.bytes.subarray(i * project.iface.inputBytes, (i + 1) * project.iface.inputBytes);
      const { cls, ms } = await classify(link, sample, timeoutMs, i);
      const c = project.vectors.classes[i];
      if (cls === c) agree++;
      results.push({ index: i, board: cls, c, label: project.vectors.labels?.[i], ms });
      const secs = Number(process.hrtime.bigint() - started) / 1e9;
      opts.progress?.(`board: ${i + 1}/${n} samples, ${agree} agree with the C model, ${(((i + 1) / secs) || 0).toFixed(2)} samples/s`, i + 1 === n);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const labelled = results.filter((r) => r.label !== undefined);
    const correct = labelled.filter((r) => r.board === r.label).length;
    const msPerSample = results.reduce((a, r) => a + r.ms, 0) / n;
    const transferMs = ((1 + project.iface.inputBytes + 1) * 10 * 1000) / baud;
    const report: BoardReport = {
      port: sim ? 'simulated (pseudo-terminal)' : port,
      simulated: Boolean(sim),
      baud,
      samples: n,
      agreement: { agree, samples: n, rate: round(agree / n, 4) },
      accuracy: labelled.length ? { correct, labelled: labelled.length, rate: round(correct / labelled.length, 4) } : null,
      mismatches: results.filter((r) => r.board !== r.c).map((r) => ({ sample: r.index, board: r.board, c: r.c })),
      board: { inputBytes: id.inputBytes, outputs: id.outputs, modelId: hexId(id.modelId), protocol: id.version },
      measured: { seconds: round(seconds), samplesPerSecond: round(n / seconds), msPerSample: round(msPerSample), transferMs: round(transferMs), computeAndLatencyMs: round(Math.max(0, msPerSample - transferMs)) },
      predicted: bitReport?.latencyUs !== undefined ? { latencyUs: bitReport.latencyUs, transferUs: round((bitReport.uart?.transferUs ?? 0)) } : undefined,
      programmed,
    };
    if (sim) {
      const line = lineSamples(sim.events(), project.iface.inputBytes, CMD_SAMPLE, CMD_INFO, INFO_BYTES);
      if (line.length !== n) throw new DeepMakerError(`the simulated line recorded ${line.length} samples for the ${n} answered`, { where: 'deepmaker board --simulate' }, 'a bug in the serial-line record (src/fpga/serial-sim.ts); the answers above were checked');
      const us = (clocks: number) => clocks / sim!.clockMHz;
      const mean = (f: (s: (typeof line)[0]) => number) => line.reduce((a, s) => a + f(s), 0) / line.length;
      const transferUs = us(mean((s) => s.sendClocks + s.answerClocks));
      const computeUs = us(mean((s) => s.computeClocks));
      report.simulatedLine = {
        clockMHz: sim.clockMHz,
        clocksPerBit: sim.clocksPerBit,
        netlist: sim.exact ? 'bitstream top' : 'top without PLL',
        samples: line.length,
        transferUs: round(transferUs, 2),
        computeUs: round(computeUs, 2),
        usPerSample: round(transferUs + computeUs, 2),
        samplesPerSecond: round(1e6 / (transferUs + computeUs), 2),
        computeClocks: Math.max(...line.map((s) => s.computeClocks)),
      };
    }
    writeReport(opts.projectRoot, report);
    if (agree < n) {
      const first = report.mismatches.slice(0, 5).map((m) => `sample ${m.sample}: board ${m.board}, C model ${m.c}`).join('; ');
      throw new DeepMakerError(`the board disagrees with the C fixed-point model on ${n - agree} of ${n} samples (${first})`, { file: join(opts.projectRoot, 'dist', 'board', 'report.json') }, 'the report lists every mismatch; a board that disagrees runs another build of the model or has a hardware fault');
    }
    return report;
  } finally {
    await link?.close();
    await sim?.close();
  }
}

/** The bitstream's baud rate: from its report, else the synth stage's manifest, else the default. */
function projectBaud(projectRoot: string): number {
  const synth = join(projectRoot, 'dist', 'synth', 'manifest.json');
  return existsSync(synth) ? readJson<{ baud: number }>(synth).baud : DEFAULT_BAUD;
}

function writeReport(projectRoot: string, report: BoardReport): void {
  const dir = join(projectRoot, 'dist', 'board');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'report.json');
  writeFileSync(`${file}.tmp`, canonicalJson(report));
  renameSync(`${file}.tmp`, file);
}

/**
 * The simulated slowest rate, in design clocks a second, that --simulate's default timeout allows for.
 * Measured: 10-30 K clocks/s for the 1,100-LUT test top, about 8 K for the default network's 4,350-cell top,
 * both on a shared 2-core machine (README, "The simulated board").
 */
export const SIMULATOR_SLOWEST_CLOCKS_PER_SECOND = 2000;

/**
 * --simulate's default timeout per answer: a sample's clocks on the simulated line (the command, the sample
 * and the answer at clocksPerBit, plus the accelerator's cycles from dist/sim/report.json) at the slowest
 * simulator rate allowed for, and at least 120 s. A real board answers in milliseconds; the simulator takes
 * minutes for a large top at a low baud rate (the default network at 115200 baud: 1.3 M clocks a sample).
 */
export function simulatedTimeoutMs(projectRoot: string, inputBytes: number, clocksPerBit: number): number {
  const simReport = join(projectRoot, 'dist', 'sim', 'report.json');
  const cycles = existsSync(simReport) ? Number(readJson<{ cycles?: number }>(simReport).cycles ?? 0) || 0 : 0;
  const clocks = (inputBytes + 2) * 10 * clocksPerBit + cycles;
  return Math.max(120_000, Math.ceil((clocks / SIMULATOR_SLOWEST_CLOCKS_PER_SECOND) * 1000));
}
