/**
 * `deepmaker board --simulate`: the project's board top in the netlist simulator behind a
 * pseudo-terminal, so the host code (src/board/host.ts) opens it like the board's serial port and
 * talks to it byte for byte.
 *
 * The design: the synthesized board top, without a PLL (the simulator has no PLL model) but with
 * the UART divider and timeout of the clock the bitstream runs at (dist/bitstream/report.json). When
 * the bitstream runs at the oscillator, that top is dist/synth/netlist.json itself, the very netlist
 * nextpnr placed; with a PLL clock the top is synthesized again around the same accelerator netlist
 * (dist/synth/accel.v) with the divider of that clock, once per clock (cached in dist/board/sim-top).
 * One simulated clock is one design clock, so bits on the simulated line take clockHz / baud clocks.
 *
 * The pty: Debian's socat (`apt-get install socat`) links a pty to the simulator process's
 * stdin/stdout (`socat pty,raw,echo=0,link=<dir>/tty EXEC:<sim>`). node-pty would need a native
 * build, and it gives the master side to node, not a path the host can open as a serial port.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { getBoard } from '../fpga/boards';
import { getDevice } from '../fpga/devices';
import type { LineEvent } from '../fpga/serial-sim';
import type { SynthManifest } from '../stages/synth';
import { synthesizeBoardTop } from '../fpga/board-synth';
import { findOnPath, selectToolchain } from '../fpga/toolchain';
import { boardTop, BoardTop } from '../fpga/uart-top';
import { DeepMakerError } from '../util/errors';
import { readJson, sha256 } from '../util/fs';
import { silentLogger, type Logger } from '../util/log';
import type { SimProcessConfig } from './sim-main';

export interface SimulatedBoard {
  /** The pty path to open as the serial port. */
  port: string;
  /** The design clock the simulated clocks stand for. */
  clockMHz: number;
  clocksPerBit: number;
  baud: number;
  /** Where the netlist comes from: the bitstream's own top, or the top made again without the PLL. */
  netlist: string;
  exact: boolean;
  /** The frames on the simulated line so far. */
  events(): LineEvent[];
  close(): Promise<void>;
}

export interface SimulateBoardOptions {
  projectRoot: string;
  /** The host's baud rate (default: the bitstream's). */
  baud?: number;
  log?: Logger;
}

interface BitstreamReportSlice {
  clockMHz: number;
  pll?: unknown;
  uart?: { baud: number; clocksPerBit: number };
}

/** The design clock and UART of the bitstream (or of the synth stage's top when there is no bitstream yet). */
export function simulatedDesign(projectRoot: string): { manifest: SynthManifest; clockMHz: number; pll: boolean; baud: number; synthDir: string; bitstreamReport?: string } {
  const synthDir = join(projectRoot, 'dist', 'synth');
  const manifestFile = join(synthDir, 'manifest.json');
  if (!existsSync(manifestFile)) throw new DeepMakerError('no synthesized design to simulate', { file: manifestFile }, 'build it first: nx run <project>:bitstream (or deepmaker run bitstream)');
  const manifest = readJson<SynthManifest>(manifestFile);
  if (manifest.board === 'none' || !getBoard(manifest.board)) {
    throw new DeepMakerError('the project is built without a board (target.board: none): there is no UART top to talk to', { file: manifestFile }, 'set target.board (e.g. icebreaker) and rebuild');
  }
  if (manifest.accel.modelId === undefined) throw new DeepMakerError('dist/synth was built by an older deepmaker (no identity for the UART protocol)', { file: manifestFile }, 'rerun the synth stage');
  const bitFile = join(projectRoot, 'dist', 'bitstream', 'report.json');
  const board = getBoard(manifest.board)!;
  if (existsSync(bitFile)) {
    const bit = readJson<BitstreamReportSlice>(bitFile);
    return { manifest, clockMHz: bit.clockMHz, pll: Boolean(bit.pll), baud: bit.uart?.baud ?? manifest.baud, synthDir, bitstreamReport: bitFile };
  }
  return { manifest, clockMHz: board.oscillatorMHz, pll: false, baud: manifest.baud, synthDir };
}

/** The sim-main script beside this file: .ts from source (under tsx), .js from build/. */
function simMain(): { script: string; nodeArgs: string[] } {
  const ext = extname(__filename);
  const script = join(__dirname, `sim-main${ext}`);
  return { script, nodeArgs: ext === '.ts' ? ['-r', require.resolve('tsx/cjs')] : [] };
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export async function startSimulatedBoard(opts: SimulateBoardOptions): Promise<SimulatedBoard> {
  const log = opts.log ?? silentLogger;
  const socat = findOnPath('socat');
  if (!socat) throw new DeepMakerError('--simulate needs socat for the pseudo-terminal, and socat is not on PATH', { where: 'deepmaker board --simulate' }, 'apt-get install socat (Debian/Ubuntu), brew install socat (macOS)');
  const d = simulatedDesign(opts.projectRoot);
  const board = getBoard(d.manifest.board)!;
  const top: BoardTop = boardTop(board, d.manifest.accel, d.manifest.baud, undefined, { mhz: d.clockMHz });
  let netlistFile: string;
  let topModule: string;
  let exact: boolean;
  if (!d.pll && d.clockMHz === board.oscillatorMHz) {
    netlistFile = join(d.synthDir, d.manifest.netlist);
    topModule = d.manifest.top;
    exact = true;
  } else {
    // The PLL clock: the same top without the PLL, with that clock's divider, around the same accelerator netlist.
    const accelNetlist = join(d.synthDir, d.manifest.accel.netlist);
    const key = sha256(JSON.stringify({ top: top.verilog, accel: sha256(readFileSync(accelNetlist)) })).slice(0, 16);
    const dir = join(opts.projectRoot, 'dist', 'board', 'sim-top', key);
    netlistFile = join(dir, 'top.json');
    topModule = top.module;
    exact = false;
    if (!existsSync(netlistFile)) {
      log.info(`synthesizing the board top without the PLL at ${d.clockMHz} MHz (${top.clocksPerBit} clocks per bit) for the simulation`);
      const work = mkdtempSync(join(tmpdir(), 'deepmaker-simtop-'));
      try {
        const made = await synthesizeBoardTop({ toolchain: selectToolchain('auto'), device: getDevice(d.manifest.device), board, accel: d.manifest.accel, accelNetlist, baud: d.manifest.baud, clock: { mhz: d.clockMHz }, dir: work });
        mkdirSync(dir, { recursive: true });
        writeFileSync(`${netlistFile}.tmp`, readFileSync(made.synth.netlistJson));
        renameSync(`${netlistFile}.tmp`, netlistFile);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }
  }
  const baud = opts.baud ?? d.baud;
  const clockHz = d.clockMHz * 1e6;
  const dir = mkdtempSync(join(tmpdir(), 'deepmaker-board-'));
  const cfg: SimProcessConfig = {
    netlist: netlistFile,
    top: topModule,
    clock: board.clock,
    rx: board.uartRx,
    tx: board.uartTx,
    period: clockHz / baud,
    // Anything the design does after the last byte ends within a compute plus the bridge's timeout.
    restLimitClocks: d.manifest.cycles + top.timeoutClocks + 40 * top.clocksPerBit,
    events: join(dir, 'events.jsonl'),
    ready: join(dir, 'ready'),
  };
  const cfgFile = join(dir, 'config.json');
  writeFileSync(cfgFile, JSON.stringify(cfg));
  const { script, nodeArgs } = simMain();
  const runner = join(dir, 'sim.sh');
  writeFileSync(runner, `#!/bin/sh\nexec ${[process.execPath, ...nodeArgs, script, cfgFile].map(shellQuote).join(' ')}\n`, { mode: 0o755 });
  const port = join(dir, 'tty');
  let stderr = '';
  const child: ChildProcess = spawn(socat, ['-d', '-d', `pty,raw,echo=0,link=${port}`, `EXEC:${runner}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (b) => (stderr += b.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  const close = async () => {
    if (existsSync(cfg.ready)) {
      const simPid = Number(readFileSync(cfg.ready, 'utf8'));
      try {
        process.kill(simPid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    if (!exited) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // socat makes the pty link at once; the simulator writes `ready` once its netlist is loaded.
  const started = Date.now();
  while (!(existsSync(port) && existsSync(cfg.ready))) {
    if (exited || Date.now() - started > 120_000) {
      await close();
      throw new DeepMakerError(`the simulated board did not start${exited ? '' : ' within 120 s'}`, { file: netlistFile }, stderr.trim().split('\n').slice(-5).join('\n') || 'see socat -d -d output');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  log.info(`simulated board on ${port}: ${exact ? 'the bitstream\'s own top netlist' : `the top without its PLL`} at ${d.clockMHz} MHz, ${top.clocksPerBit} clocks per bit, host at ${baud} baud`);
  const events = (): LineEvent[] => {
    if (!existsSync(cfg.events)) return [];
    return readFileSync(cfg.events, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l) as LineEvent);
  };
  return { port, clockMHz: d.clockMHz, clocksPerBit: top.clocksPerBit, baud, netlist: netlistFile, exact, events, close };
}
