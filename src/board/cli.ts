/**
 * `deepmaker board [--spec path] (--port DEV | --simulate) [--baud B] [--samples N] [--program] [--timeout MS]`
 * (src/board/run.ts). Prints a progress line as it runs and a summary at the end.
 */
import { dirname, resolve } from 'node:path';
import { DeepMakerError } from '../util/errors';
import { consoleLogger } from '../util/log';
import { PORT_HINT } from './host';
import { BoardReport, runBoard } from './run';

export const BOARD_USAGE = `deepmaker board [--spec path] (--port DEV | --simulate) [--baud B] [--samples N] [--program] [--timeout MS]
    streams the project's test samples to the FPGA over its serial port and checks every answer
    against the C fixed-point model; writes dist/board/report.json
  --port DEV     the board's serial port: ${PORT_HINT}
  --simulate     no board: the project's synthesized board top in the netlist simulator behind a
                 pseudo-terminal (needs socat: apt-get install socat)
  --baud B       the host's baud rate (default: the bitstream's target.baud)
  --samples N    how many test vectors (default: all the sim stage wrote)
  --program      load dist/bitstream/deepmaker.bin with iceprog first (apt-get install fpga-icestorm)
  --timeout MS   how long to wait for each answer (default 2000; with --simulate, a sample's clocks on the
                 simulated line at 2,000 clocks/s, at least 120000: the simulator is slow on big designs)`;

function value(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new DeepMakerError(`${name} needs a value`, { where: 'deepmaker board' }, BOARD_USAGE);
  return v;
}

function number(args: string[], name: string): number | undefined {
  const v = value(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new DeepMakerError(`${name} ${v}: give a positive number`, { where: 'deepmaker board' });
  return n;
}

const KNOWN = new Set(['--spec', '--port', '--baud', '--samples', '--timeout', '--simulate', '--program', '--help', '-h']);

export function summary(r: BoardReport): string {
  const lines = [
    `${r.samples} samples on ${r.port} at ${r.baud} baud: ${r.agreement.agree}/${r.samples} answers agree with the C fixed-point model` +
      (r.accuracy ? `, accuracy ${(r.accuracy.rate * 100).toFixed(2)}% against the labels` : ''),
    `host: ${r.measured.samplesPerSecond} samples/s, ${r.measured.msPerSample} ms per sample (line transfer ${r.measured.transferMs} ms, compute + latency ${r.measured.computeAndLatencyMs} ms)` +
      (r.simulated ? ' — the simulator\'s speed, not a board\'s' : ''),
  ];
  const s = r.simulatedLine;
  if (s) lines.push(`simulated line at ${s.clockMHz} MHz (${s.clocksPerBit} clocks a bit): ${s.usPerSample} us per sample = transfer ${s.transferUs} us + compute ${s.computeUs} us, ${s.samplesPerSecond} samples/s`);
  return lines.join('\n');
}

export async function boardCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(BOARD_USAGE);
    return 0;
  }
  for (const a of args) {
    if (a.startsWith('-') && !KNOWN.has(a)) throw new DeepMakerError(`unknown option ${a}`, { where: 'deepmaker board' }, BOARD_USAGE);
  }
  const specFile = resolve(value(args, '--spec') ?? 'deepmaker.yaml');
  const samples = number(args, '--samples');
  const tty = process.stderr.isTTY;
  let lastPrint = 0;
  const report = await runBoard({
    projectRoot: dirname(specFile),
    port: value(args, '--port'),
    baud: number(args, '--baud'),
    samples,
    timeoutMs: number(args, '--timeout'),
    simulate: args.includes('--simulate'),
    program: args.includes('--program'),
    log: consoleLogger('board'),
    progress: (line, done) => {
      // One line rewritten in a terminal; in a log, a line every 2 s and the last.
      if (tty) process.stderr.write(`\r${line}${done ? '\n' : ''}`);
      else if (done || Date.now() - lastPrint > 2000) {
        lastPrint = Date.now();
        process.stderr.write(`${line}\n`);
      }
    },
  });
  console.log(summary(report));
  return 0;
}
