/**
 * The simulated board as a process: socat connects a pseudo-terminal to its stdin/stdout
 * (src/board/simulate.ts). Bytes the host writes to the pty arrive on stdin and go onto the
 * simulated RX line; bytes the design sends on TX go to stdout, back to the host's pty.
 *
 *   node sim-main.js <config.json>
 *
 * config: { netlist, top, clock, rx, tx, period, restLimitClocks, events, ready }. Writes `ready`
 * once the netlist is loaded, and appends every frame on the line to `events` (JSON lines).
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import type { YosysNetlist } from '../fpga/netlist-sim';
import { LineEvent, SerialLineSim } from '../fpga/serial-sim';

export interface SimProcessConfig {
  netlist: string;
  top: string;
  clock: string;
  rx: string;
  tx: string;
  period: number;
  restLimitClocks: number;
  events: string;
  ready: string;
}

/** Clocks per slice of simulation between looks at stdin. */
const SLICE = 4096;
/** How long the line waits for the rest of a message the pty handed over in pieces, in wall time. */
const GRACE_MS = 50;

async function main(configFile: string): Promise<void> {
  const cfg = JSON.parse(readFileSync(configFile, 'utf8')) as SimProcessConfig;
  const netlist = JSON.parse(readFileSync(cfg.netlist, 'utf8')) as YosysNetlist;
  const line = new SerialLineSim({ netlist, top: cfg.top, clock: cfg.clock, rx: cfg.rx, tx: cfg.tx, period: cfg.period, restLimitClocks: cfg.restLimitClocks });
  // Power-on: the board top holds its own reset for its first clocks; let it settle before the host talks.
  line.run(64);
  writeFileSync(cfg.events, '');
  let logged = 0;
  const flushEvents = () => {
    const fresh: LineEvent[] = line.events.slice(logged);
    if (fresh.length === 0) return;
    appendFileSync(cfg.events, fresh.map((e) => JSON.stringify(e) + '\n').join(''));
    logged = line.events.length;
  };
  let ended = false;
  let wake: (() => void) | undefined;
  process.stdin.on('data', (d: Buffer) => {
    line.feed(d);
    wake?.();
  });
  process.stdin.on('end', () => {
    ended = true;
    wake?.();
  });
  process.on('SIGTERM', () => {
    flushEvents();
    process.exit(0);
  });
  writeFileSync(cfg.ready, String(process.pid));
  for (;;) {
    const out = line.run(SLICE);
    // The frames first: once the host has an answer it may read the record of its frames.
    flushEvents();
    if (out.length) process.stdout.write(Buffer.from(out));
    if (line.takeDrained()) {
      // The queue ran empty at a frame's end: give the pty a moment to deliver the rest of the message.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, GRACE_MS);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    } else if (line.idle) {
      if (ended) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    } else {
      // Let stdin's data events in between slices.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  flushEvents();
}

main(process.argv[2]).catch((e) => {
  process.stderr.write(`deepmaker board simulation: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
